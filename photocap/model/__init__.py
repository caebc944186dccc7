"""The captioning network: encoders, decoders, vocabulary, decoding, checkpoints, device.

Pure torch: no Qt, no database, no files except the model file it loads.
"""

import os

# Must be set before torch is imported (read when its libraries load).
# Ops missing on Apple MPS fall back to the CPU:
os.environ.setdefault("PYTORCH_ENABLE_MPS_FALLBACK", "1")
# (The OpenMP wait policy is the engine's business, not the model's: see photocap/engine.py.
# The trainer imports this package too and trains faster with spinning OpenMP threads.)

from photocap.model.captioner import SOURCE_MODEL, SOURCE_TAGS, Captioner, Description, save_model  # noqa: E402
from photocap.model.checkpoint import CheckpointError, load_checkpoint, read_meta, save_checkpoint  # noqa: E402
from photocap.model.decoders import DecoderConfig, build_decoder  # noqa: E402
from photocap.model.decoding import Decoded, beam_search, decode, greedy  # noqa: E402
from photocap.model.device import configure_threads, device_label, pick_device  # noqa: E402
from photocap.model.encoders import (ENCODERS, EncodedBatch, Encoder, EncoderWeightsError,  # noqa: E402
                                     Preprocess, build_encoder)
from photocap.model.vocab import Vocabulary, tokenize  # noqa: E402

__all__ = [
    "Captioner", "CheckpointError", "Decoded", "DecoderConfig", "Description", "ENCODERS", "EncodedBatch",
    "Encoder", "EncoderWeightsError", "Preprocess", "SOURCE_MODEL", "SOURCE_TAGS", "Vocabulary",
    "beam_search", "build_decoder", "build_encoder", "configure_threads", "decode", "device_label",
    "greedy", "load_checkpoint", "pick_device", "read_meta", "save_checkpoint", "save_model", "tokenize",
]

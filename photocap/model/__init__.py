"""The captioning network: encoders, decoders, vocabulary, decoding, checkpoints, device.

Pure torch (the sentence model: numpy): no Qt, no database, no files except the model file it loads.
"""

import os

# Must be set before torch is imported (read when its libraries load).
# Ops missing on Apple MPS fall back to the CPU:
os.environ.setdefault("PYTORCH_ENABLE_MPS_FALLBACK", "1")
# (The OpenMP wait policy is the engine's business, not the model's: see photocap/engine.py.
# The trainer imports this package too and trains faster with spinning OpenMP threads.)

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

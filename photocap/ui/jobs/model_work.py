"""The jobs that run on the model lane (one dedicated QThread): loading the caption engine,
captioning the library, attention maps for a shown caption.

The engine lives in ``ctx.state["engine"]`` and is created, used and dropped on the model
lane's thread only (Apple MPS is not safe from two threads; ``model.to()`` included).
torch is imported here, lazily, never at app start. What crosses back to the GUI is
plain data: dataclasses of str/int/float and numpy arrays.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from photocap.caption_pass import CaptionProgress, CaptionSummary, Landed, merge_progress
from photocap.caption_pass import caption_pass as caption_pass_of
from photocap.ui.jobs.lanes import JobContext

if TYPE_CHECKING:
    from photocap.library.library import Library

__all__ = [
    "AttentionMaps",
    "CaptionProgress",
    "CaptionSummary",
    "EngineInfo",
    "Landed",
    "attention_for",
    "caption_pass",
    "load_engine",
    "merge_progress",
]


@dataclass(frozen=True)
class EngineInfo:
    model_id: str
    device: str  # "CUDA · NVIDIA H100", "Apple MPS", "CPU · 2 threads"
    device_kind: str  # "CUDA", "MPS" or "CPU"
    has_attention: bool
    captions_from: str  # "model" or "tags"
    torch_version: str
    load_seconds: float


@dataclass(frozen=True)
class AttentionMaps:
    photo_id: int
    text: str
    words: tuple[str, ...]
    maps: np.ndarray  # (n_words, grid_h, grid_w), each sums to 1


def load_engine(ctx: JobContext, model_path: str | None, device: str, beam: int, max_len: int) -> EngineInfo:
    t0 = time.perf_counter()
    ctx.state.pop("engine", None)  # drop the old one here, on this thread
    import torch

    from photocap.engine import CaptionEngine  # first: sets the OpenMP policy before torch loads

    engine = CaptionEngine.create(model_path, device=device, beam=beam, max_len=max_len)
    cap = engine.captioner
    if cap.device.type == "cpu":
        engine.batch_size = 8  # smaller batches on a CPU: captions land (and pause) more often
    # Warm up here, not in the first batch: the first description initialises kernels and
    # loads the label tables (a GIL-holding stall in the middle of captioning otherwise).
    engine.warm_up()
    ctx.state["engine"] = engine
    kind = {"cuda": "CUDA", "mps": "MPS"}.get(cap.device.type, "CPU")
    return EngineInfo(
        engine.model_id,
        cap.device_label,
        kind,
        cap.has_attention,
        "model" if cap.has_decoder else "tags",
        torch.__version__,
        time.perf_counter() - t0,
    )


def caption_pass(
    ctx: JobContext, library: Library, visible: Callable[[], Sequence[int]], chunk: int = 16
) -> Generator[CaptionProgress, None, CaptionSummary]:
    """Caption every photo that needs it with the loaded engine, visible photos first: the
    Qt-free :func:`photocap.caption_pass.caption_pass`, stepped on the model lane (pause and
    abort act between its yields). Yields :class:`CaptionProgress`."""
    return (
        yield from caption_pass_of(ctx.state["engine"], library, visible, should_stop=ctx.stop_requested, chunk=chunk)
    )


def attention_for(ctx: JobContext, photo_id: int, path: str, text: str) -> AttentionMaps | None:
    """Teacher-forced attention of ``text`` over the photo (attention models only)."""
    engine = ctx.state.get("engine")
    if engine is None:
        return None
    result = engine.attention(path, text)
    if result is None:
        return None
    words, maps = result
    return AttentionMaps(photo_id, text, tuple(words), maps)

"""The jobs that run on the model lane (one dedicated QThread): loading the caption engine,
captioning the library, attention maps for a shown caption.

The engine lives in ``ctx.state["engine"]`` and is created, used and dropped on the model
lane's thread only (Apple MPS is not safe from two threads; ``model.to()`` included).
torch is imported here, lazily, never at app start. What crosses back to the GUI is
plain data: dataclasses of str/int/float and numpy arrays.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np


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
class Landed:
    """One photo the pass finished: its new caption, or why it could not be read."""

    photo_id: int
    text: str | None
    source: str | None
    tags: tuple[tuple[str, float], ...] = ()
    error: str | None = None
    # not written: the user's caption won, or the file changed since it was read (it stays queued)
    kept_user_caption: bool = False


@dataclass
class CaptionProgress:
    done: int
    total: int
    failed: int
    rate: float  # photos per second over the pass
    eta_s: float | None
    landed: list[Landed] = field(default_factory=list)


def merge_progress(old: CaptionProgress, new: CaptionProgress) -> CaptionProgress:
    """Throttled progress keeps the newest counters and every landed caption."""
    new.landed = old.landed + new.landed
    return new


@dataclass(frozen=True)
class CaptionSummary:
    done: int
    failed: int
    seconds: float
    stopped: bool


@dataclass(frozen=True)
class AttentionMaps:
    photo_id: int
    text: str
    words: tuple[str, ...]
    maps: np.ndarray  # (n_words, grid_h, grid_w), each sums to 1


class RecentRate:
    """Photos per second over the last ``window`` seconds of the pass (from its start while
    it is younger than that: the first photos pay for the decoders filling up, and later
    ones arrive in quick bursts, so only a span of several batches gives an honest rate)."""

    def __init__(self, window: float = 30.0, min_span: float = 1.0, min_count: int = 0, now: float | None = None):
        self.window, self.min_span, self.min_count = window, min_span, min_count
        self.marks: deque[tuple[float, int]] = deque([(time.monotonic() if now is None else now, 0)])

    def add(self, count: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.marks.append((now, count))
        while len(self.marks) > 2 and now - self.marks[1][0] > self.window:
            self.marks.popleft()

    @property
    def rate(self) -> float:
        (t0, n0), (t1, n1) = self.marks[0], self.marks[-1]
        if t1 - t0 < self.min_span or n1 < self.min_count or n1 <= n0:
            return 0.0
        return (n1 - n0) / (t1 - t0)

    def eta(self, remaining: int) -> float | None:
        return remaining / self.rate if self.rate > 0 else None


def load_engine(ctx, model_path: str | None, device: str, beam: int, max_len: int) -> EngineInfo:
    t0 = time.perf_counter()
    ctx.state.pop("engine", None)  # drop the old one here, on this thread
    from photocap.engine import CaptionEngine  # first: sets the OpenMP policy before torch loads

    import torch  # noqa: I001

    engine = CaptionEngine.create(model_path, device=device, beam=beam, max_len=max_len)
    cap = engine.captioner
    if cap.device.type == "cpu":
        engine.batch_size = 8  # smaller batches on a CPU: captions land (and pause) more often
    # Warm up here, not in the first batch: the first description initialises kernels and
    # loads the label tables (a GIL-holding stall in the middle of captioning otherwise).
    engine.warm_up()
    ctx.state["engine"] = engine
    kind = {"cuda": "CUDA", "mps": "MPS"}.get(cap.device.type, "CPU")
    return EngineInfo(engine.model_id, cap.device_label, kind, cap.has_attention,
                      "model" if cap.has_decoder else "tags", torch.__version__, time.perf_counter() - t0)


def caption_pass(ctx, library, visible: Callable[[], Sequence[int]], chunk: int = 16):
    """Caption every photo that needs it with the loaded engine, visible photos first.

    Each outcome is written (one transaction per photo, through the library) before the
    next yield, so stopping at any yield loses nothing that was written; a user caption
    is never replaced (``record_caption`` refuses). Yields :class:`CaptionProgress`.
    """
    engine = ctx.state["engine"]
    model_id = engine.model_id
    started = time.perf_counter()
    speed = RecentRate(min_count=2 * engine.batch_size)  # no speed until two batches are done
    attempted: set[int] = set()
    in_flight: dict[str, int] = {}
    total = library.count_needing_caption(model_id)
    done = failed = 0
    recount_at = time.monotonic() + 5.0

    def paths():
        extra = chunk
        while not ctx.should_stop:
            limit = len(in_flight) + extra  # the in-flight ones still "need" a caption
            refs = library.photos_needing_caption(model_id, limit=limit, first_ids=list(visible()))
            fresh = [r for r in refs if r.id not in attempted]
            if not fresh:
                if len(refs) < limit:
                    return
                extra *= 2  # a photo we tried still needs one (e.g. a write refused): look further
                continue
            extra = chunk
            for ref in fresh:
                attempted.add(ref.id)
                in_flight[ref.path] = ref.id
                yield ref.path

    items = engine.caption_paths(paths(), should_stop=ctx.stop_requested)
    try:
        for item in items:
            photo_id = in_flight.pop(item.path)
            if item.ok:
                d = item.description
                tags = tuple((str(t), float(p)) for t, p in d.tags)
                stored = library.record_caption(photo_id, d.text, d.source, model_id, list(tags),
                                                file_version=item.version, confidence=d.confidence)
                if d.feature is not None:
                    library.store_image_feature(photo_id, engine.captioner.feature_id, d.feature)
                landed = Landed(photo_id, d.text, d.source, tags, kept_user_caption=not stored)
                done += 1
            else:
                library.record_problem(photo_id, item.error.reason)
                landed = Landed(photo_id, None, None, error=item.error.reason)
                failed += 1
            speed.add(done + failed)
            if time.monotonic() > recount_at:  # photos keep arriving (a scan, the watcher)
                recount_at = time.monotonic() + 5.0
                waiting = library.count_needing_caption(model_id)
                total = done + failed + max(0, waiting)
            total = max(total, done + failed)
            remaining = max(0, total - done - failed)
            yield CaptionProgress(done, total, failed, speed.rate, speed.eta(remaining), [landed])
    finally:
        items.close()
    return CaptionSummary(done, failed, time.perf_counter() - started, ctx.should_stop)


def attention_for(ctx, photo_id: int, path: str, text: str) -> AttentionMaps | None:
    """Teacher-forced attention of ``text`` over the photo (attention models only)."""
    engine = ctx.state.get("engine")
    if engine is None:
        return None
    result = engine.attention(path, text)
    if result is None:
        return None
    words, maps = result
    return AttentionMaps(photo_id, text, tuple(words), maps)

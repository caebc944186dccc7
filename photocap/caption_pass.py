"""The captioning pass: every photo of the library that needs a caption, described and written.

One pass for the whole of photocap: ``photocap index`` drives it from the command line and
the app's model lane (:mod:`photocap.ui.jobs.model_work`) steps it on its thread. It is a
generator in the style of superqt's ``GeneratorWorker``: it yields one
:class:`CaptionProgress` per photo, after that photo's outcome is written, so its driver
can pause it (by not asking for the next value) or stop it (``should_stop``, or closing the
generator) between photos and lose nothing that was reported. No Qt here.

What it promises, whoever drives it:

- photos the caller says are on screen (``visible``) are captioned first, asked for again
  at each chunk so scrolling is followed;
- a user's caption is never replaced, and an automatic caption is written only if the
  library still has the file version it was made from (``record_caption`` refuses
  otherwise: the photo stays queued for the next pass, never retried within this one);
- a photo that cannot be read is recorded as a problem with its reason, and the pass goes
  on; a photo removed from the library meanwhile is skipped;
- the number still waiting is counted again now and then (a scan or the folder watcher
  adds photos while a pass runs).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from photocap.progress import RateMeter

if TYPE_CHECKING:
    from photocap.engine import CaptionEngine, CaptionItem


class PassLibrary(Protocol):
    """What the pass needs of a library (:class:`photocap.library.Library` has it all)."""

    def count_needing_caption(self, model_id: str) -> int: ...

    def photos_needing_caption(
        self, model_id: str, limit: int | None = None, first_ids: Sequence[int] | None = None
    ) -> Sequence[Any]: ...

    def record_caption(
        self,
        photo_id: int,
        text: str,
        source: str,
        model_version: str | None = None,
        tags: Sequence[tuple[str, float]] | None = None,
        file_version: tuple[int, int] | None = None,
        confidence: float | None = None,
    ) -> bool: ...

    def record_problem(self, path_or_id: int, reason: str) -> None: ...

    def store_image_feature(self, photo_id: int, encoder_id: str, vector: Any) -> None: ...


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
    path: str = ""


@dataclass
class CaptionProgress:
    done: int
    total: int
    failed: int
    rate: float  # photos per second, recently
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


def caption_pass(
    engine: CaptionEngine,
    library: PassLibrary,
    visible: Callable[[], Sequence[int]] = tuple,
    should_stop: Callable[[], bool] = lambda: False,
    chunk: int = 16,
    recount_every: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    speed: RateMeter | None = None,
) -> Generator[CaptionProgress, None, CaptionSummary]:
    """Caption every photo that needs it with ``engine``, ``visible()`` ones first.

    Yields a :class:`CaptionProgress` per photo (its ``landed`` holds that photo's outcome,
    empty if the photo left the library meanwhile) and returns a :class:`CaptionSummary`.
    Photos are asked of the library ``chunk`` at a time, as the engine's decoders make room.
    ``speed`` measures the rate and time left (default: the last 30 s, once two batches and a
    second have passed, as the app's status bar shows it).
    """
    model_id = engine.model_id
    started = clock()
    if speed is None:
        speed = RateMeter(window=30.0, min_span=1.0, min_count=2 * engine.batch_size, clock=clock)
    speed.restart()
    attempted: set[int] = set()
    in_flight: dict[str, int] = {}
    total = library.count_needing_caption(model_id)
    done = failed = 0
    recount_at = clock() + recount_every

    def paths() -> Iterator[str]:
        extra = chunk
        while not should_stop():
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
                path = str(Path(ref.path))  # as the engine names it
                in_flight[path] = ref.id
                yield path

    items = engine.caption_paths(paths(), should_stop=should_stop)
    try:
        for item in items:
            photo_id = in_flight.pop(item.path)
            landed = _write(engine, library, photo_id, item)
            if landed is not None and landed.error is not None:
                failed += 1
            elif landed is not None:
                done += 1
            speed.update(done + failed)
            if clock() > recount_at:  # photos keep arriving (a scan, the watcher)
                recount_at = clock() + recount_every
                total = done + failed + max(0, library.count_needing_caption(model_id))
            total = max(total, done + failed)
            remaining = total - done - failed
            yield CaptionProgress(
                done, total, failed, speed.rate, speed.eta(remaining), [landed] if landed is not None else []
            )
    finally:
        items.close()
    return CaptionSummary(done, failed, clock() - started, should_stop())


def _write(engine: CaptionEngine, library: PassLibrary, photo_id: int, item: CaptionItem) -> Landed | None:
    """Write one outcome (one transaction each); None if the photo is no longer in the library."""
    try:
        if item.description is None:
            reason = item.error.reason if item.error is not None else "could not be read"
            library.record_problem(photo_id, reason)
            return Landed(photo_id, None, None, error=reason, path=item.path)
        d = item.description
        tags = tuple((str(t), float(p)) for t, p in d.tags)
        stored = library.record_caption(
            photo_id, d.text, d.source, engine.model_id, list(tags), file_version=item.version, confidence=d.confidence
        )
        if d.feature is not None:
            library.store_image_feature(photo_id, engine.captioner.feature_id, d.feature)
        return Landed(photo_id, d.text, d.source, tags, kept_user_caption=not stored, path=item.path)
    except KeyError:  # removed from the library meanwhile (by the app, or the watcher): nothing to write
        return None

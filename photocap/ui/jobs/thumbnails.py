"""Thumbnails and previews, decoded on the thumbnail lane and cached on disk.

The grid asks for many thumbnails while scrolling; requests go into a small LIFO queue
(newest first: what is on screen now), old requests beyond ``max_pending`` are dropped,
and one generator job drains the queue, yielding each finished ``QImage`` (a plain
image, safe to build off the GUI thread; the GUI turns it into a pixmap).

Cache files live under ``photocap.paths.cache_dir()/thumbs/<size>/`` and are keyed by
path, size and mtime, so an edited photo gets a new thumbnail. The cache is kept under the
cache size setting (:mod:`photocap.cache_limit`): pruned on this lane after the first
``FIRST_PRUNE_AFTER`` thumbnails and then every ``PRUNE_EVERY``, least recently shown first.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from photocap import cache_limit, imaging
from photocap.paths import cache_dir
from photocap.ui.jobs.lanes import Job, JobContext, Lane

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

THUMB_BUCKETS = (256, 384, 512)
PRUNE_EVERY = 2000  # thumbnails between two prunes (a prune reads the folder: ~1 s at 100,000)
FIRST_PRUNE_AFTER = 200  # the first screenfuls come first


def cache_size_for(display: int) -> int:
    """The cached resolution for a display size (enough for 2x screens up to 256 px)."""
    for bucket in THUMB_BUCKETS:
        if bucket >= display * 1.5:
            return bucket
    return THUMB_BUCKETS[-1]


def cache_file(path: str, size: int, root: Path | None = None) -> Path | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = hashlib.sha1(os.fsencode(path) + f"|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    return (root or cache_dir() / "thumbs") / str(size) / key[:2] / f"{key}.jpg"


def pil_to_qimage(im: Image.Image) -> QImage:
    im = im.convert("RGB")
    data = im.tobytes("raw", "RGB")
    qimg = QImage(data, im.width, im.height, 3 * im.width, QImage.Format.Format_RGB888)
    return qimg.copy()  # own the pixels: ``data`` goes away with this frame


def load_thumbnail(path: str, size: int) -> QImage:
    """From the disk cache when fresh, else decoded (JPEG draft mode) and written to the cache."""
    target = cache_file(path, size)
    if target is not None and target.exists():
        img = QImage(str(target))
        if not img.isNull():
            cache_limit.touch(target)
            return img
    img = pil_to_qimage(imaging.make_thumbnail(path, size))
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        # PySide6 6.11 runs this only with the format as str (bytes: ValueError), though its stub says bytes
        if img.save(str(tmp), "JPEG", 88):  # type: ignore[call-overload]
            os.replace(tmp, target)
    return img


def load_preview(ctx: JobContext, path: str, size: int) -> tuple[str, QImage | None, str | None]:
    """A large upright preview for the detail panel (not cached: one at a time)."""
    try:
        return path, pil_to_qimage(imaging.make_thumbnail(path, size)), None
    except imaging.ImageError as exc:
        return path, None, exc.reason
    except Exception as exc:
        log.warning("preview of %s failed", path, exc_info=True)
        return path, None, f"could not be read ({type(exc).__name__})"


def _merge(old: list, new: list) -> list:
    return old + new


class ThumbnailLoader(QObject):
    """GUI-side front: ``request(key, path)``; ``ready(key, QImage)`` or ``failed(key, reason)``."""

    ready = Signal(object, QImage)
    failed = Signal(object, str)

    def __init__(self, lane: Lane, size: int = 256, max_pending: int = 400, parent: QObject | None = None):
        super().__init__(parent)
        self._lane = lane
        self.size = size
        self._max_pending = max_pending
        self._queue: OrderedDict[object, str] = OrderedDict()  # newest last
        self._lock = threading.Lock()
        self._job: Job | None = None
        self._until_prune = FIRST_PRUNE_AFTER

    def request(self, key: object, path: str) -> None:
        with self._lock:
            self._queue.pop(key, None)
            self._queue[key] = path
            while len(self._queue) > self._max_pending:
                self._queue.popitem(last=False)
        if self._job is None:
            self._start()

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def set_size(self, size: int) -> None:
        self.clear()
        self.size = size

    def _next(self) -> tuple[object, str] | None:
        with self._lock:
            return self._queue.popitem(last=True) if self._queue else None

    def _start(self) -> None:
        if self._lane.stopped:
            return
        job = Job("thumbnails", self._drain, self.size, throttle=0.05, coalesce=_merge)
        job.progress.connect(self._deliver)
        job.finished.connect(self._on_finished)
        self._job = job
        self._lane.submit(job)

    def _drain(
        self, ctx: JobContext, size: int
    ) -> Generator[list[tuple[object, QImage | None, str | None]], None, None]:
        while not ctx.should_stop and (item := self._next()) is not None:
            self._until_prune -= 1
            if self._until_prune <= 0:
                self._until_prune = PRUNE_EVERY
                cache_limit.prune()
            key, path = item
            try:
                yield [(key, load_thumbnail(path, size), None)]
            except imaging.ImageError as exc:
                yield [(key, None, exc.reason)]
            except OSError as exc:
                yield [(key, None, exc.strerror or str(exc))]
            except Exception as exc:
                log.warning("thumbnail of %s failed", path, exc_info=True)
                yield [(key, None, f"could not be read ({type(exc).__name__})")]

    def _deliver(self, batch: list) -> None:
        for key, img, reason in batch:
            if img is not None:
                self.ready.emit(key, img)
            else:
                self.failed.emit(key, reason or "unreadable")

    def _on_finished(self) -> None:
        self._job = None
        with self._lock:
            more = bool(self._queue)
        if more:
            self._start()

"""Live folders: the library's ``FolderWatcher`` (watchdog) bridged into Qt.

The watcher calls back on its own thread with settled batches of changes; the bridge
only re-emits them through a signal (queued into the GUI thread: plain frozen
dataclasses, no widgets, no database). On the GUI thread batches are gathered for a
short quiet period and handed over as one batch, which the library service applies on
its ``files`` lane.

A watch that cannot start is not only logged: ``failed`` says why (the window shows it
and offers polling: ``watch(roots, polling_roots)`` with those folders). A folder that the
watcher itself moved to polling (the inotify limit) is reported by ``fell_back``.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

if TYPE_CHECKING:
    from photocap.ingest.watcher import FolderWatcher

log = logging.getLogger(__name__)


class FolderWatchBridge(QObject):
    changes = Signal(list)  # [photocap.ingest.watcher.Change], debounced, on the GUI thread
    watching = Signal(tuple)  # the roots now followed (after a change of the set took effect)
    failed = Signal(str, tuple)  # why, the roots that are not watched (nothing is, from this set)
    fell_back = Signal(str, str)  # root, why it is watched by polling instead of natively
    _from_watcher = Signal(list)
    _applied = Signal(tuple, dict)
    _failed = Signal(str, tuple)

    def __init__(
        self,
        debounce: float = 1.5,
        gather_ms: int = 250,
        parent: QObject | None = None,
        factory: Callable[..., Any] | None = None,
    ):
        super().__init__(parent)
        self.debounce = debounce
        self.factory = factory  # FolderWatcher's signature (tests inject failures); None: FolderWatcher
        self._watcher: FolderWatcher | None = None  # only touched on the control thread
        self._wanted: tuple | None = None
        self._roots: tuple[str, ...] = ()
        self._batch: list = []
        # Starting a watch walks the folder tree (inotify: a watch per folder; polling: a stat
        # per file) and stopping joins threads: never on the GUI thread. One thread, in order.
        self._control = ThreadPoolExecutor(max_workers=1, thread_name_prefix="photocap-watch-control")
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(gather_ms)
        self._timer.timeout.connect(self._flush)
        self._from_watcher.connect(self._gather)  # queued: emitted on the watcher's thread
        self._applied.connect(self._on_applied)  # queued: emitted on the control thread
        self._failed.connect(self._on_failed)

    @property
    def roots(self) -> tuple[str, ...]:
        """The folders being followed now."""
        return self._roots

    def watch(self, roots: Iterable[str], polling_roots: Iterable[str] = ()) -> None:
        """Follow exactly ``roots`` (missing ones too: they are picked up when they come back).
        Returns at once; the watcher changes its set in the background, keeping the changes
        still waiting in the folders it keeps."""
        wanted = (tuple(sorted(str(r) for r in roots)), tuple(sorted(str(r) for r in polling_roots)))
        if wanted == self._wanted or self._closed:
            return
        self._wanted = wanted
        self._control.submit(self._apply, *wanted)

    def _apply(self, roots: tuple, polling: tuple) -> None:  # control thread
        try:
            if self._watcher is None and roots:
                factory = self.factory
                if factory is None:
                    from photocap.ingest.watcher import FolderWatcher

                    factory = FolderWatcher
                self._watcher = factory(
                    roots, self._from_watcher.emit, debounce=self.debounce, polling_roots=polling
                ).start()
            elif self._watcher is not None:
                self._watcher.set_roots(roots, polling)
            self._applied.emit(roots, dict(self._watcher.modes) if self._watcher is not None else {})
        except Exception as exc:
            log.exception("could not watch %s", roots)
            self._stop_watcher()  # a half-started watcher: the next try starts clean
            self._failed.emit(_why(exc), roots)

    def _on_applied(self, roots: tuple, modes: dict) -> None:
        self._roots = roots
        self.watching.emit(roots)
        for root, mode in modes.items():
            if mode.startswith("polling ("):
                self.fell_back.emit(root, mode[len("polling (") : -1])

    def _on_failed(self, why: str, roots: tuple) -> None:
        self._wanted = None  # the same set may be asked for again (with polling, say)
        self._roots = ()
        self.failed.emit(why, roots)

    def _gather(self, changes: list) -> None:
        self._batch.extend(changes)
        self._timer.start()

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        if batch:
            self.changes.emit(batch)

    def _stop_watcher(self) -> None:  # control thread
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            try:
                watcher.stop()
            except Exception:
                log.debug("stopping the watcher failed", exc_info=True)

    def stop(self) -> None:
        """Stop watching for good (closing the app): waits for the watcher's threads."""
        if self._closed:
            return
        self._closed = True
        self._control.submit(self._stop_watcher)
        self._control.shutdown(wait=True)
        self._roots = ()


def _why(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EMFILE):
        return f"the system's limit on watched folders was reached ({exc.strerror or exc})"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc) or exc.__class__.__name__

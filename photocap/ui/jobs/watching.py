"""Live folders: the library's ``FolderWatcher`` (watchdog) bridged into Qt.

The watcher calls back on its own thread with settled batches of changes; the bridge
only re-emits them through a signal (queued into the GUI thread: plain frozen
dataclasses, no widgets, no database). On the GUI thread batches are gathered for a
short quiet period and handed over as one batch, which the library service applies on
its ``files`` lane.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)


class FolderWatchBridge(QObject):
    changes = Signal(list)  # [photocap.library.watcher.Change], debounced, on the GUI thread
    watching = Signal(tuple)  # the roots now followed (after a change of the set took effect)
    _from_watcher = Signal(list)
    _applied = Signal(tuple)

    def __init__(self, debounce: float = 1.5, gather_ms: int = 250, parent: QObject | None = None):
        super().__init__(parent)
        self.debounce = debounce
        self._watcher = None  # only touched on the control thread
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

    @property
    def roots(self) -> tuple[str, ...]:
        """The folders being followed now."""
        return self._roots

    def watch(self, roots, polling_roots=()) -> None:
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
                from photocap.library.watcher import FolderWatcher

                self._watcher = FolderWatcher(roots, self._from_watcher.emit, debounce=self.debounce,
                                              polling_roots=polling).start()
            elif self._watcher is not None:
                self._watcher.set_roots(roots, polling)
            self._applied.emit(roots)
        except Exception:  # noqa: BLE001 - live updates are a convenience: the app goes on without
            log.exception("could not watch %s", roots)

    def _on_applied(self, roots: tuple) -> None:
        self._roots = roots
        self.watching.emit(roots)

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
            watcher.stop()

    def stop(self) -> None:
        """Stop watching for good (closing the app): waits for the watcher's threads."""
        if self._closed:
            return
        self._closed = True
        self._control.submit(self._stop_watcher)
        self._control.shutdown(wait=True)
        self._roots = ()

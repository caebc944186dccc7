"""Live folders: the library's ``FolderWatcher`` (watchdog) bridged into Qt.

The watcher calls back on its own thread with settled batches of changes; the bridge
only re-emits them through a signal (queued into the GUI thread: plain frozen
dataclasses, no widgets, no database). On the GUI thread batches are gathered for a
short quiet period and handed over as one batch, which the library service applies on
its ``files`` lane.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)


class FolderWatchBridge(QObject):
    changes = Signal(list)  # [photocap.library.watcher.Change], debounced, on the GUI thread
    _from_watcher = Signal(list)

    def __init__(self, debounce: float = 1.5, gather_ms: int = 250, parent: QObject | None = None):
        super().__init__(parent)
        self.debounce = debounce
        self._watcher = None
        self._roots: tuple[str, ...] = ()
        self._batch: list = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(gather_ms)
        self._timer.timeout.connect(self._flush)
        self._from_watcher.connect(self._gather)  # queued: emitted on the watcher's thread

    @property
    def roots(self) -> tuple[str, ...]:
        return self._roots

    def watch(self, roots, polling_roots=()) -> None:
        """Follow exactly ``roots`` (restarts the watcher when the set changes)."""
        roots = tuple(sorted(str(r) for r in roots))
        if roots == self._roots and self._watcher is not None:
            return
        self.stop()
        self._roots = roots
        if not roots:
            return
        from photocap.library.watcher import FolderWatcher

        try:
            self._watcher = FolderWatcher(roots, self._from_watcher.emit, debounce=self.debounce,
                                          polling_roots=polling_roots).start()
        except Exception:  # noqa: BLE001 - live updates are a convenience: the app goes on without
            log.exception("could not watch %s", roots)
            self._watcher = None

    def _gather(self, changes: list) -> None:
        self._batch.extend(changes)
        self._timer.start()

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        if batch:
            self.changes.emit(batch)

    def stop(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()
        self._roots = ()

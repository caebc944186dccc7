"""The right-click menu on a photo in the grid: what people expect there.

Open, Show in File Manager, Copy Caption, Edit Caption, Mark as Reviewed, Similar Photos.
It only says what was chosen (signals with the photo id); the browser does the work.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMenu


class PhotoMenu(QMenu):
    open_requested = Signal(str)  # path
    reveal_requested = Signal(str)  # path
    copy_requested = Signal(str)  # caption text
    edit_requested = Signal(int)
    reviewed_requested = Signal(int)
    similar_requested = Signal(int)

    def __init__(self, summary, parent=None):
        super().__init__(parent)
        self.setObjectName("PhotoMenu")
        s = summary
        there = s.status == "ok"
        self._add("Open", lambda: self.open_requested.emit(s.path), there)
        self._add("Show in File Manager", lambda: self.reveal_requested.emit(s.path), there)
        self.addSeparator()
        self._add("Copy Caption", lambda: self.copy_requested.emit(s.caption or ""), bool(s.caption))
        self._add("Edit Caption…", lambda: self.edit_requested.emit(s.id))
        self._add("Mark as Reviewed", lambda: self.reviewed_requested.emit(s.id), s.needs_review)
        self.addSeparator()
        self._add("Similar Photos", lambda: self.similar_requested.emit(s.id))

    def _add(self, text: str, slot, enabled: bool = True) -> None:
        action = self.addAction(text)
        action.setEnabled(enabled)
        action.triggered.connect(slot)

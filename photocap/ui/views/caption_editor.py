"""The caption field: read-only until F2 / double-click; Enter or Ctrl+Enter saves, Esc cancels.

Leaving the field (clicking elsewhere) with changed text also saves: an edit is never
silently dropped. Shift+Enter is ignored (a caption is one line).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor, QTextOption
from PySide6.QtWidgets import QPlainTextEdit, QSizePolicy


class CaptionEditor(QPlainTextEdit):
    committed = Signal(str)  # the new text (stripped, changed, not empty)
    editing_changed = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("CaptionEdit")
        self.setWordWrapMode(QTextOption.WrapMode.WordWrap)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setTabChangesFocus(True)
        self._original = ""
        self.editing = False
        self.locked = False  # a read-only library: the caption can be read and copied, not edited
        self.setReadOnly(True)
        self.setProperty("editing", False)
        self.document().contentsChanged.connect(self._fit)
        self.setPlaceholderText("No caption yet")

    def set_caption(self, text: str | None) -> None:
        """Show a stored caption (ends any edit without saving)."""
        self._original = text or ""
        self._set_editing(False)
        self.setPlainText(self._original)

    @property
    def original(self) -> str:
        return self._original

    def begin_edit(self) -> None:
        if self.editing or self.locked:
            return
        self._set_editing(True)
        self.setFocus(Qt.FocusReason.OtherFocusReason)
        self.selectAll()

    def retry(self, text: str, saved: str | None) -> None:
        """A save that failed: the stored caption is ``saved`` again, and ``text`` waits in the
        field, editing, for another Enter (or Esc to give it up)."""
        self._original = saved or ""
        self.setPlainText(text)
        self._set_editing(True)
        self.moveCursor(QTextCursor.MoveOperation.End)

    def cancel(self) -> None:
        self.setPlainText(self._original)
        self._set_editing(False)

    def commit(self) -> bool:
        """Save if changed; True when a new caption was committed."""
        text = " ".join(self.toPlainText().split())
        self._set_editing(False)
        if not text or text == self._original:
            self.setPlainText(self._original)
            return False
        self._original = text
        self.setPlainText(text)
        self.committed.emit(text)
        return True

    def _set_editing(self, on: bool) -> None:
        if self.editing == on:
            return
        self.editing = on
        self.setReadOnly(not on)
        self.setProperty("editing", on)
        self.style().unpolish(self)
        self.style().polish(self)
        self.editing_changed.emit(on)

    # ---- events ------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if not self.editing:
            if key == Qt.Key.Key_F2 or key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.begin_edit()
                return
            super().keyPressEvent(event)
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.commit()
            return
        if key == Qt.Key.Key_Escape:
            self.cancel()
            return
        super().keyPressEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        if not self.editing:
            self.begin_edit()
            return
        super().mouseDoubleClickEvent(event)

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        if self.editing and event.reason() not in (
            Qt.FocusReason.PopupFocusReason,
            Qt.FocusReason.ActiveWindowFocusReason,
        ):
            self.commit()

    def insertFromMimeData(self, source) -> None:  # paste as one line
        self.insertPlainText(" ".join(source.text().split()))

    def _fit(self) -> None:
        doc_h = self.document().size().height() * self.fontMetrics().lineSpacing()
        self.setFixedHeight(int(max(self.fontMetrics().lineSpacing() * 1.6, doc_h + 14)))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

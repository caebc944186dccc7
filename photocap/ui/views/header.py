"""Above the grid: the place's title, how many photos, and the search field (Ctrl+F).

Typing is debounced (150 ms) before ``search_changed`` fires; Esc clears the field. Under
the field, a note says when a search was shortened to keep it fast. Nothing here grows
with its text (a folder name, a pasted 5,000-character query): labels are plain text and
their width never raises the window's minimum.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QSizePolicy, QVBoxLayout, QWidget

from photocap.ui import style

DEBOUNCE_MS = 150


class SearchField(QLineEdit):
    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
            return
        super().keyPressEvent(event)


class Header(QWidget):
    search_changed = Signal(str)  # debounced

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("Header")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.title = _plain_label("All photos", "HeaderTitle")
        self.subtitle = _plain_label("", "HeaderSubtitle")
        self.note = _plain_label("", "CaptionHint")  # "Only the first 16 words of the search were used."
        self.note.setWordWrap(True)
        self.note.setMaximumWidth(440)
        self.note.hide()
        self.search = SearchField()
        self.search.setObjectName("SearchField")
        self.search.setPlaceholderText("Search by what is in the photo…   Ctrl+F")
        self.search.setClearButtonEnabled(True)
        self._search_icon = self.search.addAction(
            style.icon("search", style.current().muted, 16), QLineEdit.ActionPosition.LeadingPosition
        )
        style.on_theme_change(self._apply_icons)
        self.search.setMinimumWidth(260)
        self.search.setMaximumWidth(440)
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(lambda: self.search_changed.emit(self.search.text()))
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.search.returnPressed.connect(self._flush)

        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        field = QVBoxLayout()
        field.setSpacing(2)
        field.addWidget(self.search)
        field.addWidget(self.note)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(22, 14, 18, 12)
        lay.addLayout(titles, 1)
        lay.addLayout(field, 1)

    def _apply_icons(self) -> None:
        self._search_icon.setIcon(style.icon("search", style.current().muted, 16))

    def _flush(self) -> None:
        self._timer.stop()
        self.search_changed.emit(self.search.text())

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def set_title(self, title: str, subtitle: str = "") -> None:
        self.title.setText(title)
        self.subtitle.setText(subtitle)

    def set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))


def _plain_label(text: str, name: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setMinimumWidth(1)  # its text's width is no minimum for the window
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label

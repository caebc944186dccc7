"""First run: an inviting page with "Add folder…"; folders can also be dropped anywhere on the window."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from photocap.ui import style


class EmptyState(QWidget):
    add_folder_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("EmptyState")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.art = art = QLabel()
        art.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel("Your photos, described in words")
        title.setObjectName("EmptyTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        body = QLabel(
            "Add a folder and photocap writes a caption for every photo, on this computer.\n"
            "Then find any photo by typing what is in it, and correct captions as you go."
        )
        body.setObjectName("EmptyBody")
        body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.button = QPushButton("  Add folder…")
        self.button.setObjectName("Primary")
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.button.clicked.connect(self.add_folder_requested)
        self.drop_hint = QLabel("…or drop a folder here")
        self.drop_hint.setObjectName("DropHint")
        self.drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        style.on_theme_change(self._apply_icons)
        note = QLabel("Folders are watched: new photos are described as they arrive.")
        note.setObjectName("EmptyBody")
        note.setAlignment(Qt.AlignmentFlag.AlignCenter)

        lay = QVBoxLayout(self)
        lay.addStretch(3)
        lay.addWidget(art)
        lay.addSpacing(14)
        lay.addWidget(title)
        lay.addSpacing(6)
        lay.addWidget(body, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addSpacing(22)
        lay.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addSpacing(16)
        lay.addWidget(self.drop_hint, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addStretch(4)
        lay.addWidget(note)
        lay.addSpacing(18)

    def _apply_icons(self) -> None:
        self.art.setPixmap(style.icon("photos", style.current().accent, 72).pixmap(72, 72))
        self.button.setIcon(style.icon("folder-plus", style.current().on_accent, 18))

    def set_dragging(self, on: bool) -> None:
        self.setProperty("dragging", on)
        self.drop_hint.setText("Release to add this folder" if on else "…or drop a folder here")
        for w in (self, self.drop_hint):
            w.style().unpolish(w)
            w.style().polish(w)

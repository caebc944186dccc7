"""A strip above the page for something the user should know and can act on (a folder
that cannot be watched, with "Use polling"). Plain text; the action and the close button
only emit signals."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QToolButton


class Banner(QFrame):
    action_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("Banner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.message = QLabel("")
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # folder names
        self.message.setWordWrap(True)
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.action = QPushButton("")
        self.action.clicked.connect(self.action_requested)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Hide this message")
        self.close_button.clicked.connect(self.hide)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(22, 8, 12, 8)
        lay.addWidget(self.message, 1)
        lay.addWidget(self.action)
        lay.addWidget(self.close_button)
        self.hide()

    def show_message(self, text: str, action: str = "") -> None:
        self.message.setText(text)
        self.action.setText(action)
        self.action.setVisible(bool(action))
        self.show()

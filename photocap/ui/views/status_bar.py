"""The status bar: what captioning is doing, how fast, on which device, with pause/resume."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QStatusBar, QToolButton

from photocap.ui import style
from photocap.ui.text import plain_tooltip


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return "less than a minute left"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} min left"
    return f"about {minutes / 60:.1f} h left"


def describe_progress(done: int, total: int, rate: float, eta_s: float | None) -> str:
    """'Captioning 1,204 of 5,310 · 8.3 photos/s · about 8 min left'"""
    parts = [f"Captioning {done:,} of {total:,}"]
    if rate > 0:
        parts.append(f"{rate:.1f} photos/s")
    eta = format_eta(eta_s)
    if eta:
        parts.append(eta)
    return " · ".join(parts)


class CaptionStatusBar(QStatusBar):
    pause_toggled = Signal(bool)  # True: the user wants captioning paused

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self.activity = QLabel("Starting…")
        self.activity.setObjectName("Activity")
        self.activity.setTextFormat(Qt.TextFormat.PlainText)  # folder names, file names, error messages
        self.activity.setMinimumWidth(1)  # a long message never widens the window
        self.activity.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.bar = QProgressBar()
        self.bar.setObjectName("StatusProgress")
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(160)
        self.bar.hide()
        self.pause_button = QToolButton()
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Pause captioning (Ctrl+P)")
        self.pause_button.toggled.connect(self._on_toggled)
        self.pause_button.hide()
        self.device = QLabel("")
        self.device.setObjectName("DeviceChip")
        self.device.setTextFormat(Qt.TextFormat.PlainText)
        self.device.hide()
        self.read_only = QLabel("Read-only")
        self.read_only.setObjectName("DeviceChip")
        self.read_only.hide()
        self.addWidget(self.activity, 1)
        self.addPermanentWidget(self.bar)
        self.addPermanentWidget(self.pause_button)
        self.addPermanentWidget(self.read_only)
        self.addPermanentWidget(self.device)
        style.on_theme_change(self._refresh_pause_icon)

    def _on_toggled(self, paused: bool) -> None:
        self._refresh_pause_icon()
        self.pause_toggled.emit(paused)

    def _refresh_pause_icon(self) -> None:
        paused = self.pause_button.isChecked()
        self.pause_button.setIcon(style.icon("play" if paused else "pause", size=16))
        self.pause_button.setToolTip("Resume captioning (Ctrl+P)" if paused else "Pause captioning (Ctrl+P)")

    def set_paused(self, paused: bool) -> None:
        """Reflect the state without re-emitting."""
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(paused)
        self.pause_button.blockSignals(False)
        self._refresh_pause_icon()
        if paused and self.bar.isVisible():
            self.activity.setText(self.activity.text().split(" · ")[0] + " · paused")

    def show_message(self, text: str) -> None:
        self.activity.setText(text)

    def show_device(self, label: str, kind: str) -> None:
        self.device.setText(label)
        self.device.setToolTip(plain_tooltip(f"Captions are computed on: {label}"))
        self.device.show()

    def show_read_only(self, reason: str | None) -> None:
        """A permanent "Read-only" chip while the library cannot be written (``reason`` on hover)."""
        self.read_only.setVisible(reason is not None)
        self.read_only.setToolTip(
            f"This library is open read-only: {reason}. You can look and search; nothing can be changed or added."
            if reason
            else ""
        )

    def show_model_problem(self, message: str) -> None:
        """The chip says there is no caption model (until :meth:`show_device`); why, on hover."""
        self.device.setText("No caption model")
        self.device.setToolTip(
            plain_tooltip(
                f"The caption model could not be loaded: {message}\n"
                "Photos are not described until it can be (restore the file, "
                "or activate another model)."
            )
        )
        self.device.show()

    def show_progress(self, done: int, total: int, rate: float, eta_s: float | None) -> None:
        self.pause_button.show()
        self.bar.show()
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(min(done, total))
        text = describe_progress(done, total, rate, eta_s)
        if self.pause_button.isChecked():
            text = text.split(" · ")[0] + " · paused"
        self.activity.setText(text)

    def show_idle(self, text: str) -> None:
        self.bar.hide()
        self.pause_button.setVisible(self.pause_button.isChecked())
        self.activity.setText(text)
        self.activity.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)

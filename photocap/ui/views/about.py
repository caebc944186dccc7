"""About photocap: versions of photocap, Qt, PySide, Python, torch, and the device in use."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout

from photocap import __version__
from photocap.ui import style


def versions(engine_info=None) -> list[tuple[str, str]]:
    """What the About box lists. torch's version comes from the loaded engine (torch is
    not imported just to show this box); before it loads, from the installed package."""
    if engine_info is not None:
        torch_version, device, model = engine_info.torch_version, engine_info.device, engine_info.model_id
    else:
        try:
            torch_version = metadata.version("torch") + " (not loaded yet)"
        except metadata.PackageNotFoundError:
            torch_version = "not installed"
        device, model = "—", "—"
    return [
        ("photocap", __version__),
        ("Qt", qVersion()),
        ("PySide6", pyside_version),
        ("Python", f"{sys.version.split()[0]} ({platform.system()} {platform.machine()})"),
        ("torch", torch_version),
        ("Device", device),
        ("Caption model", model),
    ]


class AboutDialog(QDialog):
    def __init__(self, engine_info=None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("About photocap")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(28, 24, 28, 18)
        icon = QLabel()
        icon.setPixmap(style.icon("photos", style.current().accent, 56).pixmap(56, 56))
        title = QLabel("photocap")
        title.setObjectName("EmptyTitle")
        blurb = QLabel(
            "A photo library that describes every photo in words,\nfinds photos by description, "
            "and learns from your corrections."
        )
        blurb.setObjectName("EmptyBody")
        for w in (icon, title, blurb):
            w.setAlignment(Qt.AlignmentFlag.AlignCenter)
            lay.addWidget(w)
        lay.addSpacing(12)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.rows = versions(engine_info)
        for k, v in self.rows:
            val = QLabel(v)
            val.setTextFormat(Qt.TextFormat.PlainText)  # model names come from files
            val.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{k}:", val)
        lay.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        lay.addWidget(buttons)

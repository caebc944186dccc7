"""Settings: device, beam width, caption length, thumbnail size, theme, cache size, watched folders,
library location (takes effect on restart). Folder changes are asked for through signals;
the dialog itself never touches the library."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from photocap.filenames import readable
from photocap.library.values import SETTING_EMBED, SETTING_TEACH_IMPORTED, SETTING_WRITE_SIDECARS
from photocap.paths import default_library_path
from photocap.ui.settings import DEVICES, THUMB_SIZES, AppSettings

METADATA_OPTIONS = (
    (
        SETTING_WRITE_SIDECARS,
        "Write my captions to XMP sidecars (photo.jpg.xmp)",
        "digiKam, Lightroom, darktable and others read them; an existing sidecar keeps its other fields",
    ),
    (
        SETTING_EMBED,
        "Write them into the photo file itself (JPEG, TIFF, PNG, WebP)",
        "Changes your original files (the pixels are never touched); other formats get a sidecar",
    ),
    (
        SETTING_TEACH_IMPORTED,
        "Teach photocap with imported descriptions too",
        "Descriptions read from other apps count as your captions when teaching",
    ),
)

DEVICE_NAMES = {"auto": "Automatic (best available)", "cpu": "CPU", "cuda": "NVIDIA CUDA", "mps": "Apple MPS"}


class SettingsDialog(QDialog):
    add_folder_requested = Signal()
    remove_folder_requested = Signal(int)  # folder id
    rescan_requested = Signal(int)  # folder id

    def __init__(
        self, settings: AppSettings, folders: list, parent=None, library_settings: dict[str, bool] | None = None
    ):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self._initial = settings
        lay = QVBoxLayout(self)
        lay.setContentsMargins(20, 18, 20, 16)
        lay.setSpacing(12)
        # two columns, so that the dialog fits a 1366x768 laptop screen (one column was ~1000 px tall)
        columns = QHBoxLayout()
        columns.setSpacing(16)
        left, right = QVBoxLayout(), QVBoxLayout()
        for column in (left, right):
            column.setSpacing(12)
            columns.addLayout(column, 1)
        lay.addLayout(columns)

        captions = QGroupBox("Captioning")
        form = QFormLayout(captions)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.device = QComboBox()
        for d in DEVICES:
            self.device.addItem(DEVICE_NAMES[d], d)
        self.device.setCurrentIndex(DEVICES.index(settings.device))
        self.beam = QSpinBox()
        self.beam.setRange(1, 10)
        self.beam.setValue(settings.beam)
        self.beam.setToolTip("1 = fastest (greedy); 3–5 usually gives better captions")
        self.max_len = QSpinBox()
        self.max_len.setRange(5, 50)
        self.max_len.setSuffix(" words")
        self.max_len.setValue(settings.max_len)
        form.addRow("Device", self.device)
        form.addRow("Beam width", self.beam)
        form.addRow("Longest caption", self.max_len)
        left.addWidget(captions)

        look = QGroupBox("Appearance")
        form2 = QFormLayout(look)
        form2.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.thumb = QComboBox()
        for s in THUMB_SIZES:
            self.thumb.addItem(f"{s} px", s)
        self.thumb.setCurrentIndex(THUMB_SIZES.index(settings.thumb_size))
        self.theme = QComboBox()
        for key, name in (("auto", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
            self.theme.addItem(name, key)
        self.theme.setCurrentIndex(["auto", "light", "dark"].index(settings.theme))
        self.cache_limit = QSpinBox()
        self.cache_limit.setRange(1, 1024)  # GB (the settings accept down to 64 MB, e.g. from a script)
        self.cache_limit.setSuffix(" GB")
        self.cache_limit.setValue(max(1, round(settings.cache_limit_mb / 1024)))
        self.cache_limit.setToolTip(
            "Thumbnails and training feature caches together; the least recently "
            "used are removed first. Safe to lower: they are made again when needed."
        )
        form2.addRow("Thumbnail size", self.thumb)
        form2.addRow("Theme", self.theme)
        form2.addRow("Cache size", self.cache_limit)
        left.addWidget(look)
        left.addStretch(1)

        watched = QGroupBox("Watched folders")
        v = QVBoxLayout(watched)
        self.folders = QListWidget()
        self.folders.setObjectName("FolderList")
        self.folders.setMinimumHeight(110)
        self.folders.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a long path keeps its name and count
        self.folders.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        v.addWidget(self.folders)
        row = QHBoxLayout()
        add, remove, rescan = QPushButton("Add…"), QPushButton("Remove"), QPushButton("Rescan")
        add.clicked.connect(self.add_folder_requested)
        remove.clicked.connect(lambda: self._with_folder(self.remove_folder_requested))
        rescan.clicked.connect(lambda: self._with_folder(self.rescan_requested))
        for b in (add, remove, rescan):
            row.addWidget(b)
        row.addStretch(1)
        v.addLayout(row)
        right.addWidget(watched, 1)
        self.set_folders(folders)

        self._library_settings = dict(library_settings or {})
        self.metadata_boxes: dict[str, QCheckBox] = {}
        if library_settings is not None:
            md = QGroupBox("Captions and other apps")
            v2 = QVBoxLayout(md)
            for key, text, tip in METADATA_OPTIONS:
                box = QCheckBox(text)
                box.setToolTip(tip)
                box.setChecked(bool(library_settings.get(key)))
                v2.addWidget(box)
                self.metadata_boxes[key] = box
            note = QLabel("Descriptions other apps wrote (XMP sidecars, IPTC, EXIF, Google Takeout) are always read.")
            note.setObjectName("CaptionHint")
            note.setWordWrap(True)
            v2.addWidget(note)
            right.addWidget(md)

        where = QGroupBox("Library location")
        h = QHBoxLayout(where)
        self.library = QLineEdit(settings.library_path)
        self.library.setPlaceholderText(str(default_library_path()))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_library)
        h.addWidget(self.library, 1)
        h.addWidget(browse)
        lay.addWidget(where)
        self.restart_note = QLabel("A new library location takes effect when photocap is restarted.")
        self.restart_note.setObjectName("CaptionHint")
        self.restart_note.setWordWrap(True)
        lay.addWidget(self.restart_note)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def set_folders(self, folders: list) -> None:
        self.folders.clear()
        for f in folders:
            text = f"{readable(f.path)}    ·  {f.photo_count:,} photos" + ("  (missing)" if f.status != "ok" else "")
            item = QListWidgetItem(text)
            item.setToolTip(readable(f.path))
            item.setData(Qt.ItemDataRole.UserRole, f.id)
            self.folders.addItem(item)

    def _with_folder(self, signal) -> None:
        item = self.folders.currentItem()
        if item is not None:
            signal.emit(item.data(Qt.ItemDataRole.UserRole))

    def _choose_library(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Library file",
            self.library.text() or str(default_library_path()),
            "photocap library (*.sqlite)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if path:
            self.library.setText(path)

    def result_library_settings(self) -> dict[str, bool]:
        """The library's own settings that the user changed (empty: none)."""
        return {
            k: box.isChecked()
            for k, box in self.metadata_boxes.items()
            if box.isChecked() != bool(self._library_settings.get(k))
        }

    def result_settings(self) -> AppSettings:
        return dataclasses.replace(
            self._initial,
            device=self.device.currentData(),
            beam=self.beam.value(),
            max_len=self.max_len.value(),
            thumb_size=self.thumb.currentData(),
            theme=self.theme.currentData(),
            cache_limit_mb=self.cache_limit.value() * 1024,
            library_path=self.library.text().strip(),
        )

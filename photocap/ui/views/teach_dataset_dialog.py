""" "Train from a dataset…": an annotation file (COCO / Flickr / Karpathy) and its image folder,
a name and a time budget. The training itself runs like teaching, with the same live view."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

FORMATS = (
    ("auto", "Guess from the file"),
    ("karpathy", "Karpathy split JSON (COCO / Flickr8k / Flickr30k)"),
    ("coco", "COCO captions_*.json"),
    ("flickr8k", "Flickr8k token file"),
    ("flickr30k", "Flickr30k token / CSV file"),
)


@dataclass(frozen=True)
class DatasetChoice:
    annotations: str
    images: str | None
    fmt: str
    minutes: float
    name: str


def _picker(edit: QLineEdit, pick) -> QWidget:
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(edit, 1)
    button = QPushButton("Choose…")
    button.clicked.connect(pick)
    lay.addWidget(button)
    return row


class DatasetDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Train from a dataset")
        self.setMinimumWidth(560)
        self.annotations = QLineEdit()
        self.annotations.setPlaceholderText("dataset_flickr8k.json, captions_train2014.json, Flickr8k.token.txt…")
        self.images = QLineEdit()
        self.images.setPlaceholderText("the folder with the dataset's images (guessed when empty)")
        self.format = QComboBox()
        for key, text in FORMATS:
            self.format.addItem(text, key)
        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(1, 24 * 60)
        self.minutes.setValue(60)
        self.minutes.setSuffix(" min")
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. Flickr8k captioner")
        form = QFormLayout()
        form.addRow("Annotation file", _picker(self.annotations, self._pick_annotations))
        form.addRow("Image folder", _picker(self.images, self._pick_images))
        form.addRow("Format", self.format)
        form.addRow("Train for at most", self.minutes)
        form.addRow("Name", self.name)
        note = QLabel(
            "The encoder's features are computed once and cached; the best model so far is kept "
            "when the time is up. The result is added to your model versions, not switched on: "
            "compare it first."
        )
        note.setObjectName("CaptionHint")
        note.setWordWrap(True)
        self.error = QLabel("")
        self.error.setObjectName("ErrorText")
        self.error.setWordWrap(True)
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Train")
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(self.error)
        lay.addWidget(buttons)

    def _pick_annotations(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Annotation file", str(Path.home()), "Annotations (*.json *.txt *.token *.csv);;All files (*)"
        )
        if path:
            self.annotations.setText(path)

    def _pick_images(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Image folder", self.annotations.text() or str(Path.home()))
        if path:
            self.images.setText(path)

    def _check(self) -> None:
        problem = self.problem()
        self.error.setText(problem or "")
        self.error.setVisible(bool(problem))
        if problem is None:
            self.accept()

    def problem(self) -> str | None:
        ann, img = self.annotations.text().strip(), self.images.text().strip()
        if not ann:
            return "Choose the annotation file."
        if not Path(ann).is_file():
            return f"There is no file at {ann}."
        if img and not Path(img).is_dir():
            return f"There is no folder at {img}."
        return None

    def choice(self) -> DatasetChoice:
        ann = self.annotations.text().strip()
        return DatasetChoice(
            ann,
            self.images.text().strip() or None,
            self.format.currentData(),
            float(self.minutes.value()),
            self.name.text().strip() or f"Trained on {Path(ann).stem}",
        )

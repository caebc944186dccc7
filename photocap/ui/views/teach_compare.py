"""Compare before switching: photos side by side with the user's caption, the active model's
and the new model's, with BLEU-4 / CIDEr on the held-out photos; then some photos the user
has not edited, with today's description and the new one. Filled from a
``trainer.teach.Comparison`` computed on a lane; thumbnails arrive later, one by one."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

THUMB = 120
ROW_MARGIN = 8


def _label(text: str, name: str = "FieldValue", wrap: bool = True) -> QLabel:
    lab = QLabel(text)
    lab.setObjectName(name)
    lab.setWordWrap(wrap)
    lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return lab


def score_line(scores: dict, n: int) -> str:
    """'On 6 held-out photos you captioned: BLEU-4 0.12 → 0.45 · CIDEr 0.31 → 1.92'"""
    cur, new = scores.get("current") or {}, scores.get("candidate") or {}
    parts = []
    for key, name in (("bleu4", "BLEU-4"), ("cider", "CIDEr")):
        a, b = cur.get(key), new.get(key)
        if b is None:
            continue
        parts.append(f"{name} {'—' if a is None else f'{a:.2f}'} → {b:.2f}")
    if not parts:
        return "No held-out photos with your captions to score on yet."
    return f"On {n} held-out photo{'s' if n != 1 else ''} you captioned (today's model → the new one): " + " · ".join(
        parts
    )


def candidate_hint(row) -> str:
    """'83% sure', 'same as today · 12% sure' (a taught model keeps the tags where it is unsure)."""
    parts = ["same as today"] if row.current and row.candidate == row.current else []
    if row.candidate_confidence is not None:
        parts.append(f"{row.candidate_confidence:.0%} sure")
    return " · ".join(parts)


class CompareView(QWidget):
    back_requested = Signal()
    activate_requested = Signal(str)  # model id
    thumbnail_wanted = Signal(int, str)  # photo id, path

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("CompareView")
        self.model_id: str | None = None
        self._thumbs: dict[int, list[QLabel]] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(22, 14, 22, 14)
        outer.setSpacing(8)
        top = QHBoxLayout()
        self.back = QToolButton()
        self.back.setObjectName("Link")
        self.back.setText("← Back to Teach")
        self.back.clicked.connect(self.back_requested)
        top.addWidget(self.back)
        top.addStretch(1)
        self.activate = QPushButton("Use this model")
        self.activate.setObjectName("Primary")
        self.activate.setToolTip(
            "Make it the active model: every automatic caption is described again "
            "(photos on screen first); your own captions are never touched"
        )
        self.activate.clicked.connect(lambda: self.model_id and self.activate_requested.emit(self.model_id))
        top.addWidget(self.activate)
        outer.addLayout(top)
        self.title = _label("", "HeaderTitle")
        outer.addWidget(self.title)
        self.scores = _label("", "HeaderSubtitle")
        outer.addWidget(self.scores)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.body = QWidget()
        self.body.setObjectName("CompareBody")
        self.rows = QVBoxLayout(self.body)
        self.rows.setContentsMargins(0, 6, 0, 6)
        self.rows.setSpacing(8)
        scroll.setWidget(self.body)
        outer.addWidget(scroll, 1)

    # ---- filling -------------------------------------------------------------------------------
    def show_waiting(self, model_id: str, name: str) -> None:
        self.model_id = model_id
        self.title.setText(f"Compare before switching: {name}")
        self.scores.setText("Describing your photos with both models…")
        self.activate.setEnabled(False)
        self._clear()

    def show_failed(self, message: str) -> None:
        self.scores.setText(f"The comparison could not be made: {message}")

    def show_comparison(self, comparison, active: bool) -> None:
        self._clear()
        self.scores.setText(score_line(comparison.scores, len(comparison.held_out)))
        self.activate.setEnabled(not active)
        self.activate.setText("Active" if active else "Use this model")
        if comparison.held_out:
            self._section(
                "Held-out photos you captioned (the new model never saw these captions)",
                ("Your caption", "Today", "New model"),
            )
            for row in comparison.held_out:
                self._row(row, [row.reference, row.current, row.candidate])
        if comparison.unedited:
            self._section("Photos you have not edited", ("Today", "New model"))
            for row in comparison.unedited:
                self._row(row, [row.current, row.candidate])
        if not comparison.held_out and not comparison.unedited:
            self.rows.addWidget(_label("There are no photos to compare on yet.", "Placeholder"))
        self.rows.addStretch(1)

    def _clear(self) -> None:
        self._thumbs.clear()
        while (item := self.rows.takeAt(0)) is not None:
            if (widget := item.widget()) is not None:
                widget.deleteLater()

    def _section(self, title: str, columns: tuple[str, ...]) -> None:
        self.rows.addSpacing(8)
        self.rows.addWidget(_label(title.upper(), "FieldLabel"))
        head = QWidget()
        grid = QGridLayout(head)
        grid.setContentsMargins(ROW_MARGIN + 1, 0, ROW_MARGIN + 1, 0)  # the rows' margin and border
        grid.setHorizontalSpacing(16)
        spacer = QWidget()
        spacer.setFixedWidth(THUMB)
        grid.addWidget(spacer, 0, 0)
        for i, name in enumerate(columns):
            grid.addWidget(_label(name, "CaptionHint"), 0, i + 1)
            grid.setColumnStretch(i + 1, 1)
        self.rows.addWidget(head)

    def _row(self, row, texts: list[str | None]) -> None:
        card = QFrame()
        card.setObjectName("CompareRow")
        grid = QGridLayout(card)
        grid.setContentsMargins(ROW_MARGIN, ROW_MARGIN, ROW_MARGIN, ROW_MARGIN)
        grid.setHorizontalSpacing(16)
        thumb = QLabel()
        thumb.setObjectName("CompareThumb")
        thumb.setFixedSize(THUMB, THUMB * 3 // 4)
        thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._thumbs.setdefault(row.photo_id, []).append(thumb)
        grid.addWidget(thumb, 0, 0, Qt.AlignmentFlag.AlignTop)
        for i, text in enumerate(texts):
            new = i == len(texts) - 1
            lab = _label(text or "—", "CompareNew" if new else "FieldValue")
            cell = QVBoxLayout()
            cell.setSpacing(2)
            cell.addWidget(lab)
            if new:
                hint = candidate_hint(row)
                if hint:
                    cell.addWidget(_label(hint, "CaptionHint"))
            cell.addStretch(1)
            grid.addLayout(cell, 0, i + 1)
            grid.setColumnStretch(i + 1, 1)
        self.rows.addWidget(card)
        self.thumbnail_wanted.emit(row.photo_id, row.path)

    def set_thumbnail(self, photo_id: int, image: QImage) -> None:
        for lab in self._thumbs.get(photo_id, []):
            pix = QPixmap.fromImage(image).scaled(
                lab.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
            lab.setPixmap(pix)

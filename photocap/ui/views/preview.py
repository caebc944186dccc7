"""The large preview in the detail panel, with the attention heat-map of one word on top."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from photocap.ui import style


def heat_image(weights: np.ndarray) -> QImage:
    """A (h, w) attention map -> a small ARGB image (warm colours, alpha grows with weight);
    the painter scales it up smoothly over the photo."""
    w = np.asarray(weights, dtype=np.float32)
    w = w - w.min()
    peak = float(w.max())
    w = w / peak if peak > 0 else w
    # a perceptual ramp: deep violet -> orange -> pale yellow
    r = np.clip(0.15 + 1.6 * w, 0, 1)
    g = np.clip(-0.2 + 1.3 * w**1.2, 0, 1)
    b = np.clip(0.55 - 0.9 * w, 0, 1) * (1 - w) + 0.25 * w**4
    a = np.clip(0.15 + 0.7 * w, 0, 0.85)
    rgba = np.stack([r, g, b, a], axis=-1)
    rgba = (rgba * 255).astype(np.uint8)
    h, wd = w.shape
    img = QImage(rgba.tobytes(), wd, h, 4 * wd, QImage.Format.Format_RGBA8888)
    return img.copy()


class PreviewView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("Preview")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumHeight(180)
        self._pixmap: QPixmap | None = None
        self._message = ""
        self._heat: QImage | None = None
        self._word = ""

    def sizeHint(self) -> QSize:
        return QSize(360, 270)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        if self._pixmap is not None and not self._pixmap.isNull() and self._pixmap.width():
            ratio = self._pixmap.height() / self._pixmap.width()
            return int(min(max(width * ratio, 160), width * 1.1))
        return int(width * 0.66)

    def set_image(self, image: QImage | None, message: str = "") -> None:
        self._pixmap = QPixmap.fromImage(image) if image is not None and not image.isNull() else None
        self._message = message
        self._heat = None
        self.updateGeometry()
        self.update()

    def set_heat(self, weights: np.ndarray | None, word: str = "") -> None:
        self._heat = heat_image(weights) if weights is not None else None
        self._word = word
        self.update()

    @property
    def showing_heat(self) -> bool:
        return self._heat is not None

    def image_rect(self) -> QRectF:
        r = QRectF(self.rect())
        if self._pixmap is None:
            return r
        pw, ph = self._pixmap.width(), self._pixmap.height()
        scale = min(r.width() / pw, r.height() / ph)
        w, h = pw * scale, ph * scale
        return QRectF(r.center().x() - w / 2, r.center().y() - h / 2, w, h)

    def paintEvent(self, _event) -> None:
        t = style.current()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        path = QPainterPath()
        path.addRoundedRect(QRectF(self.rect()), 10, 10)
        p.setClipPath(path)
        p.fillRect(self.rect(), QColor(t.preview))
        if self._pixmap is None:
            p.setPen(QColor(t.muted))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._message)
            return
        target = self.image_rect()
        p.drawPixmap(target, self._pixmap, QRectF(self._pixmap.rect()))
        if self._heat is not None:
            p.fillRect(target, QColor(0, 0, 0, 70))
            p.drawImage(target, self._heat, QRectF(self._heat.rect()))
            if self._word:
                font = QFont(self.font())
                font.setPointSizeF(11)
                font.setWeight(QFont.Weight.DemiBold)
                p.setFont(font)
                label = QRectF(
                    target.left() + 10, target.bottom() - 38, p.fontMetrics().horizontalAdvance(self._word) + 20, 28
                )
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor(0, 0, 0, 150))
                p.drawRoundedRect(label, 8, 8)
                p.setPen(QColor("white"))
                p.drawText(label, Qt.AlignmentFlag.AlignCenter, self._word)
        p.end()

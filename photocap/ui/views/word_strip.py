"""The caption's words as chips; hovering one says which word the heat-map should show."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetricsF, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from photocap.ui import style

GAP, PAD_X, CHIP_H = 6.0, 8.0, 26.0


class WordStrip(QWidget):
    hovered = Signal(int)  # word index, -1 when the pointer leaves

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.words: tuple[str, ...] = ()
        self._rects: list[QRectF] = []
        self.hot = -1

    def set_words(self, words) -> None:
        self.words = tuple(words)
        self.hot = -1
        self._layout(self.width())
        self.updateGeometry()
        self.update()

    def _layout(self, width: float) -> float:
        fm = QFontMetricsF(self.font())
        x = y = 0.0
        self._rects = []
        for w in self.words:
            cw = fm.horizontalAdvance(w) + 2 * PAD_X
            if x > 0 and x + cw > width:
                x, y = 0.0, y + CHIP_H + GAP
            self._rects.append(QRectF(x, y, cw, CHIP_H))
            x += cw + GAP
        height = (y + CHIP_H) if self.words else 0.0
        self.setFixedHeight(int(height) + 2)
        return height

    def sizeHint(self) -> QSize:
        return QSize(300, self.height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._layout(event.size().width())

    def index_at(self, pos) -> int:
        return next((i for i, r in enumerate(self._rects) if r.contains(pos)), -1)

    def mouseMoveEvent(self, event) -> None:
        i = self.index_at(event.position())
        if i != self.hot:
            self.hot = i
            self.update()
            self.hovered.emit(i)

    def leaveEvent(self, _event) -> None:
        if self.hot != -1:
            self.hot = -1
            self.update()
            self.hovered.emit(-1)

    def paintEvent(self, _event) -> None:
        t = style.current()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        for i, (w, r) in enumerate(zip(self.words, self._rects)):
            hot = i == self.hot
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(t.accent if hot else t.hover))
            p.drawRoundedRect(r, 7, 7)
            p.setPen(QColor(t.on_accent if hot else t.text))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, w)
        p.end()

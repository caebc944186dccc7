"""The live training plot (pyqtgraph): training loss and the held-out score against steps,
side by side, each with the full height of the panel. Imported only when the Teach tab is first shown
(pyqtgraph takes a moment to import; the window must not wait for it)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from photocap.ui import style


class TeachPlot(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("TeachPlot")
        self.losses: list[tuple[int, float]] = []
        self.scores: list[tuple[int, float]] = []
        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumHeight(220)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view)
        self.loss_plot = self.view.addPlot(row=0, col=0)
        self.score_plot = self.view.addPlot(row=0, col=1)
        for plot in (self.loss_plot, self.score_plot):
            plot.setLabel("bottom", "step")
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.setMenuEnabled(False)
            plot.setLimits(yMin=0)  # losses and scores are never negative
            for axis in ("left", "bottom"):
                plot.getAxis(axis).enableAutoSIPrefix(False)  # no "(x0.001)" on small scores
        self.loss_curve = self.loss_plot.plot([], [])
        self.score_curve = self.score_plot.plot([], [], symbol="o", symbolSize=7)
        style.on_theme_change(self._apply_theme)

    def _apply_theme(self) -> None:
        t = style.current()
        self.view.setBackground(t.surface)
        self.loss_plot.setTitle("Training loss", color=t.muted, size="9pt")
        self.score_plot.setTitle("Held-out score (CIDEr)", color=t.muted, size="9pt")
        for plot in (self.loss_plot, self.score_plot):
            for axis in ("left", "bottom"):
                ax = plot.getAxis(axis)
                ax.setPen(pg.mkPen(t.border))
                ax.setTextPen(pg.mkPen(t.muted))
        self.loss_curve.setPen(pg.mkPen(t.accent, width=2))
        self.score_curve.setPen(pg.mkPen(t.ok, width=2))
        self.score_curve.setSymbolBrush(pg.mkBrush(t.ok))
        self.score_curve.setSymbolPen(pg.mkPen(t.ok))

    def clear(self) -> None:
        self.losses, self.scores = [], []
        self._redraw()

    def add(self, losses: list[tuple[int, float]], scores: list[tuple[int, float]]) -> None:
        if not losses and not scores:
            return
        self.losses.extend(losses)
        self.scores.extend(scores)
        self._redraw()

    def _redraw(self) -> None:
        self.loss_curve.setData([s for s, _ in self.losses], [v for _, v in self.losses])
        self.score_curve.setData([s for s, _ in self.scores], [v for _, v in self.scores])

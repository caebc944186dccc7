"""The live training plot (pyqtgraph): training loss and the held-out score against steps,
side by side, each with the full height of the panel. Imported only when the Teach tab is first shown
(pyqtgraph takes a moment to import; the window must not wait for it)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from photocap.ui import style

# A redraw re-ranges both plots and repaints their axes (~40 ms of the GUI thread on a busy
# 2-core machine, bench/gui_responsiveness.py --cases teach): new points are drawn at most
# this often, however fast they arrive.
REDRAW_MS = 400


class TeachPlot(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("TeachPlot")
        self.losses: list[tuple[int, float]] = []
        self.scores: list[tuple[int, float]] = []
        self.total_steps: int | None = None  # the run's planned steps: the x axis's end
        self._ranges: dict[int, tuple[float, float]] = {}  # id(plot) -> (x end, y top) last set
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
            plot.disableAutoRange()  # ranges are set by _fit, in steps (see there)
            for axis in ("left", "bottom"):
                plot.getAxis(axis).enableAutoSIPrefix(False)  # no "(x0.001)" on small scores
        self.loss_curve = self.loss_plot.plot([], [])
        self.loss_curve.setDownsampling(auto=True, method="peak")  # thousands of steps: a point per pixel
        self.loss_curve.setClipToView(True)
        self.score_curve = self.score_plot.plot([], [], symbol="o", symbolSize=7)
        self._redraw_soon = QTimer(self)
        self._redraw_soon.setSingleShot(True)
        self._redraw_soon.setInterval(REDRAW_MS)
        self._redraw_soon.timeout.connect(self._redraw)
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
        self.losses, self.scores, self.total_steps, self._ranges = [], [], None, {}
        self._redraw_soon.stop()
        self._redraw()

    def add(
        self, losses: list[tuple[int, float]], scores: list[tuple[int, float]], total_steps: int | None = None
    ) -> None:
        self.total_steps = total_steps or self.total_steps
        if not losses and not scores:
            return
        self.losses.extend(losses)
        self.scores.extend(scores)
        if not self._redraw_soon.isActive():
            self._redraw_soon.start()

    def _redraw(self) -> None:
        self.loss_curve.setData([s for s, _ in self.losses], [v for _, v in self.losses])
        self.score_curve.setData([s for s, _ in self.scores], [v for _, v in self.scores])
        last = max([s for s, _ in self.losses[-1:] + self.scores[-1:]], default=1)
        x_end = max(self.total_steps or 0, last, 1)
        self._fit(self.loss_plot, x_end, max((v for _, v in self.losses), default=1.0))
        self._fit(self.score_plot, x_end, max((v for _, v in self.scores), default=0.1))

    def _fit(self, plot, x_end: float, y_max: float) -> None:
        """Set ``plot``'s ranges only when they must change: x to the run's planned steps (it
        grows past them only if the run does), y with headroom, re-fitted when a value goes
        above it or everything falls far below it. Most redraws then repaint the curves and
        not the axes (re-laying out ticks and labels was most of a redraw's cost)."""
        x_set, y_set = self._ranges.get(id(plot), (0.0, 0.0))
        if x_end > x_set or x_end < x_set / 2:
            x_set = x_end
            plot.setXRange(0, x_set, padding=0.02)
        if y_max > y_set or y_max < y_set / 3:
            y_set = max(y_max, 1e-6) * 1.15
            plot.setYRange(0, y_set, padding=0)
        self._ranges[id(plot)] = (x_set, y_set)

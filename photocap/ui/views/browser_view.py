"""The library page's layout: sidebar | header + grid (or problems) | detail panel."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QStackedWidget, QVBoxLayout, QWidget

from photocap.ui.item_models.photo_grid import PhotoGridModel
from photocap.ui.views.detail_panel import DetailPanel
from photocap.ui.views.grid import PhotoGrid
from photocap.ui.views.header import Header
from photocap.ui.views.problems import ProblemsView
from photocap.ui.views.sidebar import Sidebar


class BrowserView(QSplitter):
    def __init__(self, grid_model: PhotoGridModel, thumb_size: int, parent=None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setChildrenCollapsible(False)
        self.setHandleWidth(1)
        self.sidebar = Sidebar()
        self.header = Header()
        self.grid = PhotoGrid(grid_model, thumb_size)
        self.problems = ProblemsView()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.grid)
        self.pages.addWidget(self.problems)
        center = QWidget()
        center.setObjectName("Center")
        lay = QVBoxLayout(center)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.header)
        lay.addWidget(self.pages, 1)
        self.detail = DetailPanel()
        self.addWidget(self.sidebar)
        self.addWidget(center)
        self.addWidget(self.detail)
        self.setStretchFactor(0, 0)
        self.setStretchFactor(1, 1)
        self.setStretchFactor(2, 0)
        self.setSizes([230, 800, 380])

    def show_problems(self, on: bool) -> None:
        self.pages.setCurrentWidget(self.problems if on else self.grid)

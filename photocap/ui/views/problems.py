"""The "Problems" place: files that could not be read, each with the reason."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem

from photocap.filenames import one_line, readable
from photocap.ui import style
from photocap.ui.text import plain_tooltip


class ProblemsView(QTreeWidget):
    reveal_requested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("ProblemsView")
        self.setColumnCount(3)
        self.setHeaderLabels(["File", "Why it could not be read", "Folder"])
        self.setRootIsDecorated(False)
        self.setAlternatingRowColors(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.header().setStretchLastSection(False)
        self.itemDoubleClicked.connect(
            lambda item, _c: self.reveal_requested.emit(item.data(0, Qt.ItemDataRole.UserRole))
        )
        self.empty_text = "No problems: every file could be read."

    def set_problems(self, problems: list) -> None:
        self.clear()
        icon = style.icon("problem", style.current().bad, 16)
        for p in problems:
            item = QTreeWidgetItem(
                [readable(os.path.basename(p.path)), one_line(p.reason), readable(os.path.dirname(p.path))]
            )
            item.setIcon(0, icon)
            item.setToolTip(0, plain_tooltip(readable(p.path)))
            item.setToolTip(1, plain_tooltip(p.reason))
            item.setData(0, Qt.ItemDataRole.UserRole, p.path)
            self.addTopLevelItem(item)

    def paths(self) -> list[str]:
        items = (self.topLevelItem(i) for i in range(self.topLevelItemCount()))
        return [item.data(0, Qt.ItemDataRole.UserRole) for item in items if item is not None]

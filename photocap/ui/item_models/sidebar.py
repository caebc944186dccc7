"""The sidebar's model: the smart collections and the watched folders, with counts.

Counts are read in one job on the library lane (``LibraryService.sidebar_counts``) and
applied here; the model is a QStandardItemModel whose items carry a ``Place`` (what the grid
should show when the item is picked).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel

from photocap.filenames import readable
from photocap.ui import style
from photocap.ui.jobs.library_service import SidebarCounts
from photocap.ui.text import plain_tooltip

PlaceRole = Qt.ItemDataRole.UserRole + 20
CountRole = Qt.ItemDataRole.UserRole + 21
HeaderRole = Qt.ItemDataRole.UserRole + 22


@dataclass(frozen=True)
class Place:
    kind: str  # all | user | review | problems | folder | add
    folder_id: int | None = None
    path: str | None = None
    title: str = ""

    def photo_filter(self):
        """The library filter for the grid (None for places that are not a photo list)."""
        from photocap.library.search import PhotoFilter

        if self.kind == "all":
            return PhotoFilter()
        if self.kind == "user":
            return PhotoFilter(sources=("user",))
        if self.kind == "review":
            return PhotoFilter(needs_review=True)
        if self.kind == "folder":
            return PhotoFilter(folder_id=self.folder_id)
        return None


ALL = Place("all", title="All photos")
EDITED = Place("user", title="Edited by me")
REVIEW = Place("review", title="Needs review")
PROBLEMS = Place("problems", title="Problems")
ADD = Place("add", title="Add folder…")


class SidebarModel(QStandardItemModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.counts: SidebarCounts | None = None
        self._rebuild([])

    def _header(self, text: str) -> QStandardItem:
        item = QStandardItem(text.upper())
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        item.setData(True, HeaderRole)
        return item

    def _entry(self, place: Place, icon: str, count: int | None = None, tooltip: str = "") -> QStandardItem:
        item = QStandardItem(style.icon(icon, style.current().muted), place.title)
        item.setData(place, PlaceRole)
        item.setData(count, CountRole)
        item.setEditable(False)
        if tooltip:
            item.setToolTip(plain_tooltip(tooltip))
        return item

    def _rebuild(self, folders: list) -> None:
        c = self.counts
        self.clear()
        self.appendRow(self._header("Library"))
        self.appendRow(self._entry(ALL, "photos", c.all if c else None))
        self.appendRow(self._entry(EDITED, "edit", c.user if c else None))
        self.appendRow(
            self._entry(REVIEW, "review", c.review if c else None, "Automatic captions you have not looked at yet")
        )
        self.appendRow(
            self._entry(PROBLEMS, "problem", c.problems if c else None, "Files that could not be read, with the reason")
        )
        self.appendRow(self._header("Folders"))
        for f in folders:
            name = readable(os.path.basename(f.path.rstrip(os.sep)) or f.path)
            place = Place("folder", f.id, f.path, name)
            tip = readable(f.path) + ("" if f.status == "ok" else "\nThis folder is missing (unplugged or deleted).")
            item = self._entry(place, "folder", f.photo_count, tip)
            if f.status != "ok":
                item.setEnabled(True)
                item.setText(f"{name} (missing)")
            self.appendRow(item)
        self.appendRow(self._entry(ADD, "plus"))

    def apply(self, counts: SidebarCounts) -> None:
        self.counts = counts
        self._rebuild(counts.folders)

    def row_for(self, place: Place) -> int | None:
        for row in range(self.rowCount()):
            p = self.item(row).data(PlaceRole)
            if p is not None and p.kind == place.kind and p.folder_id == place.folder_id:
                return row
        return None

"""The sidebar: smart collections and watched folders, with counts."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QLabel,
    QListView,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from photocap.ui import style
from photocap.ui.item_models.sidebar import ALL, CountRole, HeaderRole, Place, PlaceRole, SidebarModel
from photocap.ui.jobs.library_service import SidebarCounts


class _Delegate(QStyledItemDelegate):
    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(option.rect.width(), 30 if index.data(HeaderRole) else 34)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        t = style.current()
        if index.data(HeaderRole):
            painter.save()
            font = QFont(option.font)
            font.setPointSizeF(8.0)
            font.setWeight(QFont.Weight.DemiBold)
            font.setLetterSpacing(QFont.SpacingType.PercentageSpacing, 108)
            painter.setFont(font)
            painter.setPen(QColor(t.muted))
            painter.drawText(
                option.rect.adjusted(10, 10, 0, 0),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                index.data(),
            )
            painter.restore()
            return
        count = index.data(CountRole)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if selected or hovered:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(t.accent_soft if selected else t.hover))
            painter.drawRoundedRect(QRectF(option.rect).adjusted(2, 1, -2, -1), 7, 7)
        icon = index.data(Qt.ItemDataRole.DecorationRole)
        if icon is not None:
            r0 = option.rect
            icon.paint(painter, r0.left() + 12, r0.top() + (r0.height() - 18) // 2, 18, 18)
        painter.restore()
        painter.save()
        r = option.rect.adjusted(38, 0, -12, 0)
        painter.setPen(QColor(t.text))
        if selected:
            font = QFont(option.font)
            font.setWeight(QFont.Weight.DemiBold)
            painter.setFont(font)
        count_text = f"{count:,}" if count is not None else ""
        reserve = painter.fontMetrics().horizontalAdvance(count_text) + 10 if count_text else 0
        text = painter.fontMetrics().elidedText(index.data(), Qt.TextElideMode.ElideRight, r.width() - reserve)
        painter.drawText(r, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        if count is not None:
            painter.setFont(option.font)
            painter.setPen(QColor(t.muted))
            painter.drawText(QRectF(r), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, count_text)
        painter.restore()


class Sidebar(QWidget):
    place_selected = Signal(object)  # Place
    add_folder_requested = Signal()
    rescan_requested = Signal(object)  # Place (folder)
    remove_requested = Signal(object)  # Place (folder)
    reveal_requested = Signal(str)  # a folder path

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("Sidebar")
        self.setMinimumWidth(210)
        self.model = SidebarModel(self)
        title = QLabel("photocap")
        title.setObjectName("AppTitle")
        self.list = QListView()
        self.list.setObjectName("SidebarList")
        self.list.setModel(self.model)
        self.list.setItemDelegate(_Delegate(self.list))
        self.list.setIconSize(QSize(18, 18))
        self.list.setMouseTracking(True)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.clicked.connect(self._on_clicked)
        self.list.selectionModel().currentChanged.connect(self._on_current)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 8)
        layout.setSpacing(4)
        layout.addWidget(title)
        layout.addWidget(self.list, 1)
        self.current: Place = ALL
        self.select(ALL)
        style.on_theme_change(self._retheme)

    def _retheme(self) -> None:  # the icons are drawn in the theme's colours
        if self.model.counts is not None:
            self.apply_counts(self.model.counts)

    def apply_counts(self, counts: SidebarCounts) -> None:
        keep = self.current
        self.list.selectionModel().blockSignals(True)
        self.model.apply(counts)
        self.list.selectionModel().blockSignals(False)
        if not self.select(keep, emit=False):
            self.select(ALL)  # the folder went away

    def select(self, place: Place, emit: bool = True) -> bool:
        row = self.model.row_for(place)
        if row is None:
            return False
        sm = self.list.selectionModel()
        if not emit:
            sm.blockSignals(True)
        self.list.setCurrentIndex(self.model.index(row, 0))
        sm.blockSignals(False)
        if not emit:
            self.current = self.model.item(row).data(PlaceRole)
        return True

    def _on_current(self, current: QModelIndex, _prev: QModelIndex) -> None:
        place = current.data(PlaceRole)
        if place is None or place.kind == "add":
            return
        self.current = place
        self.place_selected.emit(place)

    def _on_clicked(self, index: QModelIndex) -> None:
        place = index.data(PlaceRole)
        if place is not None and place.kind == "add":
            self.select(self.current, emit=False)
            self.add_folder_requested.emit()

    def _menu(self, pos) -> None:
        place: Place | None = self.list.indexAt(pos).data(PlaceRole)
        if place is None or place.kind != "folder":
            return
        menu = QMenu(self)
        menu.addAction("Rescan", lambda: self.rescan_requested.emit(place))
        menu.addAction("Show in file manager", lambda: self.reveal_requested.emit(place.path))
        menu.addSeparator()
        menu.addAction("Remove from library…", lambda: self.remove_requested.emit(place))
        menu.exec(self.list.viewport().mapToGlobal(pos))

"""The thumbnail grid: a QListView (icon mode, static) with uniform, width-filling cells.

It tells the world which photos are on screen (``visible_changed``, throttled) so they
are captioned first, keeps the selection and scroll position across refreshes, and
shows a short message when there is nothing to show.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QAbstractItemView, QListView

from photocap.ui import style
from photocap.ui.item_models.photo_grid import IdRole, PhotoGridModel, SummaryRole
from photocap.ui.views.grid_delegate import PAD, PhotoDelegate

CAPTION_HEIGHT = 44


class PhotoGrid(QListView):
    photo_selected = Signal(object)  # photo id or None
    photo_activated = Signal(int)  # double-click / Enter: edit its caption
    visible_changed = Signal(list)  # ids on screen now
    menu_requested = Signal(object, object)  # PhotoSummary of the photo right-clicked, global QPoint

    def __init__(self, model: PhotoGridModel, thumb_size: int = 192, parent=None):
        super().__init__(parent)
        self._laid_out_for = -1
        self.setObjectName("PhotoGrid")
        # Icon mode: in list mode Qt 6 lays out every row again on each dataChanged (a
        # thumbnail arriving), measured 4-38 ms with 50,000 photos; icon mode repaints the cell.
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.SinglePass)
        self.setSpacing(0)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        # Always on (thin and transparent in the style sheet): the view lays out for the
        # width *minus the style's scroll bar extent* when the bar is "as needed", which
        # wrapped the last column away; with it always on the viewport width is the truth.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.verticalScrollBar().setSingleStep(24)
        self.setMouseTracking(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setContentsMargins(12, 12, 12, 12)
        self.setViewportMargins(10, 10, 4, 10)
        self._delegate = PhotoDelegate(self)
        self.setItemDelegate(self._delegate)
        self.setModel(model)
        self.grid_model = model
        self.thumb_size = thumb_size
        self.empty_message = ""
        self._keep_id: int | None = None
        self._keep_scroll = 0
        self._visible_timer = QTimer(self, singleShot=True, interval=120)
        self._visible_timer.timeout.connect(self._emit_visible)
        self.selectionModel().currentChanged.connect(self._on_current)
        self.verticalScrollBar().valueChanged.connect(lambda _v: self._visible_timer.start())
        model.modelAboutToBeReset.connect(self._before_reset)
        model.modelReset.connect(self._after_reset)
        model.dataChanged.connect(lambda *_: self._visible_timer.start())
        self.doubleClicked.connect(lambda ix: self.photo_activated.emit(ix.data(IdRole)))
        self._relayout()

    # ---- geometry ------------------------------------------------------------------------
    def set_thumb_size(self, size: int) -> None:
        self.thumb_size = size
        self._relayout()

    def _relayout(self) -> None:
        """Fill the width: as many columns as fit at ``thumb_size``, then share the slack."""
        self._laid_out_for = self.viewport().width()
        width = max(1, self.viewport().width() - 1)
        cell_min = self.thumb_size + 2 * PAD + 6
        cols = max(1, width // cell_min)
        cell_w = width // cols
        cell = QSize(cell_w, cell_w + CAPTION_HEIGHT)
        if cell != self._delegate.cell:
            self._delegate.set_cell(cell)
            self.setGridSize(cell)
        self._visible_timer.start()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._relayout()

    def updateGeometries(self) -> None:
        super().updateGeometries()
        if self.viewport().width() != self._laid_out_for:
            QTimer.singleShot(0, self._relayout)

    # ---- what is on screen -----------------------------------------------------------------
    def visible_ids(self) -> list[int]:
        model = self.grid_model
        n = model.rowCount()
        if n == 0:
            return []
        vp = self.viewport().rect()
        first = self.indexAt(vp.topLeft() + self._nudge())
        first_row = first.row() if first.isValid() else 0
        cols = max(1, vp.width() // max(1, self._delegate.cell.width()))
        rows = vp.height() // max(1, self._delegate.cell.height()) + 2
        last_row = min(n - 1, first_row + cols * rows)
        return [pid for r in range(first_row, last_row + 1) if (pid := model.photo_id(r)) is not None]

    def _nudge(self):
        from PySide6.QtCore import QPoint

        return QPoint(self._delegate.cell.width() // 2, self._delegate.cell.height() // 2)

    def _emit_visible(self) -> None:
        self.visible_changed.emit(self.visible_ids())

    # ---- selection -----------------------------------------------------------------------------
    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.photo_selected.emit(current.data(IdRole) if current.isValid() else None)

    def select_id(self, photo_id: int | None) -> bool:
        row = self.grid_model.row_of(photo_id) if photo_id is not None else None
        if row is None:
            return False
        index = self.grid_model.index(row)
        self.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        return True

    def current_id(self) -> int | None:
        ix = self.currentIndex()
        return ix.data(IdRole) if ix.isValid() else None

    def _before_reset(self) -> None:
        self._keep_id = self.current_id()
        self._keep_scroll = self.verticalScrollBar().value()

    def _after_reset(self) -> None:
        keep, scroll = self._keep_id, self._keep_scroll
        QTimer.singleShot(0, lambda: self._restore(keep, scroll))

    def _restore(self, keep: int | None, scroll: int) -> None:
        self.verticalScrollBar().setValue(scroll)
        if keep is not None and not self.select_id(keep):
            self.photo_selected.emit(None)
        self._visible_timer.start()

    # ---- keys and the empty message -----------------------------------------------------------
    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.photo_activated.emit(self.current_id())
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event) -> None:
        index = self.indexAt(event.pos())
        summary = index.data(SummaryRole) if index.isValid() else None
        if summary is None:
            return
        self.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.menu_requested.emit(summary, event.globalPos())

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.grid_model.rowCount() == 0 and self.empty_message:
            painter = QPainter(self.viewport())
            font = QFont(self.font())
            font.setPointSizeF(11.5)
            painter.setFont(font)
            painter.setPen(QColor(style.current().muted))
            rect = QRect(self.viewport().rect()).adjusted(40, 0, -40, -80)
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.empty_message)
            painter.end()

    def set_pending_text(self, text: str) -> None:
        """What a photo without a caption says ("Describing…", or why it is not)."""
        if text != self._delegate.pending_text:
            self._delegate.pending_text = text
            self.viewport().update()

    def set_empty_message(self, text: str) -> None:
        self.empty_message = text
        self.viewport().update()

"""Paints one grid cell: a rounded, centre-cropped thumbnail (or a placeholder), a small
badge for edited / unreviewed / unreadable photos, and two lines of caption with the
search words highlighted."""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from photocap.ui import style
from photocap.ui.item_models.photo_grid import IdRole, SnippetRole, SummaryRole, TermsRole
from photocap.ui.text import highlight_runs, marked_runs

PAD = 8
CAPTION_LINES = 2
_TOKEN = re.compile(r"\s+|\S+")


def layout_caption(
    runs, fonts: tuple[QFontMetricsF, QFontMetricsF], width: float, max_lines: int
) -> list[list[tuple[float, str, bool]]]:
    """Word-wrap (text, bold) runs into at most ``max_lines`` lines of (x, text, bold);
    the last line is elided with "…" when the text does not fit."""
    lines: list[list[tuple[float, str, bool]]] = [[]]
    x = 0.0
    tokens = [(t, bold) for text, bold in runs for t in _TOKEN.findall(text)]
    for i, (tok, bold) in enumerate(tokens):
        fm = fonts[bold]
        w = fm.horizontalAdvance(tok)
        if tok.isspace():
            if lines[-1]:
                x += fonts[0].horizontalAdvance(" ")
            continue
        if x + w > width and lines[-1]:
            if len(lines) == max_lines:
                rest = "".join(t for t, _ in tokens[i:])
                lines[-1].append((x, fm.elidedText(rest, Qt.TextElideMode.ElideRight, max(0.0, width - x)), bold))
                return lines
            lines.append([])
            x = 0.0
        if w > width:  # a single very long word
            tok = fm.elidedText(tok, Qt.TextElideMode.ElideRight, width - x)
            w = fm.horizontalAdvance(tok)
        lines[-1].append((x, tok, bold))
        x += w
    return lines


def lead_to_match(runs: list[tuple[str, bool]], keep_words: int = 2) -> list[tuple[str, bool]]:
    """Start a one-line snippet shortly before its first match ("… alp balloon volcano")."""
    first = next((i for i, (_t, matched) in enumerate(runs) if matched), None)
    if not first:
        return runs
    before = "".join(t for t, _ in runs[:first]).split()
    if len(before) <= keep_words:
        return runs
    return [("… " + " ".join(before[-keep_words:]) + " ", False), *runs[first:]]


_Piece = tuple[float, str, bool, bool]  # x, text, bold, an aside (words matched elsewhere: drawn muted)


def _pieces(lines: list[list[tuple[float, str, bool]]], aside: bool) -> list[list[_Piece]]:
    return [[(x, t, b, aside) for x, t, b in line] for line in lines]


class PhotoDelegate(QStyledItemDelegate):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.cell = QSize(200, 250)
        self.pending_text = "Describing…"  # under a photo with no caption yet
        self._layouts: OrderedDict[tuple[Any, ...], list[list[_Piece]]] = OrderedDict()

    def set_cell(self, size: QSize) -> None:
        self.cell = size
        self._layouts.clear()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return self.cell

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        t = style.current()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        r = QRectF(option.rect).adjusted(3, 3, -3, -3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        if selected or hovered:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(t.accent_soft if selected else t.hover))
            painter.drawRoundedRect(r, 12, 12)
        side = r.width() - 2 * PAD
        thumb = QRectF(r.left() + PAD, r.top() + PAD, side, side)
        self._paint_thumb(painter, thumb, index, t)
        summary = index.data(SummaryRole)
        self._paint_badge(painter, thumb, summary, t)
        text_rect = QRectF(thumb.left() + 2, thumb.bottom() + 7, side - 4, r.bottom() - thumb.bottom() - 7)
        self._paint_caption(painter, text_rect, index, summary, t)
        if selected:
            painter.setPen(QColor(t.accent))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            pen = painter.pen()
            pen.setWidthF(2.0)
            painter.setPen(pen)
            painter.drawRoundedRect(thumb.adjusted(-1, -1, 1, 1), 9, 9)
        painter.restore()

    def _paint_thumb(self, painter: QPainter, rect: QRectF, index: QModelIndex | QPersistentModelIndex, t) -> None:
        path = QPainterPath()
        path.addRoundedRect(rect, 8, 8)
        painter.save()
        painter.setClipPath(path)
        pm = index.data(Qt.ItemDataRole.DecorationRole)
        if pm is None or pm.isNull():
            painter.fillRect(rect, QColor(t.preview))
        else:
            # centre-crop to a square ("cover"), at the device pixel ratio of the view
            w, h = pm.width(), pm.height()
            s = min(w, h)
            src = QRectF((w - s) / 2, (h - s) / 2, s, s)
            painter.drawPixmap(rect, pm, src)
        painter.restore()

    def _paint_badge(self, painter: QPainter, thumb: QRectF, summary, t) -> None:
        if summary is None:
            return
        if summary.status != "ok":
            name, fg, bg = "problem", t.bad, t.bad_soft
        elif summary.caption_source == "user":
            name, fg, bg = "edit", t.ok, t.ok_soft
        elif summary.needs_review:
            painter.setPen(QColor(t.surface))
            painter.setBrush(QColor(t.accent))
            painter.drawEllipse(QPointF(thumb.right() - 11, thumb.top() + 11), 5, 5)
            return
        else:
            return
        d = 24
        badge = QRectF(thumb.right() - d - 6, thumb.top() + 6, d, d)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(bg))
        painter.drawEllipse(badge)
        style.icon(name, fg, 14).paint(painter, badge.adjusted(5, 5, -5, -5).toRect())

    def _paint_caption(
        self, painter: QPainter, rect: QRectF, index: QModelIndex | QPersistentModelIndex, summary, t
    ) -> None:
        base = QFont(painter.font())
        base.setPointSizeF(9.0)
        if summary is None:
            painter.setPen(QColor(t.muted))
            painter.setFont(base)
            painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, "…")
            return
        if summary.status != "ok":
            text, color = "Could not be read", QColor(t.bad)
        elif summary.caption:
            text, color = summary.caption, QColor(t.text)
        else:
            text, color = self.pending_text, QColor(t.muted)
        terms = index.data(TermsRole) or ()
        snippet = index.data(SnippetRole) if terms else None
        bold = QFont(base)
        bold.setWeight(QFont.Weight.Bold)
        key = (index.data(IdRole), text, terms, snippet, round(rect.width()))
        lines = self._layouts.get(key)
        if lines is None:
            fonts = (QFontMetricsF(base), QFontMetricsF(bold))
            if snippet:  # the words matched elsewhere (tags, file or folder name): say where
                lines = _pieces(layout_caption(highlight_runs(text, terms), fonts, rect.width(), 1), aside=False)
                lines += _pieces(
                    layout_caption(lead_to_match(marked_runs(snippet)), fonts, rect.width(), 1), aside=True
                )
            else:
                lines = _pieces(
                    layout_caption(highlight_runs(text, terms), fonts, rect.width(), CAPTION_LINES), aside=False
                )
            self._layouts[key] = lines
            if len(self._layouts) > 4000:
                self._layouts.popitem(last=False)
        else:
            self._layouts.move_to_end(key)
        fm = QFontMetricsF(base)
        y = rect.top() + fm.ascent()
        muted = QColor(t.muted)
        for line in lines:
            for x, piece, is_bold, aside in line:
                painter.setFont(bold if is_bold else base)
                if is_bold:
                    w = QFontMetricsF(bold).horizontalAdvance(piece)
                    painter.fillRect(
                        QRectF(rect.left() + x - 1, y - fm.ascent(), w + 2, fm.height()), QColor(t.highlight)
                    )
                painter.setPen(muted if aside and not is_bold else color)
                painter.drawText(QPointF(rect.left() + x, y), piece)
            y += fm.lineSpacing()

"""The detail panel: preview, editable caption with its source, tags, facts, history,
and (for an attention model) the heat-map of each word over the photo."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photocap.filenames import readable
from photocap.library.records import PhotoDetail
from photocap.ui import style
from photocap.ui.text import human_date, human_size
from photocap.ui.views.caption_editor import CaptionEditor
from photocap.ui.views.preview import PreviewView
from photocap.ui.views.word_strip import WordStrip


def sureness(detail, fell_back: bool = False) -> str:
    """' · 82% sure' when the model said how sure it was of the current caption; for tags the
    taught model fell back to, ' · model unsure (31%)'."""
    confidence = detail.history[-1].confidence if detail.history else None
    if not isinstance(confidence, float):
        return ""
    return f" · model unsure ({confidence:.0%})" if fell_back else f" · {confidence:.0%} sure"


def badge_for(detail) -> tuple[str, str]:
    """(kind, text) for the caption's origin (and, for automatic ones, how sure the model was)."""
    if detail.status == "error":
        return "error", "Could not be read"
    src, model = detail.caption_source, detail.caption_model or ""
    if src == "user":
        return "user", "Your caption"
    if src == "model":
        return "model", (f"Model {model[:12]}" if model else "Model") + sureness(detail)
    if src == "tags":
        return "tags", "ImageNet tags" + (f" · {model.split(':', 1)[-1]}" if model else "") + sureness(detail, True)
    if src == "imported":  # written by a person in another app; ``caption_model`` holds where it was read
        return "user", f"Imported · {model}" if model else "Imported"
    return "none", "No caption yet"


def _label(text: str, name: str = "FieldLabel") -> QLabel:
    """A label for text that may come from files (names, EXIF, captions): shown as typed,
    never as rich text, so a file named ``<b>x</b><img src=...>.jpg`` is just that name."""
    lab = QLabel(text)
    lab.setObjectName(name)
    lab.setTextFormat(Qt.TextFormat.PlainText)
    return lab


class DetailPanel(QFrame):
    save_requested = Signal(int, str)  # photo id, new caption
    reviewed_requested = Signal(int)
    reveal_requested = Signal(str)  # path
    preview_wanted = Signal(str)  # path
    attention_wanted = Signal(int, str, str)  # photo id, path, caption

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("DetailPanel")
        self.setMinimumWidth(320)
        self.detail: PhotoDetail | None = None
        self.attention_available = False
        self._maps = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer.addWidget(scroll)
        body = QWidget()
        body.setObjectName("DetailBody")
        body.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, False)
        scroll.setWidget(body)
        scroll.viewport().setAutoFillBackground(False)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(18, 18, 18, 18)
        lay.setSpacing(10)

        self.placeholder = _label("Select a photo to see its caption and details.", "Placeholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setMinimumHeight(420)
        lay.addWidget(self.placeholder)

        self.content = QWidget()
        c = QVBoxLayout(self.content)
        c.setContentsMargins(0, 0, 0, 0)
        c.setSpacing(10)
        lay.addWidget(self.content)
        lay.addStretch(1)

        self.preview = PreviewView()
        c.addWidget(self.preview)

        row = QHBoxLayout()
        self.badge = _label("", "Badge")
        row.addWidget(self.badge)
        row.addStretch(1)
        self.heat_button = QToolButton()
        self.heat_button.setCheckable(True)
        self.heat_button.setToolTip("Show where the model looked for each word (hover a word)")
        self.heat_button.toggled.connect(self._on_heat_toggled)
        self.heat_button.hide()
        row.addWidget(self.heat_button)
        self.edit_button = QToolButton()
        self.edit_button.setToolTip("Edit the caption (F2)")
        row.addWidget(self.edit_button)
        c.addLayout(row)

        self.editor = CaptionEditor()
        self.editor.committed.connect(self._on_committed)
        self.edit_button.clicked.connect(self.editor.begin_edit)
        c.addWidget(self.editor)
        self.save_error = _label("", "SaveError")  # a save that failed: why, next to the kept text
        self.save_error.setWordWrap(True)
        self.save_error.hide()
        self.editor.editing_changed.connect(self._on_editing_changed)
        c.addWidget(self.save_error)
        self.hint = _label("F2 or double-click to edit · Enter saves · Esc cancels", "CaptionHint")
        c.addWidget(self.hint)
        self.words = WordStrip()
        self.words.hovered.connect(self._on_word_hovered)
        self.words.hide()
        c.addWidget(self.words)

        self.error_box = _label("", "FieldValue")
        self.error_box.setWordWrap(True)
        c.addWidget(self.error_box)

        self.review_button = QPushButton("Mark as reviewed")
        self.review_button.setToolTip("The automatic caption is right (Ctrl+R)")
        self.review_button.clicked.connect(self._on_review)
        c.addWidget(self.review_button, 0, Qt.AlignmentFlag.AlignLeft)

        c.addSpacing(6)
        self.tags_title = _label("TAGS")
        c.addWidget(self.tags_title)
        self.tags_grid = QGridLayout()
        self.tags_grid.setHorizontalSpacing(10)
        self.tags_grid.setVerticalSpacing(6)
        c.addLayout(self.tags_grid)

        c.addSpacing(6)
        c.addWidget(_label("DETAILS"))
        self.facts = QGridLayout()
        self.facts.setHorizontalSpacing(14)
        self.facts.setVerticalSpacing(6)
        c.addLayout(self.facts)
        self.reveal_button = QToolButton()
        self.reveal_button.setObjectName("Link")
        self.reveal_button.setText("Show in file manager")
        self.reveal_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.reveal_button.clicked.connect(lambda: self.detail and self.reveal_requested.emit(self.detail.path))
        c.addWidget(self.reveal_button, 0, Qt.AlignmentFlag.AlignLeft)

        c.addSpacing(6)
        self.history_title = _label("HISTORY")
        c.addWidget(self.history_title)
        self.history = _label("", "FieldValue")
        self.history.setWordWrap(True)
        self.history.setTextFormat(Qt.TextFormat.RichText)
        c.addWidget(self.history)
        self.show_detail(None)
        style.on_theme_change(self._apply_icons)

    def _apply_icons(self) -> None:
        self.heat_button.setIcon(style.icon("heat", size=18))
        self.edit_button.setIcon(style.icon("edit", size=18))
        self.reveal_button.setIcon(style.icon("open-external", style.current().accent, 16))
        if self.detail is not None:
            self._fill_history(self.detail.history)

    # ---- showing a photo ---------------------------------------------------------------------
    @property
    def photo_id(self) -> int | None:
        return self.detail.id if self.detail is not None else None

    def show_detail(self, detail) -> None:
        """Show ``detail`` (a PhotoDetail) or the placeholder; a pending edit is saved first."""
        if self.editor.editing and self.detail is not None and (detail is None or detail.id != self.detail.id):
            self.editor.commit()
        same_photo = detail is not None and self.detail is not None and detail.id == self.detail.id
        self.detail = detail
        self.placeholder.setVisible(detail is None)
        self.content.setVisible(detail is not None)
        if detail is None:
            return
        if not self.editor.editing:
            self.editor.set_caption(detail.caption)
        kind, text = badge_for(detail)
        self.badge.setText(text)
        self.badge.setProperty("kind", kind)
        self.badge.style().unpolish(self.badge)
        self.badge.style().polish(self.badge)
        self.error_box.setVisible(detail.status != "ok")
        if detail.status == "error":
            self.error_box.setText(f"⚠  {detail.error or 'This file could not be read.'}")
        elif detail.status == "missing":
            self.error_box.setText(
                "This file is missing (moved, deleted or on a disk that is not plugged in). Its captions are kept."
            )
        self.review_button.setVisible(detail.needs_review and not self.editor.locked)
        self._fill_tags(detail.tags)
        self._fill_facts(detail)
        self._fill_history(detail.history)
        if not same_photo:
            self._maps = None
            self.words.set_words(())
            self.preview.set_image(None, "Loading…")
            self.preview_wanted.emit(detail.path)
        self._update_attention_ui()

    def set_preview(self, path: str, image: QImage | None, reason: str | None) -> None:
        if self.detail is None or path != self.detail.path:
            return  # an answer for a photo no longer shown
        self.preview.set_image(image, reason or "")
        if self._maps is not None and self.words.hot >= 0:
            self._on_word_hovered(self.words.hot)

    def _on_editing_changed(self, on: bool) -> None:
        if not on:
            self.save_error.hide()

    def _fill_tags(self, tags) -> None:
        while (item := self.tags_grid.takeAt(0)) is not None:
            if (widget := item.widget()) is not None:
                widget.deleteLater()
        self.tags_title.setVisible(bool(tags))
        for i, (label, prob) in enumerate(tags[:5]):
            name = _label(label, "FieldValue")
            bar = QProgressBar()
            bar.setObjectName("TagBar")
            bar.setRange(0, 1000)
            bar.setValue(int(prob * 1000))
            bar.setTextVisible(False)
            bar.setFixedWidth(90)
            pct = _label(f"{prob:.0%}", "CaptionHint")
            pct.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.tags_grid.addWidget(name, i, 0)
            self.tags_grid.addWidget(bar, i, 1)
            self.tags_grid.addWidget(pct, i, 2)
        self.tags_grid.setColumnStretch(0, 1)

    def _fill_facts(self, d) -> None:
        while (item := self.facts.takeAt(0)) is not None:
            if (widget := item.widget()) is not None:
                widget.deleteLater()
        dims = f"{d.width:,} × {d.height:,}" if d.width and d.height else "—"
        rows = [
            ("Date taken", human_date(d.taken_at)),
            ("Camera", d.camera or "—"),
            ("Dimensions", dims + (f" · {d.format}" if d.format else "")),
            ("File size", human_size(d.size)),
            ("File", readable(os.path.basename(d.path))),
            ("Folder", readable(os.path.dirname(d.path))),
        ]
        for i, (k, v) in enumerate(rows):
            key = _label(k, "CaptionHint")
            val = _label(v, "FieldValue")
            val.setWordWrap(True)
            val.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.facts.addWidget(key, i, 0, Qt.AlignmentFlag.AlignTop)
            self.facts.addWidget(val, i, 1)
        self.facts.setColumnStretch(1, 1)

    def _fill_history(self, history) -> None:
        older = list(reversed(history[:-1])) if history else []
        self.history_title.setVisible(bool(older))
        self.history.setVisible(bool(older))
        muted = style.current().muted
        lines = []
        for rec in older[:10]:
            src = {"user": "you", "model": f"model {rec.model_id or ''}", "tags": "tags"}.get(rec.source, rec.source)
            when = rec.created_at.strftime("%Y-%m-%d %H:%M") if rec.created_at else ""
            lines.append(
                f"{_esc(rec.text)}<br><span style='color:{muted}; font-size:8.5pt'>{_esc(src)} · {when}</span>"
            )
        self.history.setText("<br>".join(lines))

    # ---- editing -------------------------------------------------------------------------------
    def set_read_only(self, reason: str | None) -> None:
        """A read-only library (``reason`` says why) shows captions but offers no editing."""
        self.editor.locked = reason is not None
        self.edit_button.setEnabled(reason is None)
        self.edit_button.setToolTip(
            "Edit the caption (F2)"
            if reason is None
            else f"The library is read-only ({reason}): captions cannot be changed"
        )
        self.hint.setText(
            "F2 or double-click to edit · Enter saves · Esc cancels"
            if reason is None
            else "Read-only library: captions cannot be changed"
        )
        self.hint.setToolTip("" if reason is None else f"The library is read-only: {reason}")
        if reason is not None:
            self.review_button.hide()

    def begin_edit(self) -> None:
        if self.detail is not None:
            self.editor.begin_edit()

    def _on_committed(self, text: str) -> None:
        if self.detail is not None:
            self.save_requested.emit(self.detail.id, text)

    def show_save_failed(self, photo_id: int, text: str, why: str) -> None:
        """The caption ``text`` for ``photo_id`` was not saved: the stored caption is back on
        screen as the saved one, and ``text`` waits in the editor with the reason beside it."""
        if self.detail is None or self.detail.id != photo_id:
            return  # another photo is shown; the status bar says it (see the main window)
        self.editor.retry(text, self.detail.caption)
        self.save_error.setText(f"Not saved: {why}. Your text is kept: Enter tries again, Esc gives it up.")
        self.save_error.show()

    def _on_review(self) -> None:
        if self.detail is not None:
            self.reviewed_requested.emit(self.detail.id)

    # ---- attention ---------------------------------------------------------------------------------
    def set_attention_available(self, available: bool) -> None:
        self.attention_available = available
        if not available:
            self.heat_button.setChecked(False)
        self._update_attention_ui()

    def _update_attention_ui(self) -> None:
        d = self.detail
        usable = self.attention_available and d is not None and d.status == "ok" and bool(d.caption)
        self.heat_button.setVisible(usable)
        on = usable and self.heat_button.isChecked()
        self.words.setVisible(on)
        if on and d is not None and (self._maps is None or self._maps.photo_id != d.id or self._maps.text != d.caption):
            self.attention_wanted.emit(d.id, d.path, d.caption)
        if not on:
            self.preview.set_heat(None)

    def _on_heat_toggled(self, _on: bool) -> None:
        self._update_attention_ui()

    def set_attention(self, maps) -> None:
        d = self.detail
        if maps is None or d is None or maps.photo_id != d.id or maps.text != d.caption:
            return
        self._maps = maps
        self.words.set_words(maps.words)

    def _on_word_hovered(self, i: int) -> None:
        if self._maps is None or i < 0 or i >= len(self._maps.words):
            self.preview.set_heat(None)
            return
        self.preview.set_heat(self._maps.maps[i], self._maps.words[i])


def _esc(text: str) -> str:
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

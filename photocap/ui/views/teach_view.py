"""The Teach tab: how many captions you wrote, which model describes your photos and where it
came from, "Teach from my captions" with a live view (plot, progress, speed, time left,
pause / resume / cancel), the model versions (compare, activate, roll back, rename, remove),
and bringing a model (import a file, drop it here, or train one from a dataset).

Only widgets here: every request leaves as a signal; :mod:`photocap.ui.teacher` does the work.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photocap.ui.item_models.model_versions import (
    ActiveRole,
    ModelIdRole,
    ModelVersionsModel,
    lineage,
    rollback_target,
    version_name,
)
from photocap.ui.views.status_bar import format_eta
from photocap.ui.views.teach_compare import CompareView


def _label(text: str = "", name: str = "FieldValue", wrap: bool = True) -> QLabel:
    lab = QLabel(text)
    lab.setObjectName(name)
    lab.setWordWrap(wrap)
    return lab


def describe_run(p) -> str:
    """'Epoch 3 · step 120 of 400 · 4.2 steps/s · about 2 min left' (or the feature pass)."""
    if p.phase == "features":
        text = f"Looking at your photos · {p.features_done:,} of {p.features_total:,}"
        eta = format_eta(p.eta_s)
        return f"{text} · {eta}" if eta else text
    if p.phase == "starting":
        return "Getting ready…"
    parts = [f"Epoch {p.epoch + 1}", f"step {p.step:,}" + (f" of {p.total_steps:,}" if p.total_steps else "")]
    if p.phase == "paused":
        parts.append("paused")
        return " · ".join(parts)
    if p.steps_per_s > 0:
        parts.append(f"{p.steps_per_s:.1f} steps/s")
    eta = format_eta(p.eta_s)
    if eta:
        parts.append(eta)
    return " · ".join(parts)


class Card(QFrame):
    def __init__(self, title: str, parent=None):
        super().__init__(parent)
        self.setObjectName("TeachCard")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 12, 16, 12)
        lay.setSpacing(4)
        lay.addWidget(_label(title.upper(), "FieldLabel"))
        self.big = _label("—", "TeachBig")
        lay.addWidget(self.big)
        self.small = _label("", "CaptionHint")
        lay.addWidget(self.small)
        lay.addStretch(1)


class Banner(QFrame):
    """One message at a time, with up to two actions ("Resume", "Discard", "Compare")."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("TeachBanner")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(14, 8, 8, 8)
        self.text = _label("", "BannerText")
        lay.addWidget(self.text, 1)
        self.buttons = [QPushButton(), QPushButton()]
        self._actions = [None, None]
        for i, b in enumerate(self.buttons):
            b.clicked.connect(lambda _c=False, i=i: self._run(i))
            lay.addWidget(b)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        lay.addWidget(close)
        self.hide()

    def show_message(self, text: str, kind: str = "info", actions: tuple = ()) -> None:
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self.text.setText(text)
        for i, b in enumerate(self.buttons):
            if i < len(actions):
                b.setText(actions[i][0])
                self._actions[i] = actions[i][1]
                b.show()
            else:
                self._actions[i] = None
                b.hide()
        self.show()

    def _run(self, i: int) -> None:
        action = self._actions[i]
        self.hide()
        if action is not None:
            action()


class TeachView(QStackedWidget):
    teach_requested = Signal()
    resume_requested = Signal()
    discard_requested = Signal()
    pause_toggled = Signal(bool)
    cancel_requested = Signal()
    dataset_requested = Signal()
    import_requested = Signal(str)  # a file ("" = ask for one)
    compare_requested = Signal(str)  # model id
    activate_requested = Signal(object)  # model id, or None for the built-in tagger
    remove_requested = Signal(str)
    visible_changed = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("TeachView")
        self.setAcceptDrops(True)
        self.versions = ModelVersionsModel(self)
        self.plot = None  # made when first shown (pyqtgraph is imported then)
        self.running = False
        self.want_selected: str | None = None  # selected once the next list arrives
        self.overview = QWidget()
        self.overview.setObjectName("TeachOverview")
        self.compare = CompareView()
        self.compare.back_requested.connect(lambda: self.setCurrentWidget(self.overview))
        self.addWidget(self.overview)
        self.addWidget(self.compare)
        lay = QVBoxLayout(self.overview)
        lay.setContentsMargins(22, 16, 22, 14)
        lay.setSpacing(12)

        head = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(_label("Teach photocap", "HeaderTitle"))
        titles.addWidget(
            _label(
                "Correct captions in Photos; photocap learns your words and names from them. "
                "Nothing changes until you choose a new model.",
                "HeaderSubtitle",
            )
        )
        head.addLayout(titles, 1)
        self.dataset_button = QPushButton("Train from a dataset…")
        self.dataset_button.clicked.connect(self.dataset_requested)
        self.import_button = QPushButton("Import a model…")
        self.import_button.setToolTip("Add a photocap model file (.safetensors); you can also drop it here")
        self.import_button.clicked.connect(lambda: self.import_requested.emit(""))
        self.teach_button = QPushButton("Teach from my captions")
        self.teach_button.setObjectName("Primary")
        self.teach_button.clicked.connect(self.teach_requested)
        for b in (self.dataset_button, self.import_button, self.teach_button):
            head.addWidget(b, 0, Qt.AlignmentFlag.AlignVCenter)
        lay.addLayout(head)
        self.banner = Banner()
        lay.addWidget(self.banner)

        cards = QHBoxLayout()
        cards.setSpacing(12)
        self.captions_card = Card("Your captions")
        self.model_card = Card("Describing your photos")
        cards.addWidget(self.captions_card, 1)
        cards.addWidget(self.model_card, 2)
        lay.addLayout(cards)

        # ---- the live view of a run ----
        self.live = QFrame()
        self.live.setObjectName("TeachCard")
        live = QVBoxLayout(self.live)
        live.setContentsMargins(16, 12, 16, 12)
        row = QHBoxLayout()
        self.live_title = _label("LEARNING", "FieldLabel", wrap=False)
        row.addWidget(self.live_title)
        row.addStretch(1)
        self.run_text = _label("Not teaching now.", "FieldValue", wrap=False)
        row.addWidget(self.run_text)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._on_pause)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop; what was learnt so far is kept, so you can resume later")
        self.cancel_button.clicked.connect(self.cancel_requested)
        row.addWidget(self.pause_button)
        row.addWidget(self.cancel_button)
        live.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setObjectName("StatusProgress")
        self.progress.setTextVisible(False)
        live.addWidget(self.progress)
        self.plot_box = QVBoxLayout()
        live.addLayout(self.plot_box, 1)
        self.log = _label("", "CaptionHint")
        live.addWidget(self.log)
        lay.addWidget(self.live, 3)

        # ---- model versions ----
        versions = QFrame()
        versions.setObjectName("TeachCard")
        v = QVBoxLayout(versions)
        v.setContentsMargins(16, 12, 16, 12)
        row = QHBoxLayout()
        row.addWidget(_label("MODEL VERSIONS", "FieldLabel"))
        row.addStretch(1)
        self.compare_button = QPushButton("Compare…")
        self.compare_button.setToolTip("See the selected model's captions beside today's before switching")
        self.compare_button.clicked.connect(lambda: self._emit_selected(self.compare_requested))
        self.activate_button = QPushButton("Activate")
        self.activate_button.setToolTip(
            "Describe every automatic caption again with the selected model (your own captions are never touched)"
        )
        self.activate_button.clicked.connect(lambda: self.activate_requested.emit(self.selected_id()))
        self.rollback_button = QPushButton("Roll back")
        self.rollback_button.setToolTip("Go back to the model that was active before this one")
        self.rollback_button.clicked.connect(self._on_rollback)
        self.rename_button = QPushButton("Rename")
        self.rename_button.clicked.connect(self._on_rename)
        self.remove_button = QPushButton("Remove…")
        self.remove_button.clicked.connect(lambda: self._emit_selected(self.remove_requested))
        for b in (
            self.compare_button,
            self.activate_button,
            self.rollback_button,
            self.rename_button,
            self.remove_button,
        ):
            row.addWidget(b)
        v.addLayout(row)
        self.table = QTableView()
        self.table.setObjectName("VersionTable")
        self.table.setModel(self.versions)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.EditKeyPressed | QAbstractItemView.EditTrigger.DoubleClicked
        )
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(False)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setHighlightSections(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, 5):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.versions.modelReset.connect(self._update_buttons)
        v.addWidget(self.table)
        lay.addWidget(versions, 2)
        self._update_buttons()
        self.set_running(False)

    # ---- showing -----------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.ensure_plot()
        self.visible_changed.emit(True)

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.visible_changed.emit(False)

    def ensure_plot(self):
        if self.plot is None:
            from photocap.ui.views.teach_plot import TeachPlot  # pyqtgraph: only now

            self.plot = TeachPlot()
            self.plot_box.addWidget(self.plot)
        return self.plot

    def set_stats(self, stats: dict) -> None:
        n = stats.get("user_captions", stats.get("user", 0))
        since, imported = stats.get("since_last", 0), stats.get("imported", 0)
        self.captions_card.big.setText(f"{n:,}")
        parts = [f"caption{'s' if n != 1 else ''} you wrote", f"{since:,} new since the last teaching"]
        if imported:
            parts.append(f"{imported:,} imported")
        self.captions_card.small.setText(" · ".join(parts))
        self.teach_button.setToolTip(
            "Teach a model from the captions you wrote"
            if n
            else "Correct some captions in Photos first: teaching learns from them"
        )

    def set_versions(self, versions: list) -> None:
        keep, self.want_selected = self.want_selected or self.selected_id(), None
        self.versions.set_versions(versions)
        active = next((v for v in versions if v.active), None)
        self.model_card.big.setText(version_name(active))
        chain = lineage(versions, active.model_id if active else None)
        if active is None:
            self.model_card.small.setText(
                "Tags of what the encoder sees, not sentences. Teach photocap from "
                "your captions to get a model of your own."
            )
        else:
            path = " → ".join([version_name(None), *(version_name(v) for v in chain)]) if chain else ""
            self.model_card.small.setText(f"Lineage: {path}")
        self.select(
            keep if keep is not None and self.versions.row_of(keep) >= 0 else (active.model_id if active else None)
        )

    def select(self, model_id: str | None) -> None:
        row = self.versions.row_of(model_id)
        if row >= 0:
            self.table.selectionModel().select(
                self.versions.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
            )

    def selected_row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def selected_id(self) -> str | None:
        row = self.selected_row()
        return self.versions.index(row, 0).data(ModelIdRole) if row >= 0 else None

    def _emit_selected(self, signal) -> None:
        model_id = self.selected_id()
        if model_id is not None:
            signal.emit(model_id)

    def _update_buttons(self) -> None:
        row = self.selected_row()
        index = self.versions.index(row, 0) if row >= 0 else None
        info = self.versions.info(row) if row >= 0 else None
        active = bool(index is not None and index.data(ActiveRole))
        self.compare_button.setEnabled(info is not None and bool(info.path) and not active)
        self.activate_button.setEnabled(index is not None and not active and (info is None or bool(info.path)))
        self.rename_button.setEnabled(info is not None)
        self.remove_button.setEnabled(info is not None and not active)
        self.remove_button.setToolTip(
            "The active model cannot be removed: activate another first"
            if active
            else "Remove the selected version and its file"
        )
        possible, _target = rollback_target(self.versions.versions())
        self.rollback_button.setEnabled(possible)

    def _on_rollback(self) -> None:
        possible, target = rollback_target(self.versions.versions())
        if possible:
            self.activate_requested.emit(target)

    def _on_rename(self) -> None:
        row = self.selected_row()
        if row > 0:
            self.table.edit(self.versions.index(row, 0))

    # ---- a run ---------------------------------------------------------------------------------
    def set_running(self, running: bool, title: str = "LEARNING FROM YOUR CAPTIONS") -> None:
        self.running = running
        self.teach_button.setEnabled(not running)
        self.dataset_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        if running:
            self.live_title.setText(title)
            self.progress.setRange(0, 0)
            self.log.setText("")
            self.pause_button.blockSignals(True)
            self.pause_button.setChecked(False)
            self.pause_button.setText("Pause")
            self.pause_button.blockSignals(False)
            if self.plot is not None:
                self.plot.clear()

    def show_progress(self, p) -> None:
        self.run_text.setText(describe_run(p))
        if p.phase == "features" and p.features_total:
            self.progress.setRange(0, p.features_total)
            self.progress.setValue(p.features_done)
        elif p.total_steps:
            self.progress.setRange(0, p.total_steps)
            self.progress.setValue(min(p.step, p.total_steps))
        if self.plot is not None or p.losses or p.scores:
            self.ensure_plot().add(p.losses, p.scores, p.total_steps)
        if p.messages:
            self.log.setText(p.messages[-1])

    def show_paused(self, paused: bool) -> None:
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(paused)
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.blockSignals(False)
        if paused:
            text = self.run_text.text()
            self.run_text.setText(text if text.endswith("paused") else f"{text.split(' · ')[0]} · paused")

    def show_finished(self, text: str) -> None:
        self.set_running(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.run_text.setText(text)

    def _on_pause(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_toggled.emit(paused)

    # ---- drag and drop a model file ---------------------------------------------------------------
    @staticmethod
    def _dropped_files(mime) -> list[str]:
        return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and os.path.isfile(u.toLocalFile())]

    def dragEnterEvent(self, event) -> None:
        if self._dropped_files(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        files = self._dropped_files(event.mimeData())
        for path in files:
            self.import_requested.emit(path)
        if files:
            event.acceptProposedAction()

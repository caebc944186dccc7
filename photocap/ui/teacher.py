"""Wires the Teach tab: the view's requests -> the teach service (training, compare, import on
the teach lanes) and the library service (versions, stats, activate, rename, remove on the
library lane); their answers -> the view. While a run goes on, background captioning is held
(it picks up after). Activating a version asks the window to load the new active model; the
captioning pass then describes every automatic caption again, photos on screen first."""

from __future__ import annotations

import datetime as _dt

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from photocap.ui.item_models.model_versions import version_name
from photocap.ui.jobs.captioning import CaptionService
from photocap.ui.jobs.library_service import LibraryService
from photocap.ui.jobs.teaching import ImportOutcome, TeachOutcome, TeachService
from photocap.ui.jobs.thumbnails import ThumbnailLoader
from photocap.ui.views.teach_view import TeachView


def _interrupted_text(state: dict) -> str:
    started = state.get("started")
    try:
        when = _dt.datetime.fromisoformat(str(started)).astimezone().strftime("%d %b %H:%M")
    except ValueError:
        when = "earlier"
    n = state.get("captions")
    what = f" on {n:,} captions" if isinstance(n, int) else ""
    return f"Teaching{what} was interrupted (started {when}, after epoch {int(state.get('epoch') or 0) + 1})."


class Teacher(QObject):
    active_changed = Signal()  # the active model changed: the window reloads the engine
    status = Signal(str)  # a line for the status bar

    def __init__(
        self,
        view: TeachView,
        library: LibraryService,
        captions: CaptionService,
        service: TeachService,
        thumbs: ThumbnailLoader,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.view, self.library, self.captions, self.service, self.thumbs = view, library, captions, service, thumbs
        self.window = parent
        self.outcome: TeachOutcome | None = None
        self.comparison = None
        self._interrupted: dict | None = None
        v, s = view, service
        v.teach_requested.connect(self.teach)
        v.resume_requested.connect(lambda: self.teach(resume=True))
        v.discard_requested.connect(s.discard_interrupted)
        v.pause_toggled.connect(s.set_paused)
        v.cancel_requested.connect(s.cancel)
        v.dataset_requested.connect(self.train_from_dataset)
        v.import_requested.connect(self.import_model)
        v.compare_requested.connect(self.compare)
        v.activate_requested.connect(self.activate)
        v.remove_requested.connect(self.remove)
        v.versions.rename_requested.connect(self.rename)
        v.compare.activate_requested.connect(self.activate)
        v.compare.thumbnail_wanted.connect(lambda pid, path: thumbs.request(pid, path))
        thumbs.ready.connect(v.compare.set_thumbnail)
        s.started.connect(self._on_started)
        s.progress.connect(v.show_progress)
        s.paused_changed.connect(self._on_paused)
        s.finished.connect(self._on_finished)
        s.failed.connect(self._on_failed)
        s.error.connect(lambda msg: self.view.banner.show_message(msg, "bad"))
        s.interrupted.connect(self._on_interrupted)
        s.compared.connect(self._on_compared)
        s.compare_failed.connect(v.compare.show_failed)
        s.imported.connect(self._on_imported)
        library.changed.connect(self._on_library_changed)

    # ---- reading the library ---------------------------------------------------------------------
    def refresh(self) -> None:
        self.refresh_stats()
        self.library.model_versions(on_result=self.view.set_versions)

    def _on_library_changed(self, what: str) -> None:
        if what == "captions":
            self.refresh_stats()

    def refresh_stats(self) -> None:
        self.library.teaching_stats(on_result=self.view.set_stats)

    def library_opened(self) -> None:
        self.refresh()
        self.service.check_interrupted()

    # ---- runs ----------------------------------------------------------------------------------------
    def teach(self, resume: bool = False) -> None:
        if self.service.teach(resume=resume) is None:
            self.view.banner.show_message("Something is being taught already: wait for it or cancel it first.")

    def train_from_dataset(self) -> None:
        from photocap.ui.views.teach_dataset_dialog import DatasetDialog

        dialog = DatasetDialog(self.window)
        if dialog.exec():
            self.start_dataset(dialog.choice())

    def start_dataset(self, c) -> None:
        """Train on a dataset chosen in the dialog (a :class:`DatasetChoice`)."""
        if self.service.train_dataset(c.annotations, c.images, c.fmt, c.minutes, c.name) is None:
            self.view.banner.show_message("Something is being taught already: wait for it or cancel it first.")

    def _on_started(self, kind: str) -> None:
        self.outcome = None
        self.captions.set_held(True)
        self.view.banner.hide()
        self.view.set_running(True, "LEARNING FROM YOUR CAPTIONS" if kind == "teach" else "TRAINING ON A DATASET")
        self.status.emit("Teaching… captioning waits until it is done")

    def _on_paused(self, paused: bool) -> None:
        self.view.show_paused(paused)
        self.status.emit("Teaching paused" if paused else "Teaching…")

    def _on_finished(self, outcome: TeachOutcome) -> None:
        self.captions.set_held(False)
        self.outcome = outcome
        if outcome.kind == "done":
            self.view.want_selected = outcome.model_id
            score = outcome.metrics.get("CIDEr")
            scored = f" (held-out CIDEr {score:.2f})" if score is not None else ""
            self.view.show_finished(f"Done{scored}")
            if outcome.model_id:
                self.view.banner.show_message(
                    f"A new model is ready{scored}. Compare it with today's before switching.",
                    "ok",
                    (("Compare…", lambda m=outcome.model_id: self.compare(m)),),
                )
            self.status.emit("Teaching done: a new model version is ready in the Teach tab")
        else:
            self.view.show_finished("Stopped. What was learnt so far is kept.")
            self.status.emit("Teaching stopped")
            self.service.check_interrupted()
        self.refresh()

    def _on_failed(self, message: str) -> None:
        self.captions.set_held(False)
        self.view.show_finished("Not taught.")
        self.view.banner.show_message(message, "bad")
        self.status.emit(f"Teaching: {message}")

    def _on_interrupted(self, state) -> None:
        self._interrupted = state
        if state is None:
            if self.view.banner.property("kind") == "warn":
                self.view.banner.hide()
            return
        text = _interrupted_text(state)
        self.view.banner.show_message(
            text + " Resume it?",
            "warn",
            (("Resume", lambda: self.teach(resume=True)), ("Discard", self.service.discard_interrupted)),
        )
        if not self.service.running:
            self.status.emit(text + " Resume it in the Teach tab.")

    # ---- compare, activate, remove, rename ------------------------------------------------------------
    def compare(self, model_id: str) -> None:
        row = self.view.versions.row_of(model_id)
        name = version_name(self.view.versions.info(row)) if row >= 0 else model_id
        self.view.compare.show_waiting(model_id, name)
        self.view.setCurrentWidget(self.view.compare)
        self.service.compare(model_id)

    def _on_compared(self, comparison) -> None:
        self.comparison = comparison
        model_id = self.view.compare.model_id
        row = self.view.versions.row_of(model_id)
        info = self.view.versions.info(row) if row >= 0 else None
        self.view.compare.show_comparison(comparison, bool(info and info.active))

    def activate(self, model_id: str | None) -> None:
        self.library.activate_model(model_id, on_result=lambda _r: self._on_activated(model_id))

    def _on_activated(self, model_id: str | None) -> None:
        self.view.setCurrentWidget(self.view.overview)
        self.refresh()
        self.active_changed.emit()
        row = self.view.versions.row_of(model_id)
        name = version_name(self.view.versions.info(row)) if row >= 0 else version_name(None)
        self.view.banner.show_message(
            f"“{name}” now describes your photos. Automatic captions are being "
            "described again (photos on screen first); yours are never touched.",
            "ok",
        )

    def remove(self, model_id: str) -> None:
        row = self.view.versions.row_of(model_id)
        name = version_name(self.view.versions.info(row)) if row >= 0 else model_id
        answer = QMessageBox.question(
            self.window,
            "Remove model version",
            f"Remove “{name}”?\n\nIts file is deleted. Captions it wrote stay until they are described again.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.remove_now(model_id)

    def remove_now(self, model_id: str) -> None:
        self.library.remove_model_version(model_id, on_result=lambda _r: self.refresh())

    def rename(self, model_id: str, name: str) -> None:
        self.library.rename_model_version(model_id, name, on_result=lambda _r: self.refresh())

    # ---- bringing a model -------------------------------------------------------------------------------
    def import_model(self, path: str = "") -> None:
        if not path:
            path, _ = QFileDialog.getOpenFileName(
                self.window, "Import a caption model", "", "photocap models (*.safetensors);;All files (*)"
            )
            if not path:
                return
        self.view.banner.show_message(f"Checking {path.rsplit('/', 1)[-1]}…")
        self.service.import_model(path)

    def _on_imported(self, outcome: ImportOutcome) -> None:
        name = outcome.file.rsplit("/", 1)[-1]
        if outcome.refused:
            self.view.banner.show_message(f"{name} was not imported: {outcome.refused}", "bad")
            return
        info = outcome.info
        self.view.want_selected = info.model_id
        self.refresh()
        self.view.banner.show_message(
            f"Imported “{version_name(info)}”. Compare it before switching.",
            "ok",
            (("Compare…", lambda m=info.model_id: self.compare(m)),),
        )

    def shutdown(self) -> bool:
        return self.service.shutdown()

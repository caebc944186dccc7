"""The main window: pages (first-run / library), menus, status bar, drag-and-drop, and the
start-up and shut-down order of the background services. The library page's wiring lives
in :mod:`photocap.ui.browser`; the work itself in :mod:`photocap.ui.jobs`."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QSettings, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from photocap import cache_limit
from photocap.filenames import readable
from photocap.ui.browser import Browser
from photocap.ui.item_models.photo_grid import PhotoGridModel
from photocap.ui.jobs.captioning import CaptionService
from photocap.ui.jobs.lanes import Job, Lane
from photocap.ui.jobs.library_service import LibraryService
from photocap.ui.jobs.meaning import MeaningService
from photocap.ui.jobs.teaching import TeachService
from photocap.ui.jobs.thumbnails import ThumbnailLoader, cache_size_for, load_preview
from photocap.ui.jobs.watching import FolderWatchBridge
from photocap.ui.menus import build_menus
from photocap.ui.settings import AppSettings
from photocap.ui.teacher import Teacher
from photocap.ui.views.banner import Banner
from photocap.ui.views.browser_view import BrowserView
from photocap.ui.views.empty_state import EmptyState
from photocap.ui.views.status_bar import CaptionStatusBar
from photocap.ui.views.teach_view import TeachView

log = logging.getLogger(__name__)
PREVIEW_SIZE = 1400


def _message_box(parent, icon, text: str, title: str = "photocap") -> QMessageBox:
    """A message that may hold a folder name: plain text (QMessageBox's static helpers guess
    rich text from the content, so a folder named "<b>x" would render bold)."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    return box


class MainWindow(QMainWindow):
    first_shown = Signal()  # after the first frame was painted
    ready = Signal()  # the library is open and the first counts are in

    def __init__(
        self,
        settings: AppSettings,
        library_path: str | None = None,
        auto_caption: bool = True,
        watch_debounce: float = 1.5,
    ):
        super().__init__()
        self.settings = settings
        self.library_path = library_path or settings.effective_library_path()
        self.shown_after: float | None = None
        self._shown = False
        self._started = False
        self._closing = False
        self._model_problem: str | None = None  # the model could not be loaded: said until it can
        self.setWindowTitle("photocap")
        self.setAcceptDrops(True)
        self.resize(1380, 860)
        # services (each owns its thread(s); nothing starts working until start())
        self.library = LibraryService(self)
        self.captions = CaptionService(parent=self)
        self.captions.auto = auto_caption
        self.meaning = MeaningService(parent=self)
        self.thumb_lane = Lane("thumbnails", self, nice=5)
        self.thumbs = ThumbnailLoader(self.thumb_lane, cache_size_for(settings.thumb_size), parent=self)
        self.watch = FolderWatchBridge(watch_debounce, parent=self)
        self.teach_service = TeachService(self.library_path, parent=self)
        self.compare_thumbs = ThumbnailLoader(self.thumb_lane, cache_size_for(settings.thumb_size), parent=self)
        # views
        self.grid_model = PhotoGridModel(self.library, self.thumbs, self)
        self.page = BrowserView(self.grid_model, settings.thumb_size)
        self.empty = EmptyState()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.page)
        self.pages.addWidget(self.empty)
        self.teach_view = TeachView()
        self.tabs = QTabWidget()  # Photos | Teach
        self.tabs.setObjectName("ModeTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.pages, "Photos")
        self.tabs.addTab(self.teach_view, "Teach")
        self.banner = Banner()  # e.g. folders that cannot be watched, with "Use polling"
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.banner)
        column.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self._unwatched: tuple[str, ...] = ()
        self.status = CaptionStatusBar()
        self.setStatusBar(self.status)
        self.browser = Browser(self.page, self.grid_model, self.library, self.captions, self)
        self.teacher = Teacher(
            self.teach_view, self.library, self.captions, self.teach_service, self.compare_thumbs, self
        )
        self.browser.attach_meaning(self.meaning)
        self.page.grid.set_empty_message("Opening your library…")
        self._wire()
        build_menus(self)
        self._restore_geometry()

    # ---- wiring ----------------------------------------------------------------------------------
    def _wire(self) -> None:
        lib, cap, page = self.library, self.captions, self.page
        lib.opened.connect(self._on_library_opened)
        lib.open_failed.connect(self._on_open_failed)
        lib.damaged.connect(self._on_library_damaged)
        lib.error.connect(lambda msg: self.status.show_message(f"Library: {msg}"))
        lib.scan_progress.connect(self._on_scan_progress)
        lib.scan_finished.connect(self._on_scan_finished)
        self.browser.counts_changed.connect(self._on_counts)
        cap.engine_loading.connect(lambda: self.status.show_message("Loading the caption model…"))
        cap.engine_ready.connect(self._on_engine_ready)
        cap.engine_failed.connect(self._on_engine_failed)
        cap.progress.connect(lambda p: self.status.show_progress(p.done + p.failed, p.total, p.rate, p.eta_s))
        cap.idle.connect(self._on_caption_idle)
        cap.paused_changed.connect(self.status.set_paused)
        self.status.pause_toggled.connect(cap.set_paused)
        self.watch.changes.connect(lib.apply_changes)
        self.watch.failed.connect(self._on_watch_failed)
        self.watch.fell_back.connect(
            lambda root, why: self.status.show_message(f"Watching {Path(root).name} by polling: {why}")
        )
        self.watch.watching.connect(self._on_watching)
        self.banner.action_requested.connect(self.use_polling)
        self.empty.add_folder_requested.connect(self.choose_folder)
        page.sidebar.add_folder_requested.connect(self.choose_folder)
        page.sidebar.rescan_requested.connect(lambda place: lib.scan(place.folder_id))
        page.sidebar.remove_requested.connect(self._confirm_remove)
        page.sidebar.reveal_requested.connect(self.reveal)
        page.detail.reveal_requested.connect(self.reveal)
        self.browser.reveal_requested.connect(self.reveal)
        page.problems.reveal_requested.connect(self.reveal)
        page.detail.preview_wanted.connect(self._load_preview)
        self.teacher.active_changed.connect(lambda: self.library.active_model(on_result=self._load_engine))
        self.teacher.status.connect(self.status.show_message)
        self.meaning.failed.connect(
            lambda why: self.status.show_message(f"{why[:1].upper()}{why[1:]}; photos are found by their words")
        )

    # ---- start-up ----------------------------------------------------------------------------------
    def event(self, event) -> bool:
        handled = super().event(event)
        if not self._shown and event.type() == QEvent.Type.UpdateRequest and self.isVisible():
            self._shown = True  # the first frame of the window has just been painted
            self.first_shown.emit()
        return handled

    def start(self) -> None:
        """Open the library (library lane); the model loads once we know which one is active."""
        if self._started or self._closing:
            return
        self._started = True
        self.library.open(self.library_path)

    def start_after_first_frame(self) -> None:
        """Start the background work once the window has painted (imports on the worker
        threads hold the GIL in long stretches), or after a second at the latest."""
        self.first_shown.connect(self.start)
        QTimer.singleShot(1000, self.start)

    def _on_library_opened(self, library) -> None:
        self.browser.show_place(self.page.sidebar.current)
        self.browser.schedule_counts()
        self.page.detail.set_read_only(library.why_read_only if library.read_only else None)
        self.status.show_read_only(library.why_read_only if library.read_only else None)
        if library.read_only:  # look, search, show: nothing is written, so nothing is scanned or described
            self.page.grid.set_pending_text("Not described: the library is read-only")
            self.status.show_idle(
                f"Read-only library ({library.why_read_only}): you can look and search; nothing is changed or added"
            )
            return
        self.library.active_model(on_result=self._load_engine)
        self.library.rescan_all()  # catch up with what changed while photocap was closed
        self.library.check_if_due()  # the weekly full integrity check, in the background
        self.teacher.library_opened()

    def _on_library_damaged(self, error) -> None:
        """Say so, and offer the newest backup, another library, or quitting (never blocks)."""
        from photocap.ui.views.damaged import damaged_dialog

        self.page.grid.set_empty_message("The library is damaged.")
        self.status.show_idle("The library is damaged")
        self.damaged_dialog = box = damaged_dialog(self, error)
        box.buttonClicked.connect(lambda button: self._on_damaged_choice(error, button.property("action")))
        box.open()

    def _on_damaged_choice(self, error, action: str) -> None:
        from photocap.ui.views.damaged import OTHER, RESTORE

        if action == RESTORE:
            self.captions.stop_pass()
            self.watch.stop()
            self.status.show_message(f"Restoring the library from the backup of {error.backups[0].label}…")
            self.page.grid.set_empty_message("Restoring your library…")
            self.library.restore(str(error.path), error.backups[0])
        elif action == OTHER:
            path, _ = QFileDialog.getSaveFileName(
                self,
                "Open or start a library",
                str(Path(error.path).parent),
                "photocap libraries (*.sqlite);;All files (*)",
                options=QFileDialog.Option.DontConfirmOverwrite,
            )
            if path:
                self.library_path = path
                self.library.open(path)
            else:
                self._on_library_damaged(error)
        else:
            self.close()

    def _load_engine(self, active) -> None:
        # The active model's file even when it has gone missing: loading then fails with a
        # message and automatic captioning waits, instead of quietly describing the whole
        # library again from tags.
        path = active.path if active is not None and active.path else None
        self.captions.set_library(self.library.library)
        self.captions.load_engine(path, *self.settings.model_settings())
        self.meaning.set_library(self.library.library)
        self.meaning.load()

    def _on_open_failed(self, message: str) -> None:
        self.page.grid.set_empty_message("The library could not be opened.")
        _message_box(self, QMessageBox.Icon.Critical, f"The library could not be opened:\n\n{message}").exec()

    def _on_counts(self, counts) -> None:
        has_folders = bool(counts.folders)
        self.pages.setCurrentWidget(self.page if has_folders else self.empty)
        # Missing folders too: the watcher notices when an unplugged disk comes back.
        if not getattr(self.library.library, "read_only", False):
            self.watch.watch([f.path for f in counts.folders], [f.path for f in counts.folders if f.polling])
        if not has_folders:
            self.status.show_idle(self._model_problem or "Add a folder to begin")
        self.ready.emit()

    def _on_engine_ready(self, info) -> None:
        self._model_problem = None
        self.page.grid.set_pending_text("Describing…")
        self.status.show_device(info.device, info.device_kind)
        if not self.captions.running:
            self.status.show_idle(
                "Captions from ImageNet tags (no caption model installed)"
                if info.captions_from == "tags"
                else f"Caption model {info.model_id} ready"
            )

    def _on_engine_failed(self, message: str) -> None:
        self._model_problem = f"The caption model could not be loaded, so captioning waits: {message}"
        self.status.show_model_problem(message)
        self.page.grid.set_pending_text("Not described: no caption model")
        self.status.show_idle(self._model_problem)

    def _on_caption_idle(self, summary) -> None:
        if summary is None:
            self.status.show_idle("Captioning stopped after an error (see the log)")
        elif summary.stopped:
            self.status.show_idle("Captioning stopped")
        else:
            self.status.show_idle("All photos are described" if self.library.library else "")

    def _on_scan_progress(self, p) -> None:
        if not self.captions.running:
            what = (
                f"Reading {p.read:,} of {p.to_read:,}"
                if p.phase == "reading"
                else f"Looking for photos · {p.seen:,} found"
            )
            self.status.show_message(f"{what} in {Path(p.folder).name}")

    def _on_scan_finished(self, report) -> None:
        if not self.captions.running and not isinstance(report, list) and report.added:
            found = f"{report.added:,} new photo{'s' if report.added != 1 else ''} found"
            self.status.show_idle(
                f"{found} · not described: the caption model could not be loaded" if self._model_problem else found
            )

    def _on_watch_failed(self, why: str, roots: tuple) -> None:
        self._unwatched = roots
        names = ", ".join(Path(r).name for r in roots[:3]) + (" …" if len(roots) > 3 else "")
        self.banner.show_message(
            f"New and changed photos in {names} are not noticed: {why}. Polling checks the "
            "folders every few seconds instead.",
            "Use polling",
        )

    def _on_watching(self, _roots: object) -> None:
        if self._unwatched:  # every folder is followed now: the banner about those that were not goes
            self._unwatched = ()
            self.banner.hide()

    def use_polling(self) -> None:
        """Watch the folders that could not be watched by polling, now and from now on."""
        roots = self._unwatched
        folders = self.browser.counts.folders if self.browser.counts else []
        polling = {f.path for f in folders if f.polling} | set(roots)
        for root in roots:
            self.library.set_folder_polling(root, True, on_result=lambda _r: self.browser.schedule_counts())
        self.banner.show_message("Starting to watch by polling…")
        self.watch.watch([f.path for f in folders] or roots, polling)

    # ---- actions ------------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a folder of photos", str(Path.home()))
        if path:
            self.add_folder(path)

    def add_folder(self, path: str) -> None:
        self.status.show_message(f"Adding {path}…")
        self.library.add_folder(path)

    def _confirm_remove(self, place) -> None:
        box = _message_box(
            self,
            QMessageBox.Icon.Question,
            f"Stop following “{readable(place.path)}”?\n\nThe photos "
            "stay on disk; photocap keeps their captions in case you add the folder again.",
            "Remove folder",
        )
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        if box.exec() == QMessageBox.StandardButton.Yes:
            self.library.remove_folder(place.folder_id)

    def reveal(self, path: str) -> None:
        folder = path if os.path.isdir(path) else os.path.dirname(path)
        QDesktopServices.openUrl(QUrl.fromLocalFile(folder))

    def mark_reviewed(self) -> None:
        pid = self.page.detail.photo_id
        if pid is not None:
            self.library.mark_reviewed(pid)

    def _load_preview(self, path: str) -> None:
        if not self.thumb_lane.stopped:
            job = Job("preview", load_preview, path, PREVIEW_SIZE)
            job.result.connect(lambda r: self.page.detail.set_preview(*r))
            self.thumb_lane.submit(job)

    def step_thumbs(self, step: int) -> None:
        from photocap.ui.settings import THUMB_SIZES

        i = THUMB_SIZES.index(self.settings.thumb_size)
        self.apply_thumb_size(THUMB_SIZES[max(0, min(len(THUMB_SIZES) - 1, i + step))])

    def apply_thumb_size(self, size: int) -> None:
        if size == self.settings.thumb_size and self.page.grid.thumb_size == size:
            return
        self.settings.thumb_size = size
        self.settings.save()
        if cache_size_for(size) != self.thumbs.size:
            self.thumbs.set_size(cache_size_for(size))
            self.grid_model.forget_thumbnails()
        self.page.grid.set_thumb_size(size)

    def open_settings(self) -> None:
        """Settings, once the library's own settings are read (on the library lane, never here)."""
        from photocap.ui.jobs.captions_io import read_library_settings

        if self.library.run(read_library_settings, on_result=self._open_settings) is None:
            self._open_settings(None)  # no library open: the app's settings only

    def _open_settings(self, library_settings: dict | None) -> None:
        from photocap.ui.jobs.captions_io import write_library_settings
        from photocap.ui.views.settings_dialog import SettingsDialog

        folders = self.browser.counts.folders if self.browser.counts else []
        dialog = SettingsDialog(self.settings, folders, self, library_settings=library_settings)
        dialog.add_folder_requested.connect(self.choose_folder)
        dialog.remove_folder_requested.connect(lambda fid: self.library.remove_folder(fid))
        dialog.rescan_requested.connect(lambda fid: self.library.scan(fid))
        self.browser.counts_changed.connect(lambda c: dialog.set_folders(c.folders))
        if dialog.exec():
            self.apply_settings(dialog.result_settings())
            changed = dialog.result_library_settings()
            if changed:
                self.library.run(write_library_settings, changed)

    # ---- captions in and out (File menu) ----------------------------------------------------
    def export_captions(self, fmt: str) -> None:
        from photocap.ui.jobs.captions_io import export_captions

        path = None
        if fmt != "xmp":
            path, _ = QFileDialog.getSaveFileName(
                self, "Export captions", f"photocap-captions.{fmt}", "CSV (*.csv)" if fmt == "csv" else "JSON (*.json)"
            )
            if not path:
                return
        self.library.run_files(export_captions, path, fmt, on_result=self.show_status)

    def import_captions(self) -> None:
        from photocap.ui.jobs.captions_io import import_captions

        path, _ = QFileDialog.getOpenFileName(self, "Import captions", "", "Caption exports (*.csv *.json)")
        if path:
            self.library.run_files(import_captions, path, on_result=self._captions_imported)

    def _captions_imported(self, message: str) -> None:
        self.show_status(message)
        self.library.changed.emit("captions")

    def show_status(self, message: str) -> None:
        self.status.show_message(message)

    def apply_settings(self, new: AppSettings) -> None:
        old = self.settings
        model_changed = new.model_settings() != old.model_settings()
        library_changed = new.library_path != old.library_path
        theme_changed = new.theme != old.theme
        self.settings = new
        new.save()
        cache_limit.set_limit_mb(new.cache_limit_mb)
        self.apply_thumb_size(new.thumb_size)
        if theme_changed:
            from PySide6.QtWidgets import QApplication

            from photocap.ui import style

            app = QApplication.instance()
            if isinstance(app, QApplication):
                style.apply(app, new.theme)
        if model_changed and self.library.library is not None:
            self.library.active_model(on_result=self._load_engine)
        if library_changed:
            QMessageBox.information(
                self, "photocap", "The new library location takes effect the next time photocap starts."
            )

    def open_about(self) -> None:
        from photocap.ui.views.about import AboutDialog

        AboutDialog(self.captions.info, self).exec()

    # ---- drag and drop -------------------------------------------------------------------------------
    def _dropped_folders(self, mime) -> list[str]:
        return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and os.path.isdir(u.toLocalFile())]

    def dragEnterEvent(self, event) -> None:
        if self._dropped_folders(event.mimeData()):
            event.acceptProposedAction()
            self.empty.set_dragging(True)

    def dragLeaveEvent(self, event) -> None:
        self.empty.set_dragging(False)

    def dropEvent(self, event) -> None:
        self.empty.set_dragging(False)
        for path in self._dropped_folders(event.mimeData()):
            self.add_folder(path)
        event.acceptProposedAction()

    # ---- shut-down ------------------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geometry = QSettings().value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)

    def closeEvent(self, event) -> None:
        if not self._closing:
            QSettings().setValue("window/geometry", self.saveGeometry())
            self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop everything in order: no new work, the captioning pass stops at its next photo
        (all earlier captions are written), each lane's thread is quit and waited for."""
        if self._closing:
            return
        self._closing = True
        t0 = time.perf_counter()
        if self.page.detail.editor.editing:
            self.page.detail.editor.commit()  # queued on the library lane before it drains
        self.hide()
        self.watch.stop()
        self.teacher.shutdown()  # a run stops at its next step and keeps its state for resuming
        self.captions.shutdown()
        self.meaning.shutdown()
        self.thumb_lane.shutdown()
        self.library.shutdown()
        log.info("stopped in %.2f s", time.perf_counter() - t0)

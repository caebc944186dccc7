"""Wires the library page: sidebar place + search -> grid query; selection -> detail;
edits -> library; captions landing -> grid, detail and counts. No widgets are made here
and nothing slow runs here: every read goes through the library service's lane."""

from __future__ import annotations

import os
import time

from PySide6.QtCore import QObject, QTimer, Signal

from photocap.filenames import readable
from photocap.ui.item_models.photo_grid import PhotoGridModel
from photocap.ui.item_models.sidebar import ALL, Place
from photocap.ui.jobs.captioning import CaptionService
from photocap.ui.jobs.library_service import LibraryService, SidebarCounts
from photocap.ui.text import search_query, shorten
from photocap.ui.views.browser_view import BrowserView


def summary_from_detail(d):
    from photocap.library.records import PhotoSummary  # not at import: the package pulls in alembic

    name = readable(os.path.basename(d.path))
    return PhotoSummary(
        d.id, d.path, name, d.status, d.caption, d.caption_source, d.reviewed, d.taken_at, d.width, d.height
    )


QUERY_SHOWN = 60  # characters of the query quoted in the header and the empty grid


class Browser(QObject):
    counts_changed = Signal(object)  # SidebarCounts
    detail_shown = Signal(object)  # PhotoDetail or None
    reveal_requested = Signal(str)  # a path to show in the file manager

    def __init__(
        self,
        view: BrowserView,
        model: PhotoGridModel,
        library: LibraryService,
        captions: CaptionService,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.view, self.model, self.library, self.captions = view, model, library, captions
        self.place: Place = ALL
        self.search_text = ""
        self.counts: SidebarCounts | None = None
        self.meaning = None  # MeaningService, set by attach_meaning
        self._edit_when_shown: int | None = None
        self._similar_name = ""
        self._counts_dirty = False
        self._counts_loading = False
        self._last_refresh = 0.0
        self._counts_timer = QTimer(self, singleShot=True, interval=400)
        self._counts_timer.timeout.connect(self._load_counts)
        self._grid_timer = QTimer(self, singleShot=True, interval=1500)
        self._grid_timer.timeout.connect(self.model.refresh)
        v = view
        v.sidebar.place_selected.connect(self.show_place)
        v.header.search_changed.connect(self.search)
        v.grid.photo_selected.connect(self._on_selected)
        v.grid.photo_activated.connect(self._on_activated)
        v.grid.visible_changed.connect(captions.set_visible)
        v.grid.menu_requested.connect(self._photo_menu)
        v.detail.save_requested.connect(library.save_caption)
        v.detail.reviewed_requested.connect(library.mark_reviewed)
        v.detail.attention_wanted.connect(captions.request_attention)
        captions.attention_ready.connect(v.detail.set_attention)
        captions.landed.connect(self._on_landed)
        captions.idle.connect(lambda _summary: self.schedule_counts())
        captions.engine_ready.connect(lambda info: v.detail.set_attention_available(info.has_attention))
        library.caption_saved.connect(self._on_caption_saved)
        library.changed.connect(self._on_library_changed)
        library.scan_progress.connect(self._on_scan_progress)
        model.loaded.connect(self._on_loaded)
        model.grew.connect(self._on_loaded)
        model.failed.connect(self._on_search_failed)
        library.caption_save_failed.connect(v.detail.show_save_failed)

    # ---- what the grid shows -------------------------------------------------------------------
    def show_place(self, place: Place) -> None:
        self.place = place
        problems = place.kind == "problems"
        self.view.show_problems(problems)
        if problems:
            self.library.problems(on_result=self._on_problems)
            self.view.header.set_title(place.title, "")
            return
        self._query()

    def search(self, text: str) -> None:
        self.search_text = text
        if self.place.kind == "problems":
            self.place = ALL
            self.view.sidebar.select(ALL, emit=False)
            self.view.show_problems(False)
        self._query()

    def _query(self) -> None:
        self.view.header.set_title(self.place.title, "Loading…")
        self.model.show(self.place.photo_filter(), search_query(self.search_text))

    def attach_meaning(self, meaning) -> None:
        """Search by meaning too (the grid embeds queries on the meaning lane); vectors follow words."""
        self.meaning = meaning
        self.model.meaning = meaning
        meaning.ready.connect(lambda _m: self._query() if self.search_text.strip() else None)
        meaning.pass_done.connect(self._on_vectors_stored)
        self.library.caption_saved.connect(lambda *_: meaning.kick())
        self.captions.idle.connect(lambda _s: meaning.kick())

    def _on_vectors_stored(self, n: int) -> None:
        """Photos can now be found by meaning that could not before: a search shown is run again."""
        if n and self.search_text.strip() and self.model.similar_to is None:
            self.model.refresh()

    def show_similar(self, photo_id: int, name: str = "") -> None:
        self._similar_name = name
        self.view.header.set_title(f"Similar to {name}" if name else "Similar photos", "Loading…")
        self.model.show_similar(photo_id)

    def _photo_menu(self, summary, pos) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices, QGuiApplication

        from photocap.ui.views.photo_menu import PhotoMenu

        menu = PhotoMenu(summary, self.view)
        menu.open_requested.connect(lambda path: QDesktopServices.openUrl(QUrl.fromLocalFile(path)))
        menu.reveal_requested.connect(self.reveal_requested)
        menu.copy_requested.connect(lambda text: QGuiApplication.clipboard().setText(text))
        menu.edit_requested.connect(self._edit_photo)
        menu.reviewed_requested.connect(self.library.mark_reviewed)
        menu.similar_requested.connect(lambda pid, name=summary.name: self.show_similar(pid, name))
        self.menu = menu  # kept for tests and until it closes
        menu.popup(pos)

    def _edit_photo(self, photo_id: int) -> None:
        if self.view.detail.photo_id == photo_id:
            self.view.detail.begin_edit()
        else:
            self._edit_when_shown = photo_id  # once its detail has loaded

    def _on_loaded(self, n: int) -> None:
        words = shorten(self.search_text.strip(), QUERY_SHOWN)
        self.view.header.set_note(" ".join(self.model.notes))
        if self.model.similar_to is not None:
            title = f"Similar to {self._similar_name}" if self._similar_name else "Similar photos"
            sub = f"{n - 1:,} photos that look alike" if n > 1 else "No similar photos yet"
            empty_hint = "Photos are compared once they have been described."
            self.view.header.set_title(title, sub if n > 1 else f"{sub}: {empty_hint.lower()}")
            return
        if words:
            sub = f"{n:,} {'match' if n == 1 else 'matches'} for “{words}”"
            if n >= self.model.search_limit:
                sub = f"first {n:,} matches for “{words}”"
            empty = f"No photo matches “{words}”.\nTry fewer or other words."
            if self.meaning is not None and self.meaning.loading:  # searched by words only, meaning follows
                sub += " · meaning follows"
                empty = (
                    f"Nothing found by the words “{words}” yet.\n"
                    "Search by meaning is getting ready: what it finds will appear here."
                )
        else:
            sub = f"{n:,} photo{'s' if n != 1 else ''}"
            empty = {
                "user": "Captions you write or correct are listed here.",
                "review": "Nothing to review: every automatic caption has been looked at.",
            }.get(self.place.kind, "No photos here yet.")
        self.view.header.set_title(self.place.title, sub)
        self.view.grid.set_empty_message(empty)

    def _on_search_failed(self, why: str) -> None:
        """The library could not answer: say why where the results would be (never "no results")."""
        self.view.header.set_title(self.place.title, "Search failed")
        self.view.header.set_note("")
        self.view.grid.set_empty_message(why[:1].upper() + why[1:])

    def _on_problems(self, problems: list) -> None:
        self.view.problems.set_problems(problems)
        n = len(problems)
        self.view.header.set_title("Problems", f"{n:,} file{'s' if n != 1 else ''} could not be read")

    # ---- selection and detail --------------------------------------------------------------------
    def _on_selected(self, photo_id: int | None) -> None:
        if photo_id is None:
            self.view.detail.show_detail(None)
            self.detail_shown.emit(None)
            return
        self.library.photo_detail(photo_id, on_result=lambda d: self._on_detail(photo_id, d))

    def _on_detail(self, photo_id: int, detail) -> None:
        if self.view.grid.current_id() != photo_id:
            return  # the user moved on
        self.view.detail.show_detail(detail)
        self.detail_shown.emit(detail)
        if self._edit_when_shown == photo_id:
            self._edit_when_shown = None
            self.view.detail.begin_edit()

    def _on_activated(self, photo_id: int) -> None:
        if self.view.detail.photo_id == photo_id:
            self.view.detail.begin_edit()

    def reload_detail(self) -> None:
        pid = self.view.detail.photo_id
        if pid is not None:
            self.library.photo_detail(pid, on_result=lambda d: self._on_detail(pid, d))

    # ---- updates ---------------------------------------------------------------------------------
    def _on_landed(self, landed: list) -> None:
        self.model.update_captions(landed)
        shown = self.view.detail.photo_id
        if shown is not None and any(item.photo_id == shown for item in landed):
            self.reload_detail()
        self.schedule_counts(throttle=1.0)

    def _on_caption_saved(self, photo_id: int, detail) -> None:
        if detail is not None:
            self.model.replace_summary(summary_from_detail(detail))
            if self.view.detail.photo_id == photo_id:
                self.view.detail.show_detail(detail)

    def _on_library_changed(self, what: str) -> None:
        self.schedule_counts()
        if what == "photos":
            self._grid_timer.stop()
            self.model.refresh()
            if self.place.kind == "problems":
                self.show_place(self.place)
            self.captions.maybe_kick()

    def _on_scan_progress(self, _progress) -> None:
        # a long first scan: let photos appear (and captioning start) while it goes on
        if not self._grid_timer.isActive():
            self._grid_timer.start()
        self.schedule_counts(throttle=2.0)
        if time.monotonic() - self._last_refresh > 3.0:
            self._last_refresh = time.monotonic()
            self.captions.maybe_kick()

    def schedule_counts(self, throttle: float = 0.0) -> None:
        self._counts_dirty = True
        if not self._counts_timer.isActive() and not self._counts_loading:
            self._counts_timer.start(int(max(0.4, throttle) * 1000))

    def _load_counts(self) -> None:
        self._counts_dirty = False
        job = self.library.sidebar_counts(on_result=self._on_counts, on_finished=self._counts_done)
        self._counts_loading = job is not None

    def _counts_done(self) -> None:
        self._counts_loading = False
        if self._counts_dirty:  # something changed while counting: count again soon
            self.schedule_counts(throttle=1.0)

    def _on_counts(self, counts) -> None:
        self.counts = counts
        self.view.sidebar.apply_counts(counts)
        self.counts_changed.emit(counts)

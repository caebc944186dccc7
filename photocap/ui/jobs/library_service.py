"""The GUI-side front of the library: every call runs on a lane, never on the GUI thread.

Each library read or edit the UI needs is a typed method here whose arguments mirror the
:class:`~photocap.library.library.Library` method it runs, plus ``on_result`` (called on the
GUI thread with that method's answer): ``service.photos_by_ids(ids, on_result=...)``. So a
type checker follows every call from a widget to SQL; nothing is dispatched by name. The
views and item models import no library module but its plain values (``lint-imports``).

Two lanes: ``library`` for quick reads and edits (grid rows, search, detail, counts,
caption edits) and ``files`` for the long file-system work (scans, watcher batches), so
a scan of 50,000 files never holds up a search. The ``Library`` facade is thread-safe
(one session per call), so both lanes and the model lane share it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Signal

from photocap.ui.jobs.lanes import Job, JobContext, Lane

if TYPE_CHECKING:  # the package pulls in SQLAlchemy: imported by the lane's jobs when first used
    import numpy as np

    from photocap.ingest.scanner import ScanProgress
    from photocap.ingest.watcher import Change
    from photocap.library.db import Backup, LibraryCorrupt
    from photocap.library.library import Library
    from photocap.library.records import (
        FolderInfo,
        ModelVersionInfo,
        PhotoDetail,
        PhotoSummary,
        Problem,
        ScanReport,
        SearchHit,
    )
    from photocap.library.search import PhotoFilter

R = TypeVar("R")


def _open(ctx: JobContext, path: str | None) -> Library | LibraryCorrupt:
    """Open the library (quick_check included): the Library, or the LibraryCorrupt found."""
    from photocap.library.db import LibraryCorrupt
    from photocap.library.library import open_library

    try:
        return open_library(path)
    except LibraryCorrupt as damaged:
        return damaged


def _restore(ctx: JobContext, path: str, old: Library | None, backup: Backup) -> Library | LibraryCorrupt:
    """Close ``old`` (if open), put the backup in place of the library at ``path``, then open it."""
    from photocap.library.db import restore_backup

    if old is not None:
        old.close()
    restore_backup(path, backup)
    return _open(ctx, path)


def _check_if_due(ctx: JobContext, library: Library) -> LibraryCorrupt | None:
    """The weekly full integrity check (and, when sound, a fresh backup): LibraryCorrupt if
    it found damage, else None (also when no check was due)."""
    from photocap.library.db import LibraryCorrupt

    problems = library.check_integrity() if library.integrity_check_due() else []
    return LibraryCorrupt(library.path, problems) if problems else None


def _query(ctx: JobContext, library: Library, query: Callable[[Library], R]) -> R:
    return query(library)


@dataclass(frozen=True)
class SidebarCounts:
    all: int
    user: int
    review: int
    problems: int
    folders: list[FolderInfo]


def _sidebar_counts(library: Library) -> SidebarCounts:
    from photocap.library.search import PhotoFilter

    return SidebarCounts(
        library.count_photos(PhotoFilter()),
        library.count_photos(PhotoFilter(sources=("user",))),
        library.count_photos(PhotoFilter(needs_review=True)),
        len(library.problems()),
        library.folders(),
    )


def _scan(ctx: JobContext, library: Library, folder: int | str) -> ScanReport:
    from photocap.ingest import scan

    return scan(library, folder, progress=ctx.report, should_stop=ctx.stop_requested)


def _apply_changes(library: Library, changes: Iterable[Change]) -> ScanReport:
    from photocap.ingest import apply_changes

    return apply_changes(library, list(changes))


def _rescan_all(ctx: JobContext, library: Library) -> Generator[None, None, list[ScanReport]]:
    from photocap.ingest import scan

    reports = []
    for folder in library.folders():
        if ctx.should_stop:
            break
        reports.append(scan(library, folder.id, progress=ctx.report, should_stop=ctx.stop_requested))
        yield None
    return reports


def _search(
    ctx: JobContext,
    library: Library,
    query: str,
    filters: PhotoFilter | None,
    limit: int,
    offset: int,
    query_vector: np.ndarray | None = None,
    vector_model: str | None = None,
) -> tuple[list[SearchHit], tuple[str, ...]] | None:
    """(hits, notes) for a search, or None when a newer one replaced it (stopped mid-statement)."""
    from photocap.library import SearchCancelled
    from photocap.library.fts import parse_query

    try:
        hits = library.search(
            query,
            filters,
            limit=limit,
            offset=offset,
            should_stop=ctx.stop_requested,
            query_vector=query_vector,
            vector_model=vector_model,
        )
    except SearchCancelled:
        return None
    return hits, parse_query(query).notes


class EditFailed(Exception):
    """A user's edit that did not reach the library; ``reason`` says why, for people."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _edit_reason(exc: Exception) -> str:
    from sqlalchemy import exc as sa_exc

    from photocap.library.search import is_busy

    if not isinstance(exc, sa_exc.DBAPIError):
        return str(exc) or exc.__class__.__name__
    if is_busy(exc):
        return f"the library is busy ({exc.orig}): another program is writing to it"
    return f"the library could not be written: {exc.orig}"


def _save_caption(ctx: JobContext, library: Library, photo_id: int, text: str) -> tuple[int, PhotoDetail | None]:
    try:
        library.set_user_caption(photo_id, text)
    except Exception as exc:
        raise EditFailed(_edit_reason(exc)) from exc
    return photo_id, library.photo_detail(photo_id)


def _mark_reviewed(ctx: JobContext, library: Library, photo_id: int, reviewed: bool) -> tuple[int, PhotoDetail | None]:
    library.mark_reviewed(photo_id, reviewed)
    return photo_id, library.photo_detail(photo_id)


class LibraryService(QObject):
    opened = Signal(object)  # the Library
    open_failed = Signal(str)
    damaged = Signal(object)  # LibraryCorrupt: found at open or by the weekly check; .backups to offer
    changed = Signal(str)  # "folders" | "photos" | "captions": counts and lists may be stale
    scan_progress = Signal(object)  # photocap.ingest.scanner.ScanProgress
    scan_finished = Signal(object)  # ScanReport (or a list of them)
    folder_added = Signal(object)  # FolderInfo
    caption_saved = Signal(int, object)  # photo id, PhotoDetail after the write
    caption_save_failed = Signal(int, str, str)  # photo id, the text that was not saved, why
    error = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.library: Library | None = None
        self.reads = Lane("library", self)
        self.files = Lane("files", self, nice=10)
        self._scans: set[Job] = set()

    # ---- opening ---------------------------------------------------------------------------
    def open(self, path: str | None) -> Job:
        job = Job("open library", _open, path)
        job.result.connect(self._on_open)
        job.failed.connect(self.open_failed)
        return self.reads.submit(job)

    def restore(self, path: str, backup: Backup) -> Job:
        """Put ``backup`` in place of the library at ``path`` (the damaged file is kept aside), then open it."""
        old, self.library = self.library, None
        job = Job("restore library", _restore, path, old, backup, essential=True)
        job.result.connect(self._on_open)
        job.failed.connect(self.open_failed)
        return self.reads.submit(job)

    def _on_open(self, result: Library | LibraryCorrupt) -> None:
        from photocap.library.db import LibraryCorrupt

        if isinstance(result, LibraryCorrupt):
            self.damaged.emit(result)
            return
        self.library = result
        self.opened.emit(result)

    def check_if_due(self) -> Job | None:
        """The weekly integrity check, on the files lane (it reads the whole file)."""
        if self.library is None or self.files.stopped:
            return None
        job = Job("integrity check", _check_if_due, self.library)
        job.result.connect(self._on_checked)
        job.failed.connect(self.error)
        return self.files.submit(job)

    def _on_checked(self, damage: LibraryCorrupt | None) -> None:
        if damage is not None:
            self.damaged.emit(damage)

    # ---- reads (quick) -------------------------------------------------------------------
    def _read(
        self,
        name: str,
        query: Callable[[Library], R],
        on_result: Callable[[R], None] | None = None,
        on_finished: Callable[[], None] | None = None,
    ) -> Job | None:
        """Run ``query(library)`` on the library lane; ``on_result`` gets the answer."""
        if self.library is None or self.reads.stopped:
            return None
        job = Job(name, _query, self.library, query)
        if on_result is not None:
            job.result.connect(on_result)
        if on_finished is not None:
            job.finished.connect(on_finished)
        job.failed.connect(self.error)
        return self.reads.submit(job)

    def photos_by_ids(self, ids: Sequence[int], *, on_result: Callable[[list[PhotoSummary]], None]) -> Job | None:
        ids = list(ids)
        return self._read("photos_by_ids", lambda lib: lib.photos_by_ids(ids), on_result)

    def list_photo_ids(
        self, filter: PhotoFilter | None = None, order: str = "taken", *, on_result: Callable[[list[int]], None]
    ) -> Job | None:
        return self._read("list_photo_ids", lambda lib: lib.list_photo_ids(filter, order), on_result)

    def similar_photos(
        self, photo_id: int, limit: int = 50, *, on_result: Callable[[list[SearchHit] | None], None]
    ) -> Job | None:
        return self._read("similar_photos", lambda lib: lib.similar_photos(photo_id, limit), on_result)

    def photo_detail(self, photo_id: int, *, on_result: Callable[[PhotoDetail | None], None]) -> Job | None:
        return self._read("photo_detail", lambda lib: lib.photo_detail(photo_id), on_result)

    def problems(self, *, on_result: Callable[[list[Problem]], None]) -> Job | None:
        return self._read("problems", lambda lib: lib.problems(), on_result)

    def sidebar_counts(
        self, *, on_result: Callable[[SidebarCounts], None], on_finished: Callable[[], None] | None = None
    ) -> Job | None:
        """The sidebar's counts and the watched folders, read in one job."""
        return self._read("sidebar counts", _sidebar_counts, on_result, on_finished)

    def model_versions(self, *, on_result: Callable[[list[ModelVersionInfo]], None]) -> Job | None:
        return self._read("model_versions", lambda lib: lib.model_versions(), on_result)

    def active_model(self, *, on_result: Callable[[ModelVersionInfo | None], None]) -> Job | None:
        return self._read("active_model", lambda lib: lib.active_model(), on_result)

    def teaching_stats(self, *, on_result: Callable[[dict[str, Any]], None]) -> Job | None:
        return self._read("teaching_stats", lambda lib: lib.teaching_stats(), on_result)

    def run(
        self,
        fn: Callable[..., R],
        *args: Any,
        on_result: Callable[[R], None] | None = None,
        on_finished: Callable[[], None] | None = None,
    ) -> Job | None:
        """Run ``fn(ctx, library, *args)`` (several library reads in one job) on the library lane."""
        if self.library is None or self.reads.stopped:
            return None
        job = Job(getattr(fn, "__name__", "query"), fn, self.library, *args)
        if on_result is not None:
            job.result.connect(on_result)
        if on_finished is not None:
            job.finished.connect(on_finished)
        job.failed.connect(self.error)
        return self.reads.submit(job)

    def search(
        self,
        query: str,
        filters: PhotoFilter | None,
        limit: int,
        offset: int,
        on_result: Callable[[tuple[list[SearchHit], tuple[str, ...]] | None], None],
        on_failed: Callable[[str], None],
        query_vector: np.ndarray | None = None,
        vector_model: str | None = None,
    ) -> Job | None:
        """A search on the library lane; ``on_result`` gets (hits, notes), or None when the job
        was aborted (``job.abort()`` also interrupts the SQLite statement running it). With
        ``query_vector`` photos are found by meaning too (see photocap.library.hybrid)."""
        if self.library is None or self.reads.stopped:
            return None
        job = Job("search", _search, self.library, query, filters, limit, offset, query_vector, vector_model)
        job.result.connect(on_result)
        job.failed.connect(on_failed)
        return self.reads.submit(job)

    def run_files(self, fn: Callable[..., R], *args: Any, on_result: Callable[[R], None] | None = None) -> Job | None:
        """Like :meth:`run`, on the files lane: work that reads or writes many files (exports, imports)."""
        if self.library is None or self.files.stopped:
            return None
        job = Job(getattr(fn, "__name__", "files"), fn, self.library, *args)
        if on_result is not None:
            job.result.connect(on_result)
        job.failed.connect(self.error)
        return self.files.submit(job)

    # ---- edits ------------------------------------------------------------------------------
    def save_caption(self, photo_id: int, text: str) -> Job | None:
        job = self._edit("save caption", _save_caption, photo_id, text)
        if job is not None:
            job.failed.connect(lambda why, p=photo_id, t=text: self.caption_save_failed.emit(p, t, why))
        return job

    def mark_reviewed(self, photo_id: int, reviewed: bool = True) -> Job | None:
        return self._edit("mark reviewed", _mark_reviewed, photo_id, reviewed)

    def activate_model(self, model_id: str | None, *, on_result: Callable[[int], None] | None = None) -> Job | None:
        return self._read("activate_model", lambda lib: lib.activate_model(model_id), on_result)

    def remove_model_version(
        self, model_id: str, *, on_result: Callable[[ModelVersionInfo], None] | None = None
    ) -> Job | None:
        return self._read("remove_model_version", lambda lib: lib.remove_model_version(model_id), on_result)

    def rename_model_version(
        self, model_id: str, name: str, *, on_result: Callable[[ModelVersionInfo], None] | None = None
    ) -> Job | None:
        return self._read("rename_model_version", lambda lib: lib.rename_model_version(model_id, name), on_result)

    def set_folder_polling(
        self, folder: int | str | os.PathLike, polling: bool, *, on_result: Callable[[None], None] | None = None
    ) -> Job | None:
        return self._read("set_folder_polling", lambda lib: lib.set_folder_polling(folder, polling), on_result)

    def _edit(self, name: str, fn: Callable[..., tuple[int, PhotoDetail | None]], *args: object) -> Job | None:
        """A write the user asked for: essential (finished even when the app is closing)."""
        if self.library is None:
            return None
        job = Job(name, fn, self.library, *args, essential=True)
        job.result.connect(self._on_caption_saved)
        job.failed.connect(self.error)
        return self.reads.submit(job)

    def _on_caption_saved(self, result: tuple[int, PhotoDetail | None]) -> None:
        photo_id, detail = result
        self.caption_saved.emit(photo_id, detail)
        self.changed.emit("captions")

    # ---- folders and files (long) -----------------------------------------------------------
    def add_folder(self, path: str) -> Job | None:
        if self.library is None:
            return None
        job = Job("add folder", _query, self.library, lambda lib: lib.add_folder(path))
        job.result.connect(self._on_folder_added)
        job.failed.connect(self.error)
        return self.reads.submit(job)

    def _on_folder_added(self, info: FolderInfo) -> None:
        self.folder_added.emit(info)
        self.changed.emit("folders")
        self.scan(info.id)

    def scan(self, folder: int | str) -> Job | None:
        if self.library is None:
            return None
        job = Job("scan", _scan, self.library, folder)
        job.progress.connect(self._on_scan_progress)
        return self._run_scan(job)

    def rescan_all(self) -> Job | None:
        if self.library is None:
            return None
        job = Job("rescan", _rescan_all, self.library)
        job.progress.connect(self._on_scan_progress)
        return self._run_scan(job)

    def remove_folder(self, folder: int | str | os.PathLike) -> Job | None:
        if self.library is None:
            return None
        job = Job("remove folder", _query, self.library, lambda lib: lib.remove_folder(folder))
        job.result.connect(lambda _r: self.changed.emit("folders"))
        job.failed.connect(self.error)
        return self.files.submit(job)

    def apply_changes(self, changes: Iterable[Change]) -> Job | None:
        if self.library is None or self.files.stopped:
            return None
        job = Job("apply changes", _query, self.library, lambda lib: _apply_changes(lib, changes))
        job.result.connect(self._on_scanned)
        job.failed.connect(self.error)
        return self.files.submit(job)

    def _run_scan(self, job: Job) -> Job:
        job.result.connect(self._on_scanned)
        job.failed.connect(self.error)
        self._scans.add(job)
        job.finished.connect(lambda j=job: self._scans.discard(j))
        return self.files.submit(job)

    @property
    def scanning(self) -> bool:
        return bool(self._scans)

    def _on_scan_progress(self, value: ScanProgress | None) -> None:
        if value is not None:
            self.scan_progress.emit(value)

    def _on_scanned(self, report: ScanReport | list[ScanReport]) -> None:
        self.scan_finished.emit(report)
        self.changed.emit("photos")

    # ---- shutdown ----------------------------------------------------------------------------
    def shutdown(self) -> bool:
        ok = self.files.shutdown()
        ok = self.reads.shutdown() and ok
        if self.library is not None:
            self.library.close()
            self.library = None
        return ok

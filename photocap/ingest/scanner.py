"""Scanning a folder tree into the library: incremental, restartable, never destructive.

``walk(root, skipped)`` lists photo files (by extension *or* content) with their
``stat``, following symlinked folders but never the same folder twice (so no loops),
skipping hidden entries, and recording each folder or file it cannot read in
``skipped`` with a reason instead of failing: a folder it may not list, a broken link,
a link loop, a named pipe or device with a photo's name (never opened: reading a pipe
would wait forever). Entries that vanish while it lists are simply not there.

``scan(lib, folder, progress, should_stop)`` scans a watched folder given by id or path
(a path inside one scans that part); ``scan_folder(lib, folder_id, ...)`` compares the walk with what the
library knows below that folder:

* same path, size and mtime → nothing is read (a second scan of an unchanged tree is
  ``stat`` calls and one indexed query);
* new or changed files are examined (identity + header metadata) in chunks, outside any
  transaction, then written in one short ``BEGIN IMMEDIATE`` transaction per chunk;
* known photos that were not found are marked ``missing`` *before* new files are
  matched, so a file moved or renamed inside the tree is recognised by its identity and
  keeps its row, captions and history. A stopped scan marks nothing missing.
* folders and files that could not be listed or opened are kept in the ``problems``
  table (``Library.problems()``), replaced at each complete scan of the tree.
* one entry the database will not take never stops the rest: its chunk is written again
  file by file and that file becomes a problem with the reason.

``progress`` gets a :class:`ScanProgress` about ten times a second at most.

It reads and writes through the library's units of work (``lib.reading()``,
``lib.writing()``) with the store's row rules (:mod:`photocap.library.photos`).
"""

from __future__ import annotations

import os
import stat as _stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import OperationalError, StatementError
from sqlalchemy.orm import Session

from photocap.filenames import one_line, os_reason, special_file
from photocap.ingest import files
from photocap.library import photos
from photocap.library.records import Problem, ScanReport
from photocap.library.schema import Folder, Photo, utcnow
from photocap.library.schema import Problem as ProblemRow
from photocap.library.values import FOLDER_MISSING, FOLDER_OK, STATUS_MISSING

if TYPE_CHECKING:
    from photocap.library.library import Library

CHUNK = 200


@dataclass(frozen=True)
class ScanProgress:
    folder: str
    phase: str  # "listing" or "reading"
    seen: int  # photo files listed so far
    to_read: int  # new or changed files found (known once listing is done)
    read: int
    path: str | None = None


def walk(
    root: str, skipped: list[Problem], sidecars: dict[str, int] | None = None
) -> Iterator[tuple[str, os.stat_result]]:
    """Photo files below ``root`` with their stat; problems go to ``skipped``; the mtimes of
    the XMP / Takeout sidecars met on the way go to ``sidecars`` (path -> mtime_ns)."""
    from photocap import imaging, metadata  # imported where files are read: a search never pays for Pillow

    visited: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in visited:
                continue  # a symlink loop, or a second link to a folder already listed
            visited.add((st.st_dev, st.st_ino))
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except FileNotFoundError:
            continue  # vanished while we were listing its parent
        except OSError as exc:
            skipped.append(Problem(folder, os_reason(exc)))
            continue
        subdirs = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                est = entry.stat()  # follows symlinks
            except OSError as exc:
                if entry.is_symlink() and isinstance(exc, FileNotFoundError):
                    skipped.append(Problem(entry.path, "broken link"))
                elif not isinstance(exc, FileNotFoundError):  # else: vanished meanwhile
                    skipped.append(Problem(entry.path, os_reason(exc)))
                continue
            if _stat.S_ISDIR(est.st_mode):
                subdirs.append(entry.path)
            elif _stat.S_ISREG(est.st_mode):
                if sidecars is not None and entry.name.lower().endswith(metadata.SIDECAR_SUFFIXES):
                    sidecars[entry.path] = est.st_mtime_ns
                elif files.is_candidate(entry.path):
                    yield entry.path, est
            elif os.path.splitext(entry.name)[1].lower() in imaging.PHOTO_EXTENSIONS:
                skipped.append(Problem(entry.path, f"{special_file(est.st_mode)}, not a photo file"))
        stack.extend(reversed(subdirs))


def scan(
    lib: Library,
    folder: int | str | os.PathLike,
    progress: Callable[[ScanProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ScanReport:
    """Scan a watched folder (by id or path). A path inside a watched folder scans that
    part of it (a folder added meanwhile around this one by another process, say)."""
    if isinstance(folder, int):
        return scan_folder(lib, folder, progress, should_stop)
    path = photos.norm(folder)
    for attempt in range(3):  # the folder may be merged into one added around it meanwhile: look again
        with lib.reading() as s:
            holder = photos.root_of(s, path)
            if holder is None:
                raise KeyError(f"{folder} is not a library folder")
            folder_id, root = holder.id, holder.path
        try:
            return scan_folder(lib, folder_id, progress, should_stop, subtree=None if path == root else path)
        except KeyError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def scan_folder(
    lib: Library,
    folder_id: int,
    progress: Callable[[ScanProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    subtree: str | None = None,
) -> ScanReport:
    """Bring the library in line with the files below a watched folder (or one ``subtree`` of it)."""
    from photocap import metadata

    t0 = time.perf_counter()
    with lib.reading() as s:
        folder = s.get(Folder, folder_id)
        if folder is None:  # merged into a folder around it meanwhile (another process, say)
            raise KeyError(f"folder {folder_id} is no longer in the library")
        root = folder.path
    top = photos.norm(subtree) if subtree else root
    report = ScanReport(folder=top)
    stopped = should_stop or (lambda: False)
    if not os.path.isdir(root):  # unplugged or deleted: everything below is missing, nothing deleted
        with lib.writing() as s:
            report.missing = photos.mark_missing(s, prefix=root)
            s.execute(update(Folder).where(Folder.id == folder_id).values(status=FOLDER_MISSING))
        report.skipped.append(Problem(root, "folder not found (unplugged or deleted?)"))
        report.seconds = time.perf_counter() - t0
        return report

    with lib.reading() as s:
        known = {
            row.path: row
            for row in s.execute(
                select(Photo.id, Photo.path, Photo.size, Photo.mtime_ns, Photo.status, Photo.sidecar_mtime_ns).where(
                    photos.under(Photo.path, top)
                )
            )
        }
    sidecars: dict[str, int] = {}
    tick = _Ticker(progress)
    to_read: list[tuple[str, os.stat_result]] = []
    restore: list[int] = []
    seen: set[str] = set()
    for path, st in walk(top, report.skipped, sidecars):
        seen.add(path)
        row = known.get(path)
        if (
            row is not None
            and row.size == st.st_size
            and row.mtime_ns == st.st_mtime_ns
            and row.sidecar_mtime_ns == metadata.newest_sidecar(path, sidecars)
        ):
            if row.status == STATUS_MISSING:
                restore.append(row.id)
            else:
                report.unchanged += 1
        else:
            to_read.append((path, st))
        tick(ScanProgress(top, "listing", len(seen), len(to_read), 0, path))
        if len(seen) % 256 == 0 and stopped():
            report.stopped = True
            break
    report.seen = len(seen)

    gone: list[int] = []
    with lib.writing() as s:
        if restore:
            s.execute(update(Photo).where(Photo.id.in_(restore)).values(status="ok", updated_at=utcnow()))
            report.restored += len(restore)
        if not report.stopped:
            gone = [row.id for path, row in known.items() if path not in seen and row.status != STATUS_MISSING]
            for i in range(0, len(gone), 500):
                report.missing += photos.mark_missing(s, ids=gone[i : i + 500])
            s.execute(update(Folder).where(Folder.id == folder_id).values(status=FOLDER_OK, last_scan_at=utcnow()))

    for i in range(0, len(to_read), CHUNK):
        if stopped():
            report.stopped = True
            break
        chunk = [files.examine(path, st) for path, st in to_read[i : i + CHUNK]]
        apply_facts(lib, chunk, folder_id, root, report)
        tick(ScanProgress(top, "reading", report.seen, len(to_read), i + len(chunk), chunk[-1].path), force=True)
    if not report.stopped:
        _record_skipped(lib, top, report.skipped)
    if report.missing and report.moved:  # rows marked missing above that found their file again
        with lib.reading() as s:
            report.missing = (
                s.scalar(
                    select(func.count()).select_from(Photo).where(Photo.id.in_(gone), Photo.status == STATUS_MISSING)
                )
                or 0
            )
    report.seconds = time.perf_counter() - t0
    return report


def _record_skipped(lib: Library, top: str, skipped: list[Problem]) -> None:
    """Keep the problems list of this tree current: what was skipped now, nothing stale."""
    with lib.writing() as s:
        s.execute(delete(ProblemRow).where(or_(photos.under(ProblemRow.path, top), ProblemRow.path == top)))
        for p in {p.path: p for p in skipped}.values():
            s.add(ProblemRow(path=p.path, reason=p.reason))


def apply_facts(
    lib: Library, facts: list[photos.FileFacts], folder_id: int | None, root: str | None, report: ScanReport
) -> None:
    """Write examined files in one transaction, counting outcomes into ``report``. If the
    database refuses one entry, the others are written one by one and it becomes a problem.

    The folder is looked up again inside the transaction: another process or thread may
    have merged it into a folder around it since the scan began (its photos then belong
    to that one)."""
    try:
        with lib.writing() as s:
            fid, froot = _current_folder(s, facts, folder_id, root)
            outcomes = [_apply_one(s, f, fid, froot) for f in facts]
    except OperationalError:
        raise  # busy, full, read-only: about the library, not one entry
    except (StatementError, ValueError):
        outcomes = []
        for f in facts:
            try:
                with lib.writing() as s:
                    fid, froot = _current_folder(s, [f], folder_id, root)
                    outcomes.append(_apply_one(s, f, fid, froot))
            except OperationalError:
                raise
            except (StatementError, ValueError) as exc:
                reason = one_line(str(getattr(exc, "orig", None) or exc))
                outcomes.append(
                    (
                        "skipped",
                        photos.FileFacts(f.path, f.size, f.mtime_ns, None, None, f"could not be recorded: {reason}"),
                    )
                )
    for outcome, f in outcomes:
        if outcome == "skipped":
            report.skipped.append(Problem(f.path, f.error or "unreadable"))
            continue
        if outcome not in ("unchanged", "gone"):
            setattr(report, outcome, getattr(report, outcome) + 1)
        if outcome != "gone" and f.error is not None:
            report.unreadable += 1
            report.errors.append(Problem(f.path, f.error))


def _current_folder(
    s: Session, facts: list[photos.FileFacts], folder_id: int | None, root: str | None
) -> tuple[int | None, str | None]:
    if folder_id is not None and facts and s.get(Folder, folder_id) is None:
        holder = photos.root_of(s, facts[0].path)
        return (holder.id, holder.path) if holder is not None else (None, None)
    return folder_id, root


def _apply_one(
    s: Session, f: photos.FileFacts, folder_id: int | None, root: str | None
) -> tuple[str, photos.FileFacts]:
    if f.gone:  # vanished between listing and reading: a known row is missing, nothing else
        photos.mark_missing(s, path=f.path)
        return "gone", f
    if f.identity is None:  # could not even be opened: not a row, a problem
        return "skipped", f
    outcome = photos.upsert(s, f, folder_id, root)
    s.flush()
    return outcome, f


class _Ticker:
    """Calls ``progress`` at most ten times a second (and always when forced)."""

    def __init__(self, progress: Callable[[ScanProgress], None] | None) -> None:
        self.progress = progress
        self.last = 0.0

    def __call__(self, info: ScanProgress, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if force or now - self.last >= 0.1:
            self.last = now
            self.progress(info)

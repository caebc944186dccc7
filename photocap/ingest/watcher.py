"""Live watching with watchdog, and applying what it saw to the library.

``FolderWatcher(roots, on_change)`` follows folder trees and calls
``on_change(list[Change])`` with *settled* changes:

* **Debounce.** One copy fires created + modified + modified (+ closed): events are
  merged per path and a path is reported only after ``debounce`` seconds without
  events *and* with the same size and mtime as at its last event, so a file still being
  written (by a slow copy or a download) is not read until it is complete.
* **Threads.** watchdog's thread only records events (strings and a ``stat``) under a
  lock. A watcher thread of our own does the timing and calls ``on_change``; it never
  touches the database either: the callback hands batches to a worker (the CLI puts them
  on a ``queue.Queue``; the app emits them through a queued Qt signal).
* **Fallbacks.** Each root is watched with the native observer (inotify on Linux); if
  that fails with ``OSError`` (the inotify watch or instance limit: ENOSPC/EMFILE),
  or for roots the user marked as network folders, a ``PollingObserver`` watches it.
  ``modes`` says which each root got and why.
* **Disappearing roots.** Every ``root_check`` seconds each root is checked; one that
  vanished (unplugged disk, deleted folder) is reported as ``root_missing`` and watched
  again, with a ``rescan``, when it comes back.
* **Time.** Every "seconds" above is read from ``clock`` (``time.monotonic`` by default). A test
  injects its own clock and calls :meth:`FolderWatcher.wake` after moving it, so the debounce
  and the root check are tested without waiting on wall time.

``apply_changes(lib, changes)`` turns a batch into library updates: new/changed file
→ examine and add/update (a changed file's automatic caption becomes stale; a user
caption is never touched); moved → the row follows the file with its captions; deleted →
missing (captions kept); new or moved-in folder → scan that subtree.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import update
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from photocap import metadata
from photocap.ingest import files, scanner
from photocap.library import photos
from photocap.library.records import FolderInfo, ScanReport
from photocap.library.schema import Folder
from photocap.library.values import FOLDER_MISSING

if TYPE_CHECKING:
    from photocap.library.library import Library

log = logging.getLogger(__name__)

CREATED, MODIFIED, DELETED, MOVED, RESCAN, ROOT_MISSING = (
    "created",
    "modified",
    "deleted",
    "moved",
    "rescan",
    "root_missing",
)


@dataclass(frozen=True)
class Change:
    kind: str  # created / modified / deleted / moved / rescan / root_missing
    path: str
    src: str | None = None  # for moves: the old path
    is_dir: bool = False


@dataclass
class _Pending:
    kind: str
    src: str | None
    is_dir: bool
    last_event: float
    stat: tuple[int, int] | None


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns
    except OSError:
        return None


class _Handler(FileSystemEventHandler):
    def __init__(self, record: Callable[[FileSystemEvent], None]):
        self.record = record

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.record(event)


class FolderWatcher:
    def __init__(
        self,
        roots: Iterable[str | os.PathLike[str]],
        on_change: Callable[[list[Change]], None],
        *,
        debounce: float = 1.5,
        polling_roots: Iterable[str | os.PathLike[str]] = (),
        force_polling: bool = False,
        poll_interval: float = 2.0,
        root_check: float = 2.0,
        observer_factory: Callable[[], BaseObserver] = Observer,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.roots = [photos.norm(r) for r in roots]
        self.on_change = on_change
        self.debounce = debounce
        self.root_check = root_check
        self._clock = clock
        self._force_polling = force_polling
        self._polling_roots = {photos.norm(r) for r in polling_roots} | (set(self.roots) if force_polling else set())
        self._observer = observer_factory()
        self._poller = PollingObserver(timeout=poll_interval)
        self._handler = _Handler(self._record)
        self._watches: dict[str, tuple[BaseObserver, ObservedWatch]] = {}  # root -> (observer, watch)
        self.modes: dict[str, str] = {}  # root -> "native", "polling", "polling (why)", "missing"
        self._pending: dict[str, _Pending] = {}
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="photocap-watcher", daemon=True)
        self._present: dict[str, bool] = {}
        self._roots_lock = threading.Lock()  # the root set: set_roots() vs. the root check

    # ---- life cycle --------------------------------------------------------------------
    def start(self) -> FolderWatcher:
        self._observer.start()
        self._poller.start()
        for root in self.roots:
            self._follow(root)
        self._thread.start()
        return self

    def set_roots(
        self, roots: Iterable[str | os.PathLike[str]], polling_roots: Iterable[str | os.PathLike[str]] = ()
    ) -> None:
        """Follow exactly ``roots`` from now on, without a restart: folders still watched keep
        their watches and their changes waiting out the debounce; a removed folder's pending
        changes are dropped. (Blocking: scheduling walks the new trees; not for a GUI thread.)"""
        new = [photos.norm(r) for r in roots]
        polling = {photos.norm(r) for r in polling_roots} | (set(new) if self._force_polling else set())
        with self._roots_lock:
            old = set(self.roots)
            for root in self.roots:
                if root not in new or (root in polling) != (root in self._polling_roots):
                    self._unschedule(root)
                    self._present.pop(root, None)
                    self.modes.pop(root, None)
            self._polling_roots = polling
            for root in new:
                if root not in self._present:
                    self._follow(root)
            self.roots = new
        gone = old - set(new)
        if gone:
            with self._cond:
                for path in list(self._pending):
                    if any(photos.is_inside(path, root) for root in gone) and not any(
                        photos.is_inside(path, r) for r in new
                    ):
                        del self._pending[path]

    def wake(self) -> None:
        """Look at the pending changes and the roots now (call it after moving an injected clock)."""
        with self._cond:
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for obs in (self._observer, self._poller):
            obs.stop()
        for obs in (self._observer, self._poller):
            if obs.is_alive():
                obs.join(timeout=5)
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def __enter__(self) -> FolderWatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _follow(self, root: str) -> None:
        """Start following ``root``: watched if it is there, else noted missing (the root
        check schedules it when it appears)."""
        self._present[root] = os.path.isdir(root)
        if self._present[root]:
            self._schedule(root)
        else:
            self.modes[root] = "missing"

    def _schedule(self, root: str) -> None:
        if root not in self._polling_roots:
            try:
                watch = self._observer.schedule(self._handler, root, recursive=True)
                self._watches[root] = (self._observer, watch)
                self.modes[root] = "native"
                return
            except OSError as exc:  # inotify watch/instance limit, or no native backend here
                log.warning("watching %s by polling: %s", root, exc)
                self.modes[root] = f"polling ({exc.strerror or exc})"
        else:
            self.modes[root] = "polling"
        self._watches[root] = (self._poller, self._poller.schedule(self._handler, root, recursive=True))

    def _unschedule(self, root: str) -> None:
        found = self._watches.pop(root, None)
        if found is not None:
            observer, watch = found
            try:
                observer.unschedule(watch)
            except Exception:
                log.debug("unschedule %s failed", root, exc_info=True)

    # ---- watchdog's thread: record only ------------------------------------------------
    def _record(self, event: FileSystemEvent) -> None:
        kind = event.event_type
        path, is_dir = os.fsdecode(event.src_path), event.is_directory
        dest = os.fsdecode(event.dest_path) if getattr(event, "dest_path", "") else None
        if kind in ("opened", "closed_no_write") or (is_dir and kind in ("modified", "closed")):
            return
        now = self._clock()
        with self._cond:
            if kind == "moved" and dest:
                before = self._pending.pop(path, None)
                if before is not None and before.kind == CREATED:  # e.g. "photo.jpg.part" -> "photo.jpg"
                    self._pending[dest] = _Pending(CREATED, None, is_dir, now, _stat(dest))
                else:
                    src = before.src if before is not None and before.kind == MOVED else path
                    self._pending[dest] = _Pending(MOVED, src, is_dir, now, _stat(dest))
            elif kind == "deleted":
                self._pending[path] = _Pending(DELETED, None, is_dir, now, None)
            elif kind in ("created", "modified", "closed", "attrib"):
                before = self._pending.get(path)
                if is_dir:
                    new_kind = RESCAN
                elif before is not None and before.kind in (CREATED, MOVED):
                    new_kind = before.kind
                else:
                    new_kind = CREATED if kind == "created" else MODIFIED
                src = before.src if before is not None and new_kind == MOVED else None
                self._pending[path] = _Pending(new_kind, src, is_dir, now, None if is_dir else _stat(path))
            else:
                return
            self._cond.notify_all()

    # ---- our thread: settle, batch, report ---------------------------------------------
    def _run(self) -> None:
        next_root_check = self._clock() + self.root_check
        while True:
            with self._cond:
                if self._stopping:
                    return
                now = self._clock()
                ready = self._take_settled(now)
                if not ready:
                    due = [p.last_event + self.debounce for p in self._pending.values()]
                    self._cond.wait(max(0.01, min([*due, next_root_check]) - now))
            if self._clock() >= next_root_check:
                ready += self._check_roots()
                next_root_check = self._clock() + self.root_check
            if ready:
                try:
                    self.on_change(ready)
                except Exception:
                    log.exception("on_change failed")

    def _take_settled(self, now: float) -> list[Change]:
        ready = []
        for path, p in list(self._pending.items()):
            if now - p.last_event < self.debounce:
                continue
            if not p.is_dir and p.kind != DELETED:
                current = _stat(path)
                if current is not None and current != p.stat:  # still being written: wait again
                    p.stat, p.last_event = current, now
                    continue
            del self._pending[path]
            ready.append(Change(p.kind, path, p.src, p.is_dir))
        return ready

    def _check_roots(self) -> list[Change]:
        with self._roots_lock:
            return self._check_roots_locked()

    def _check_roots_locked(self) -> list[Change]:
        changes = []
        for root in self.roots:
            present = os.path.isdir(root)
            if present == self._present.get(root):
                continue
            self._present[root] = present
            if present:
                self._unschedule(root)
                self._schedule(root)
                changes.append(Change(RESCAN, root, is_dir=True))
            else:
                self._unschedule(root)
                self.modes[root] = "missing"
                changes.append(Change(ROOT_MISSING, root, is_dir=True))
        return changes


_ORDER = {ROOT_MISSING: 0, DELETED: 1, MOVED: 2, CREATED: 3, MODIFIED: 3, RESCAN: 4}


def apply_changes(lib: Library, changes: list[Change]) -> ScanReport:
    """Apply one batch of watcher changes; returns what it did (like a scan report)."""
    t0 = time.perf_counter()
    report = ScanReport(folder="(changes)")
    folders = lib.folders()

    def owner(path: str) -> FolderInfo | None:
        return next((f for f in folders if photos.is_inside(path, f.path)), None)

    to_examine: list[tuple[str, FolderInfo]] = []
    for ch in sorted(changes, key=lambda c: _ORDER.get(c.kind, 9)):
        folder = owner(ch.path)
        if ch.kind == ROOT_MISSING or (ch.kind == DELETED and folder is not None and ch.path == folder.path):
            with lib.writing() as s:
                report.missing += photos.mark_missing(s, prefix=ch.path)
                s.execute(update(Folder).where(Folder.path == ch.path).values(status=FOLDER_MISSING))
        elif ch.kind == DELETED and not ch.is_dir and ch.path.lower().endswith(metadata.SIDECAR_SUFFIXES):
            to_examine += [(p, folder) for p in metadata.photos_for_sidecar(ch.path) if folder is not None]
        elif ch.kind == DELETED:
            with lib.writing() as s:
                report.missing += (
                    photos.mark_missing(s, prefix=ch.path) if ch.is_dir else photos.mark_missing(s, path=ch.path)
                )
        elif ch.kind == MOVED:
            _apply_move(lib, ch, folder, report, to_examine)
        elif ch.kind in (CREATED, MODIFIED) and folder is not None:
            if os.path.isfile(ch.path) and files.is_candidate(ch.path):
                to_examine.append((ch.path, folder))
            else:  # a sidecar another app (or photocap) wrote: read its photo again
                to_examine += [(p, folder) for p in metadata.photos_for_sidecar(ch.path)]
        elif ch.kind == RESCAN and folder is not None:
            report.merge(scanner.scan_folder(lib, folder.id, subtree=ch.path))
    for path, folder in to_examine:  # I/O outside transactions, one short write each
        scanner.apply_facts(lib, [files.examine(path)], folder.id, folder.path, report)
        report.seen += 1
    report.seconds = time.perf_counter() - t0
    return report


def _apply_move(
    lib: Library, ch: Change, folder: FolderInfo | None, report: ScanReport, to_examine: list[tuple[str, FolderInfo]]
) -> None:
    """A move the observer reported. It is believed file by file, only where the file now at
    the new path has the content identity of the row at the old one: an unrelated file that
    got a deleted file's inode number is a missing photo and a new one, never a move."""
    src = ch.src
    if src is None:  # (a move always names the old path)
        return
    if folder is None:  # moved out of every watched folder: gone from the library's point of view
        with lib.writing() as s:
            report.missing += photos.mark_missing(s, prefix=src) if ch.is_dir else photos.mark_missing(s, path=src)
        return
    if ch.is_dir:
        with lib.reading() as s:
            known = photos.tree_identities(s, src, ch.path)
        same = {pid: new for pid, (new, identity) in known.items() if files.identity_or_none(new) == identity}
        with lib.writing() as s:
            moved = photos.move_tree(s, same, folder.id, folder.path)
            if not os.path.isdir(src):
                report.missing += photos.mark_missing(s, prefix=src)  # what did not follow its file
        report.moved += moved
        report.merge(scanner.scan_folder(lib, folder.id, subtree=ch.path))  # new files, moved in from outside
        return
    identity = files.identity_or_none(ch.path)
    with lib.writing() as s:
        moved = photos.move_path(s, src, ch.path, folder.id, folder.path, identity)
        if not moved and not os.path.lexists(src):
            report.missing += photos.mark_missing(s, path=src)
    report.moved += int(moved)
    if not moved and os.path.isfile(ch.path) and files.is_candidate(ch.path):
        to_examine.append((ch.path, folder))  # a new photo (or one renamed from a temporary name)
    elif not moved:  # a sidecar saved the safe way (temporary file renamed over it)
        to_examine += [(p, folder) for p in metadata.photos_for_sidecar(ch.path)]

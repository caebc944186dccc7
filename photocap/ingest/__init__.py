"""Ingest: files into the library. Scanning folder trees and watching them live.

Apart from the store (:mod:`photocap.library`), which never imports it (``lint-imports``
checks, and that ingest imports neither Qt nor torch). Ingest reads files outside any
transaction (:mod:`.files`: is it a photo, its content identity, its metadata) and writes
what it found through the library's public units of work (``lib.reading()`` /
``lib.writing()``) with the store's row rules (:mod:`photocap.library.photos`)::

    from photocap.ingest import FolderWatcher, apply_changes, scan
    report = scan(lib, folder.id, progress=print)     # or a path inside a watched folder
    with FolderWatcher([f.path for f in lib.folders()], batches.put) as watcher:
        ...
        apply_changes(lib, batches.get())            # on a worker thread, never watchdog's

Modules: ``files`` (a file's facts), ``scanner`` (a whole tree), ``watcher`` (live changes,
debounced, and applying a batch of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from photocap.lazy import lazy_exports

# Imported on first use (PEP 562): the app imports the watcher (and watchdog) only when it watches.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "photocap.ingest.scanner": ("ScanProgress", "scan", "scan_folder"),
    "photocap.ingest.watcher": ("Change", "FolderWatcher", "apply_changes"),
}
__getattr__ = lazy_exports(globals(), _EXPORTS)


if TYPE_CHECKING:
    from photocap.ingest.scanner import ScanProgress as ScanProgress
    from photocap.ingest.scanner import scan as scan
    from photocap.ingest.scanner import scan_folder as scan_folder
    from photocap.ingest.watcher import Change as Change
    from photocap.ingest.watcher import FolderWatcher as FolderWatcher
    from photocap.ingest.watcher import apply_changes as apply_changes

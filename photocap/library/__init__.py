"""The photo library: SQLite through SQLAlchemy, FTS5 search, folder scanning, live watching.

Knows nothing of torch or Qt (``lint-imports`` checks). Start here::

    from photocap.library import open_library, PhotoFilter
    lib = open_library()                 # or open_library("/path/to/library.sqlite")
    folder = lib.add_folder("~/Pictures")
    report = lib.scan(folder.id, progress=print)
    for ref in lib.photos_needing_caption(engine.model_id, limit=64): ...
    lib.search('dog -cat "on the beach"', PhotoFilter(sources=("user",)))

Modules: ``db`` (engine, pragmas, migrations, ``open_library``), ``schema`` (ORM
models), ``migrations/`` (Alembic), ``fts`` (index names, query parser), ``search``
(ranked search, filters, grid listing), ``photos`` (file → row rules), ``captions``
(captions, history, tags, protection of user captions), ``models`` (model versions,
training runs), ``identity`` (content identity), ``scanner``, ``watcher``, ``records``
(the dataclasses returned), ``library`` (the :class:`Library` facade; its docstring
lists the API).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from photocap.lazy import lazy_exports

# What each name is imported from. Imported on first use (PEP 562), so that a command that
# only searches does not pay for the watcher, the scanner's image reading or Alembic.
_EXPORTS = {
    "photocap.library.db": ("LibraryCorrupt", "LibraryError", "LibraryFull", "LibraryNotFound", "LibraryReadOnly",
                            "LibraryTooNew", "MissingFTS5", "NotALibrary", "open_library", "restore_backup"),
    "photocap.library.library": ("Library",),
    "photocap.library.records": ("CaptionRecord", "FolderInfo", "ModelVersionInfo", "PhotoDetail", "PhotoRef",
                                 "PhotoSummary", "Problem", "ScanReport", "SearchHit", "TrainingRunInfo",
                                 "UserCaption"),
    "photocap.library.scanner": ("ScanProgress",),
    "photocap.library.schema": ("SOURCE_IMPORTED", "SOURCE_MODEL", "SOURCE_TAGS", "SOURCE_USER", "SOURCES"),
    "photocap.library.search": ("LibraryBusy", "LibraryUnreadable", "PhotoFilter", "SearchCancelled", "SearchError"),
    "photocap.library.watcher": ("Change", "FolderWatcher", "apply_changes"),
}
__getattr__ = lazy_exports(globals(), _EXPORTS)


if TYPE_CHECKING:
    from photocap.library.db import (
        LibraryCorrupt, LibraryError, LibraryFull, LibraryNotFound, LibraryReadOnly, LibraryTooNew, MissingFTS5,
        NotALibrary, open_library, restore_backup,
    )
    from photocap.library.library import Library
    from photocap.library.records import (
        CaptionRecord, FolderInfo, ModelVersionInfo, PhotoDetail, PhotoRef, PhotoSummary, Problem, ScanReport,
        SearchHit, TrainingRunInfo, UserCaption,
    )
    from photocap.library.scanner import ScanProgress
    from photocap.library.schema import SOURCE_IMPORTED, SOURCE_MODEL, SOURCE_TAGS, SOURCE_USER, SOURCES
    from photocap.library.search import LibraryBusy, LibraryUnreadable, PhotoFilter, SearchCancelled, SearchError
    from photocap.library.watcher import Change, FolderWatcher, apply_changes

"""The photo library, the store: SQLite through SQLAlchemy, FTS5 search, captions, model versions.

Knows nothing of torch or Qt, nor of ingest (``lint-imports`` checks). Files come in through
:mod:`photocap.ingest` (scanner, watcher), which writes through the library's public units of
work (``Library.reading()`` / ``Library.writing()``). Start here::

    from photocap.ingest import scan
    from photocap.library import open_library, PhotoFilter
    lib = open_library()                 # or open_library("/path/to/library.sqlite")
    folder = lib.add_folder("~/Pictures")
    report = scan(lib, folder.id, progress=print)
    for ref in lib.photos_needing_caption(caption_engine.model_id, limit=64): ...
    lib.search('dog -cat "on the beach"', PhotoFilter(sources=("user",)))

Modules: ``db`` (the SQL engine, pragmas, migrations, opening the file), ``schema`` (ORM
models), ``migrations/`` (Alembic), ``fts`` (index names, query parser), ``search``
(ranked search, filters, grid listing), ``photos`` (files' facts → row rules, for ingest),
``captions`` (captions, history, tags, protection of user captions), ``model_versions``
(model versions, training runs), ``identity`` (the held-out rule on content identity),
``records`` (the dataclasses returned), ``library`` (the :class:`Library` facade and
``open_library``; its docstring lists the API).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from photocap.lazy import lazy_exports

# What each name is imported from. Imported on first use (PEP 562), so that a command that
# only searches imports only what it uses (never Alembic, never the scanner of photocap.ingest).
_EXPORTS = {
    "photocap.library.db": (
        "LibraryCorrupt",
        "LibraryError",
        "LibraryFull",
        "LibraryNotFound",
        "LibraryReadOnly",
        "LibraryTooNew",
        "MissingFTS5",
        "NotALibrary",
        "restore_backup",
    ),
    "photocap.library.library": ("Library", "open_library"),
    "photocap.library.records": (
        "CaptionRecord",
        "FolderInfo",
        "ModelVersionInfo",
        "PhotoDetail",
        "PhotoRef",
        "PhotoSummary",
        "Problem",
        "ScanReport",
        "SearchHit",
        "TrainingRunInfo",
        "UserCaption",
    ),
    "photocap.library.values": ("SOURCE_IMPORTED", "SOURCE_MODEL", "SOURCE_TAGS", "SOURCE_USER", "SOURCES"),
    "photocap.library.search": ("LibraryBusy", "LibraryUnreadable", "PhotoFilter", "SearchCancelled", "SearchError"),
}
__getattr__ = lazy_exports(globals(), _EXPORTS)


if TYPE_CHECKING:
    from photocap.library.db import (
        LibraryCorrupt as LibraryCorrupt,
    )
    from photocap.library.db import (
        LibraryError as LibraryError,
    )
    from photocap.library.db import (
        LibraryFull as LibraryFull,
    )
    from photocap.library.db import (
        LibraryNotFound as LibraryNotFound,
    )
    from photocap.library.db import (
        LibraryReadOnly as LibraryReadOnly,
    )
    from photocap.library.db import (
        LibraryTooNew as LibraryTooNew,
    )
    from photocap.library.db import (
        MissingFTS5 as MissingFTS5,
    )
    from photocap.library.db import (
        NotALibrary as NotALibrary,
    )
    from photocap.library.db import (
        restore_backup as restore_backup,
    )
    from photocap.library.library import Library as Library
    from photocap.library.library import open_library as open_library
    from photocap.library.records import (
        CaptionRecord as CaptionRecord,
    )
    from photocap.library.records import (
        FolderInfo as FolderInfo,
    )
    from photocap.library.records import (
        ModelVersionInfo as ModelVersionInfo,
    )
    from photocap.library.records import (
        PhotoDetail as PhotoDetail,
    )
    from photocap.library.records import (
        PhotoRef as PhotoRef,
    )
    from photocap.library.records import (
        PhotoSummary as PhotoSummary,
    )
    from photocap.library.records import (
        Problem as Problem,
    )
    from photocap.library.records import (
        ScanReport as ScanReport,
    )
    from photocap.library.records import (
        SearchHit as SearchHit,
    )
    from photocap.library.records import (
        TrainingRunInfo as TrainingRunInfo,
    )
    from photocap.library.records import (
        UserCaption as UserCaption,
    )
    from photocap.library.search import (
        LibraryBusy as LibraryBusy,
    )
    from photocap.library.search import (
        LibraryUnreadable as LibraryUnreadable,
    )
    from photocap.library.search import (
        PhotoFilter as PhotoFilter,
    )
    from photocap.library.search import (
        SearchCancelled as SearchCancelled,
    )
    from photocap.library.search import (
        SearchError as SearchError,
    )
    from photocap.library.values import (
        SOURCE_IMPORTED as SOURCE_IMPORTED,
    )
    from photocap.library.values import (
        SOURCE_MODEL as SOURCE_MODEL,
    )
    from photocap.library.values import (
        SOURCE_TAGS as SOURCE_TAGS,
    )
    from photocap.library.values import (
        SOURCE_USER as SOURCE_USER,
    )
    from photocap.library.values import (
        SOURCES as SOURCES,
    )

"""The library read through plain ``sqlite3``: a one-shot search from the command line.

A ``photocap search`` is a new process each time, and importing SQLAlchemy's ORM alone
took 0.9 CPU-s of it, against a few milliseconds for the search (``bench/cli_cold_search.py``).
:func:`open_reader` gives a :class:`Reader` over a read-only connection of its own when the
file is a library at photocap's newest schema revision, and None otherwise (no library
there yet, or an older one that needs an upgrade): the caller then opens it the usual way
(:func:`photocap.library.open_library`), which says what is wrong or upgrades it. A file
that is not a library, or a damaged one, raises the same errors as ``open_library``.

The search is the app's own code (:mod:`.search`, :mod:`.hybrid`); only the door differs.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photocap import paths
from photocap.library import search as _search
from photocap.library.db import BUSY_TIMEOUT_MS, _connect_ro, _from_sqlite, head_revision, inspect_file
from photocap.library.records import SearchHit
from photocap.library.search import PhotoFilter

if TYPE_CHECKING:
    from photocap.library.vectors import VectorStore


class Reader:
    """Searches one library file, read-only; use as a context manager (or call :meth:`close`)."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn, self.path = conn, path
        self._vectors: VectorStore | None = None  # made by the first search by meaning (numpy is imported only then)

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    def search(
        self,
        query: str,
        filters: PhotoFilter | None = None,
        limit: int = 50,
        offset: int = 0,
        marks: tuple[str, str] = ("[", "]"),
        should_stop: Callable[[], bool] | None = None,
        query_vector: Any = None,
        vector_model: str | None = None,
    ) -> list[SearchHit]:
        """As :meth:`photocap.library.library.Library.search`, in one read transaction."""
        try:
            self.conn.execute("BEGIN")
            try:
                if query_vector is None:
                    return _search.search(self.conn, query, filters, limit, offset, marks, should_stop)
                from photocap.library import hybrid, vectors

                self._vectors = self._vectors or vectors.VectorStore()
                return hybrid.fused_search(
                    self.conn,
                    self._vectors,
                    query,
                    query_vector,
                    vector_model,
                    filters,
                    limit,
                    offset,
                    marks,
                    should_stop,
                )
            finally:
                self.conn.execute("COMMIT")
        except sqlite3.Error as error:  # beginning or ending the read, outside the search itself
            raise _search.explain(error) from error

    def has_text_vectors(self, model_id: str | None = None) -> bool:
        from photocap.library import vector_rows

        try:
            return vector_rows.has_text_vectors(self.conn, model_id)
        except sqlite3.Error as error:
            raise _search.explain(error) from error


def open_reader(path: str | os.PathLike[str] | None = None) -> Reader | None:
    """A :class:`Reader` on the library at ``path`` (default: the user's), or None when it must be
    opened the usual way (missing, or made by an older photocap)."""
    path = Path(os.path.abspath(path if path is not None else paths.default_library_path()))
    state = inspect_file(path)
    if not state.exists or state.revision != head_revision():
        return None
    try:
        conn, _immutable = _connect_ro(path)
        conn.isolation_level = None  # BEGIN and COMMIT are ours: one snapshot per search
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    except sqlite3.DatabaseError as error:
        raise _from_sqlite(error, path) from error
    return Reader(conn, path)

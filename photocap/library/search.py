"""Ranked search and filtered listing.

``search(conn, text, filters, limit, offset)`` runs the user's words (parsed by
:func:`photocap.library.fts.parse_query`) against the FTS5 index, ranked by
``bm25`` with the caption weighted highest, and returns :class:`SearchHit` rows with a
highlighted snippet. It runs in two steps on purpose: the first ranks and pages using
only the index; the second computes snippets for just the page (``snippet()`` in the
ranking query would build one for every matching row before sorting). Queries that
match very many photos are ranked among the newest ``RANK_CAP`` of them (see there).
Deep pages (``offset + limit`` over half of ``RANK_CAP``) rank every match.

``PhotoFilter`` is shared with the grid's ``list_photo_ids``/``count_photos``: folder,
date-taken range, caption sources ("edited by me" = ``sources=("user",)``), "needs
review", and whether missing photos are included (not by default).

A query with no words (only punctuation, only exclusions, or empty) lists photos by the
filters instead of raising. Whatever the text, the parser bounds the work (see
:mod:`photocap.library.fts`). A library that cannot answer is never passed off as "no
results": a busy or locked file raises :class:`LibraryBusy`, an unreadable or damaged one
:class:`LibraryUnreadable`, each with a message saying why. ``should_stop`` (a callable,
polled by SQLite every few thousand steps) interrupts a running search: the window stops
the previous search when the next keystroke arrives; it then raises :class:`SearchCancelled`.

Everything here is SQL on a plain ``sqlite3`` connection: the app passes the driver
connection of its read transaction (:meth:`Library.search`), the command line a read-only
connection of its own (:mod:`photocap.library.reader`) without importing SQLAlchemy, whose
import alone took 0.9 CPU-s of a one-shot ``photocap search``. One search, two doors.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from photocap.library.db import LibraryError
from photocap.library.fts import (
    BM25_WEIGHTS,
    FTS_COLUMNS,
    FTS_TABLE,
    TOKENIZER,
    FtsQuery,
    combined_match,
    could_match_facets,
    parse_query,
    text_only,
)
from photocap.library.records import SearchHit
from photocap.library.values import AUTOMATIC_SOURCES, STATUS_MISSING

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhotoFilter:
    folder: str | None = None  # a folder path: photos anywhere below it
    folder_id: int | None = None  # a watched folder
    taken_from: _dt.datetime | _dt.date | None = None  # inclusive
    taken_to: _dt.datetime | _dt.date | None = None  # inclusive (a date means the whole day)
    sources: tuple[str, ...] | None = None  # caption sources; "none" means "no caption yet"
    needs_review: bool | None = None  # automatic caption the user has not looked at
    include_missing: bool = False

    def facets(self) -> list[str]:
        """The filters FTS5 can apply itself (as facet words, see schema.FACETS_SQL).

        The SQL :meth:`where` is applied as well: facets only narrow the rows early
        (dates to the month), the clauses are exact. Only filters that are usually
        selective become facets: intersecting a facet that most photos have ("review",
        "srcmodel") cost 30% more than the newest-first walk (measured on 100,000
        photos), while a selective one is 3-4x faster.
        """
        out = []
        if self.folder_id is not None:
            out.append(f'"f{int(self.folder_id)}"')
        if self.sources and not set(self.sources) & set(AUTOMATIC_SOURCES):
            out.append(" OR ".join(f'"src{s}"' for s in self.sources if s.isalpha()) or '"src"')
        if self.taken_from is not None and self.taken_to is not None:
            months = _month_words(_start(self.taken_from), _end(self.taken_to) - _dt.timedelta(microseconds=1))
            if months:
                out.append(" OR ".join(months))
        return out

    def where(self) -> tuple[str, list[object]]:
        """The filters as one SQL condition on ``photos`` ("1" when there are none) and its parameters."""
        parts: list[str] = []
        params: list[object] = []
        if not self.include_missing:
            parts.append("photos.status != ?")
            params.append(STATUS_MISSING)
        if self.folder:
            # strictly below the folder (an index range on the path bytes, no LIKE escaping), or the folder itself
            folder = os.path.abspath(self.folder)
            prefix = folder.rstrip(os.sep) + os.sep
            parts.append("((photos.path >= ? AND photos.path < ?) OR photos.path = ?)")
            params += [os.fsencode(prefix), os.fsencode(prefix[:-1] + chr(ord(os.sep) + 1)), os.fsencode(folder)]
        if self.folder_id is not None:
            parts.append("photos.folder_id = ?")
            params.append(int(self.folder_id))
        if self.taken_from is not None:
            parts.append("photos.taken_at >= ?")
            params.append(sql_time(_start(self.taken_from)))
        if self.taken_to is not None:
            parts.append("photos.taken_at < ?")
            params.append(sql_time(_end(self.taken_to)))
        if self.sources is not None:
            named = [s for s in self.sources if s != "none"]
            either = [f"photos.caption_source IN ({', '.join('?' * len(named))})"] if named else []
            params += named
            if "none" in self.sources:
                either.append("photos.caption_source IS NULL")
            parts.append(f"({' OR '.join(either)})" if either else "0")
        if self.needs_review is not None:
            pending = "(photos.caption_source IN (?, ?) AND photos.reviewed IS 0)"
            params += list(AUTOMATIC_SOURCES)
            parts.append(pending if self.needs_review else f"NOT {pending}")
        return " AND ".join(parts) or "1", params


def sql_time(value: _dt.datetime) -> str:
    """A time as the library stores it (SQLAlchemy's SQLite format), for comparisons in SQL."""
    v = value
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"


def _month_words(first: _dt.datetime, last: _dt.datetime) -> list[str]:
    """Facet words covering first..last: whole years as "y2015", other months as "m201503"."""
    if last < first or last.year - first.year > 50:
        return []
    words, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        if m == 1 and (y, 12) <= (last.year, last.month):
            words.append(f'"y{y}"')
            y += 1
            continue
        words.append(f'"m{y}{m:02d}"')
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return words


def _start(value: _dt.datetime | _dt.date) -> _dt.datetime:
    return value if isinstance(value, _dt.datetime) else _dt.datetime.combine(value, _dt.time())


def _end(value: _dt.datetime | _dt.date) -> _dt.datetime:
    if isinstance(value, _dt.datetime):
        return value + _dt.timedelta(microseconds=1)
    return _dt.datetime.combine(value + _dt.timedelta(days=1), _dt.time())


ORDERS = {
    "taken": "photos.taken_at IS NULL, photos.taken_at, photos.id",  # undated last
    "-taken": "photos.taken_at DESC, photos.id DESC",  # SQLite puts NULL last here; the index serves it
    "path": "photos.path",
    "added": "photos.id",
    "-added": "photos.id DESC",
}


class SearchError(LibraryError):
    """The library could not answer a search; the message says why, for people."""


class LibraryBusy(SearchError):
    pass


class LibraryUnreadable(SearchError):
    pass


class SearchCancelled(SearchError):
    pass


def search(
    conn: sqlite3.Connection,
    query: str,
    filters: PhotoFilter | None = None,
    limit: int = 50,
    offset: int = 0,
    marks: tuple[str, str] = ("[", "]"),
    should_stop: Callable[[], bool] | None = None,
) -> list[SearchHit]:
    """``conn``: a plain sqlite3 connection to the library (in a read transaction, or not)."""
    filters = filters or PhotoFilter()
    parsed = parse_query(query)
    watching = False
    try:
        if should_stop is not None:
            if should_stop():
                raise SearchCancelled("the search was cancelled")
            conn.set_progress_handler(lambda: 1 if should_stop() else 0, PROGRESS_STEPS)
            watching = True
        match = combined_match(parsed, filters.facets())
        if match is None or parsed.match is None:  # no positive words
            return _list_only(conn, parsed, filters, limit, offset)
        return _ranked(conn, match, parsed.match, filters, limit, offset, marks)
    except sqlite3.Error as error:
        explained = explain(error)
        if not isinstance(explained, SearchCancelled):
            log.info("search %s failed: %s", ascii(query[:80]), error)
        raise explained from error
    finally:
        if watching:
            conn.set_progress_handler(None, 0)


PROGRESS_STEPS = 4000  # SQLite virtual-machine steps between two looks at should_stop (some microseconds)


def error_name(error: BaseException) -> str:
    """SQLite's name for the error ("SQLITE_BUSY", "SQLITE_CORRUPT_VTAB", ...; "" if unknown), from a
    driver error or SQLAlchemy's wrapper of one."""
    return getattr(getattr(error, "orig", error), "sqlite_errorname", "") or ""


def is_busy(error: BaseException) -> bool:
    """Another connection holds the lock (SQLITE_BUSY/LOCKED): trying again later may work."""
    return error_name(error).startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def explain(error: BaseException) -> SearchError:
    """The database error as a :class:`SearchError` whose message says why, in plain words."""
    name = error_name(error)
    why = str(getattr(error, "orig", error)) or name or error.__class__.__name__
    if name.startswith("SQLITE_INTERRUPT"):
        return SearchCancelled("the search was cancelled")
    if is_busy(error):
        return LibraryBusy(f"the library is busy: {why} (another program is writing to it; try again in a moment)")
    if name == "SQLITE_ERROR":  # not the file: the statement (a bug, or a library from another version)
        return SearchError(f"the search failed: {why}")
    return LibraryUnreadable(f"the library can't be read: {why}")


_BM25 = f"bm25({FTS_TABLE}, {', '.join(str(w) for w in BM25_WEIGHTS)})"
_JOINED = f"{FTS_TABLE} JOIN photos ON {FTS_TABLE}.rowid = photos.id"


def path_of(value: bytes | memoryview | str) -> str:
    """A path column's value (the file name's bytes) as a ``str`` (undecodable bytes surrogate-escaped)."""
    return os.fsdecode(bytes(value)) if isinstance(value, (bytes, memoryview)) else value


def id_list(ids: Iterable[int]) -> str:
    """Photo ids for an ``IN (...)`` list (ints only, so written into the SQL: no parameter limit)."""
    return ", ".join(str(int(i)) for i in ids)


def _ranked(
    conn: sqlite3.Connection,
    match: str,
    positive: str,
    filters: PhotoFilter,
    limit: int,
    offset: int,
    marks: tuple[str, str],
) -> list[SearchHit]:
    """``match``: the whole MATCH expression (:func:`combined_match`); ``positive``: the words to highlight."""
    rows: list[_Row] | _LazyRows | None
    if filters == PhotoFilter():
        floor, rows = _newest_unfiltered(conn, match, offset + limit)
    else:
        floor, rows = _newest_filtered(conn, match, filters)
    page = rows[offset : offset + limit] if rows is not None else None
    if page is None or (len(page) < limit and floor is not None):
        page = _ranked_all(conn, match, filters, floor, limit, offset)
    if not page:
        return []
    snippets = _snippets(conn, [r.id for r in page], positive, marks)
    return [SearchHit(r.id, r.path, r.caption, snippets.get(r.id) or (r.caption or ""), r.rank) for r in page]


def _snippets(conn: sqlite3.Connection, ids: list[int], match: str, marks: tuple[str, str]) -> dict[int, str]:
    """Snippets for one page of hits, from a per-connection TEMP FTS5 table holding just that page.

    ``snippet()`` on the big index with ``rowid IN (page)`` re-expands a prefix or phrase
    query once per row (20 ms for ``snow*`` on 100,000 photos); on a 50-row copy it is
    ~0.4 ms whatever the query. TEMP objects never touch the library file or its locks.
    """
    conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.page_fts USING fts5({_cols}, tokenize='{TOKENIZER}')")
    conn.execute("DELETE FROM temp.page_fts")
    conn.execute(
        f"INSERT INTO temp.page_fts(rowid, {_cols}) SELECT id, {_cols} FROM photos WHERE id IN ({id_list(ids)})"
    )
    rows = conn.execute(
        "SELECT rowid, snippet(page_fts, -1, ?, ?, '…', 12) FROM temp.page_fts WHERE page_fts MATCH ?",
        (marks[0], marks[1], match),
    ).fetchall()
    conn.execute("DELETE FROM temp.page_fts")
    return dict(rows)


_cols = ", ".join(FTS_COLUMNS)


# Ranking costs ~0.6 us per matching row (bm25 over four columns), so a word found in
# 17,000 of 100,000 captions would cost 10-20 ms. So the newest RANK_CAP matches (after
# filters) form a first tier, ranked by bm25, and older matches follow it, ranked among
# themselves. The first pages come from the first tier alone: without filters FTS5 walks
# its doclist newest-first to the cut-off rowid ("floor") and bm25 runs on rows above it;
# with filters one newest-first walk stops after RANK_CAP rows pass them. Every page,
# fast or not, follows the same order, so paging never repeats or skips a photo. At that
# breadth the order among thousands of near-equal short captions means little anyway.
RANK_CAP = 2000


class _Row(NamedTuple):
    id: int
    path: str
    caption: str | None
    rank: float


_Scored = list[tuple[int, float]]  # (photo id, bm25 rank)


def _newest_unfiltered(conn: sqlite3.Connection, match: str, want: int) -> tuple[int | None, list[_Row] | None]:
    """(floor, first-tier rows from the top, or None when they may not cover ``want``)."""
    row = conn.execute(
        f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
        (match, RANK_CAP - 1),
    ).fetchone()
    floor = row[0] if row is not None else None
    if want > RANK_CAP // 2:
        return floor, None
    fetch = 2 * want + 64  # room for missing photos, which are dropped after ranking
    above = "AND rowid >= ?" if floor is not None else ""
    scored = conn.execute(
        f"SELECT rowid, {_BM25} AS rank FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ? {above} "
        "ORDER BY rank, rowid LIMIT ?",
        (match, floor, fetch) if floor is not None else (match, fetch),
    ).fetchall()
    gone = missing_among(conn, [pid for pid, _ in scored])
    present = [(pid, rank) for pid, rank in scored if pid not in gone]
    if len(present) < want and len(scored) == fetch:
        return floor, None  # many missing photos among them: let SQL do it
    return floor, _with_paths(conn, present[:want], include_missing=True)


def missing_among(conn: sqlite3.Connection, ids: list[int]) -> set[int]:
    """Which of ``ids`` are missing photos, from the status index alone (no row is read)."""
    sql = f"SELECT id FROM photos WHERE status = ? AND id IN ({id_list(ids)})"
    return {r[0] for r in conn.execute(sql, (STATUS_MISSING,))} if ids else set()


def _newest_filtered(conn: sqlite3.Connection, match: str, filters: PhotoFilter) -> tuple[int | None, _LazyRows]:
    where, params = filters.where()
    scored = conn.execute(
        f"SELECT {FTS_TABLE}.rowid, {_BM25} FROM {_JOINED} WHERE {FTS_TABLE} MATCH ? AND {where} "
        f"ORDER BY {FTS_TABLE}.rowid DESC LIMIT ?",  # FTS5 walks its doclist newest first: no sort, stops at the cap
        (match, *params, RANK_CAP),
    ).fetchall()
    floor = min(r[0] for r in scored) if len(scored) == RANK_CAP else None
    page_source = sorted(scored, key=lambda r: (r[1], r[0]))
    return floor, _LazyRows(conn, page_source)


class _LazyRows:
    """First-tier (id, rank) pairs in order; paths and captions are read only for the page sliced."""

    def __init__(self, conn: sqlite3.Connection, scored: _Scored) -> None:
        self.conn, self.scored = conn, scored

    def __getitem__(self, item: slice) -> list[_Row]:
        return _with_paths(self.conn, self.scored[item], include_missing=True)


def _with_paths(conn: sqlite3.Connection, scored: _Scored, include_missing: bool) -> list[_Row]:
    if not scored:
        return []
    sql = f"SELECT id, path, caption FROM photos WHERE id IN ({id_list(pid for pid, _ in scored)})"
    found = {
        r[0]: r
        for r in conn.execute(
            sql if include_missing else sql + " AND status != ?", () if include_missing else (STATUS_MISSING,)
        )
    }
    return [_Row(pid, path_of(found[pid][1]), found[pid][2], rank) for pid, rank in scored if pid in found]


def _ranked_all(
    conn: sqlite3.Connection, match: str, filters: PhotoFilter, floor: int | None, limit: int, offset: int
) -> list[_Row]:
    """The same order as the tiers, computed over every match (deep pages, odd cases)."""
    where, params = filters.where()
    tier = f"CASE WHEN {FTS_TABLE}.rowid >= {int(floor)} THEN 0 ELSE 1 END, " if floor is not None else ""
    rows = conn.execute(
        f"SELECT photos.id, photos.path, photos.caption, {_BM25} AS rank FROM {_JOINED} "
        f"WHERE {FTS_TABLE} MATCH ? AND {where} ORDER BY {tier}rank, photos.id LIMIT ? OFFSET ?",
        (match, *params, limit, offset),
    ).fetchall()
    return [_Row(r[0], path_of(r[1]), r[2], r[3]) for r in rows]


def _list_only(
    conn: sqlite3.Connection, parsed: FtsQuery, filters: PhotoFilter, limit: int, offset: int
) -> list[SearchHit]:
    """No positive words: the filters alone, newest first, minus any excluded words."""
    if parsed.exclude is None and filters == PhotoFilter():
        return []  # an empty search box finds nothing, rather than the whole library
    where, params = filters.where()
    sql = f"SELECT photos.id, photos.path, photos.caption FROM photos WHERE {where}"
    if parsed.exclude is not None:
        excluded = text_only(parsed.exclude) if could_match_facets(parsed.exclude) else parsed.exclude
        sql += f" AND photos.id NOT IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?)"
        params.append(excluded)
    rows = conn.execute(f"{sql} ORDER BY {ORDERS['-taken']} LIMIT ? OFFSET ?", (*params, limit, offset))
    return [SearchHit(r[0], path_of(r[1]), r[2], r[2] or "", 0.0) for r in rows]


def list_ids(
    conn: sqlite3.Connection, filters: PhotoFilter | None, order: str, offset: int, limit: int | None
) -> list[int]:
    where, params = (filters or PhotoFilter()).where()
    rows = conn.execute(
        f"SELECT photos.id FROM photos WHERE {where} ORDER BY {ORDERS[order]} LIMIT ? OFFSET ?",
        (*params, -1 if limit is None else limit, offset),
    )
    return [r[0] for r in rows]


def count(conn: sqlite3.Connection, filters: PhotoFilter | None) -> int:
    where, params = (filters or PhotoFilter()).where()
    return int(conn.execute(f"SELECT count(*) FROM photos WHERE {where}", params).fetchone()[0])

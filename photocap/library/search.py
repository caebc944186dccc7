"""Ranked search and filtered listing.

``search(session, text, filters, limit, offset)`` runs the user's words (parsed by
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
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, column, exc, false, func, literal_column, or_, select, table, text
from sqlalchemy.orm import Session

from photocap.library.db import LibraryError
from photocap.library.fts import (
    BM25_WEIGHTS, FTS_COLUMNS, FTS_TABLE, TOKENIZER, FtsQuery, combined_match, could_match_facets, parse_query,
    text_only,
)
from photocap.library.photos import norm, under
from photocap.library.records import SearchHit
from photocap.library.schema import AUTOMATIC_SOURCES, STATUS_MISSING, Photo

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

        The SQL :meth:`clauses` are applied as well: facets only narrow the rows early
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

    def clauses(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if not self.include_missing:
            out.append(Photo.status != STATUS_MISSING)
        if self.folder:
            out.append(or_(under(Photo.path, norm(self.folder)), Photo.path == norm(self.folder)))
        if self.folder_id is not None:
            out.append(Photo.folder_id == self.folder_id)
        if self.taken_from is not None:
            out.append(Photo.taken_at >= _start(self.taken_from))
        if self.taken_to is not None:
            out.append(Photo.taken_at < _end(self.taken_to))
        if self.sources is not None:
            named = [s for s in self.sources if s != "none"]
            parts = [Photo.caption_source.in_(named)] if named else []
            if "none" in self.sources:
                parts.append(Photo.caption_source.is_(None))
            out.append(or_(*parts) if parts else false())
        if self.needs_review is not None:
            pending = and_(Photo.caption_source.in_(AUTOMATIC_SOURCES), Photo.reviewed.is_(False))
            out.append(pending if self.needs_review else ~pending)
        return out


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


def _start(value) -> _dt.datetime:
    return value if isinstance(value, _dt.datetime) else _dt.datetime.combine(value, _dt.time())


def _end(value) -> _dt.datetime:
    if isinstance(value, _dt.datetime):
        return value + _dt.timedelta(microseconds=1)
    return _dt.datetime.combine(value + _dt.timedelta(days=1), _dt.time())


ORDERS = {
    "taken": (Photo.taken_at.is_(None), Photo.taken_at, Photo.id),  # undated last
    "-taken": (Photo.taken_at.desc(), Photo.id.desc()),  # SQLite puts NULL last here; the index serves it
    "path": (Photo.path,),
    "added": (Photo.id,),
    "-added": (Photo.id.desc(),),
}


class SearchError(LibraryError):
    """The library could not answer a search; the message says why, for people."""


class LibraryBusy(SearchError):
    pass


class LibraryUnreadable(SearchError):
    pass


class SearchCancelled(SearchError):
    pass


def search(session: Session, query: str, filters: PhotoFilter | None = None, limit: int = 50,
           offset: int = 0, marks: tuple[str, str] = ("[", "]"),
           should_stop: Callable[[], bool] | None = None) -> list[SearchHit]:
    filters = filters or PhotoFilter()
    parsed = parse_query(query)
    raw = None
    try:
        if should_stop is not None:
            if should_stop():
                raise SearchCancelled("the search was cancelled")
            raw = session.connection().connection.driver_connection
            raw.set_progress_handler(lambda: 1 if should_stop() else 0, PROGRESS_STEPS)
        if parsed.match is None:
            return _list_only(session, parsed, filters, limit, offset)
        return _ranked(session, parsed, filters, limit, offset, marks)
    except exc.DBAPIError as error:
        explained = explain(error)
        if not isinstance(explained, SearchCancelled):
            log.info("search %s failed: %s", ascii(query[:80]), error.orig)
        raise explained from error
    finally:
        if raw is not None:
            raw.set_progress_handler(None, 0)


PROGRESS_STEPS = 4000  # SQLite virtual-machine steps between two looks at should_stop (some microseconds)


def error_name(error: exc.DBAPIError) -> str:
    """SQLite's name for the error ("SQLITE_BUSY", "SQLITE_CORRUPT_VTAB", ...; "" if unknown)."""
    return getattr(error.orig, "sqlite_errorname", "") or ""


def is_busy(error: exc.DBAPIError) -> bool:
    """Another connection holds the lock (SQLITE_BUSY/LOCKED): trying again later may work."""
    return error_name(error).startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def explain(error: exc.DBAPIError) -> SearchError:
    """The database error as a :class:`SearchError` whose message says why, in plain words."""
    name = error_name(error)
    why = str(error.orig) or name or error.__class__.__name__
    if name.startswith("SQLITE_INTERRUPT"):
        return SearchCancelled("the search was cancelled")
    if is_busy(error):
        return LibraryBusy(f"the library is busy: {why} (another program is writing to it; try again in a moment)")
    if name == "SQLITE_ERROR":  # not the file: the statement (a bug, or a library from another version)
        return SearchError(f"the search failed: {why}")
    return LibraryUnreadable(f"the library can't be read: {why}")


_fts = table(FTS_TABLE, column("rowid"))
_weights = ", ".join(str(w) for w in BM25_WEIGHTS)


def _match(expr: str) -> ColumnElement[bool]:
    return literal_column(FTS_TABLE).op("MATCH")(expr)


def _ranked(session, parsed: FtsQuery, filters, limit, offset, marks) -> list[SearchHit]:
    match = combined_match(parsed, filters.facets())
    if filters == PhotoFilter():
        floor, rows = _newest_unfiltered(session, match, offset + limit)
    else:
        floor, rows = _newest_filtered(session, match, filters)
    page = rows[offset : offset + limit] if rows is not None else None
    if page is None or (len(page) < limit and floor is not None):
        page = _ranked_all(session, match, filters, floor, limit, offset)
    if not page:
        return []
    snippets = _snippets(session, [r.id for r in page], parsed.match, marks)
    return [SearchHit(r.id, r.path, r.caption, snippets.get(r.id) or (r.caption or ""), r.rank) for r in page]


def _snippets(session, ids: list[int], match: str, marks: tuple[str, str]) -> dict[int, str]:
    """Snippets for one page of hits, from a per-connection TEMP FTS5 table holding just that page.

    ``snippet()`` on the big index with ``rowid IN (page)`` re-expands a prefix or phrase
    query once per row (20 ms for ``snow*`` on 100,000 photos); on a 50-row copy it is
    ~0.4 ms whatever the query. TEMP objects never touch the library file or its locks.
    """
    conn = session.connection()
    conn.exec_driver_sql(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.page_fts USING fts5({_cols}, tokenize='{TOKENIZER}')")
    conn.exec_driver_sql("DELETE FROM temp.page_fts")
    conn.exec_driver_sql(f"INSERT INTO temp.page_fts(rowid, {_cols}) SELECT id, {_cols} FROM photos "
                         f"WHERE id IN ({', '.join(str(int(i)) for i in ids)})")
    rows = conn.exec_driver_sql("SELECT rowid, snippet(page_fts, -1, ?, ?, '…', 12) FROM temp.page_fts "
                                "WHERE page_fts MATCH ?", (marks[0], marks[1], match)).all()
    conn.exec_driver_sql("DELETE FROM temp.page_fts")
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
_Row = namedtuple("_Row", "id path caption rank")
_bm25 = literal_column(f"bm25({FTS_TABLE}, {_weights})")


def _newest_unfiltered(session, match: str, want: int):
    """(floor, first-tier rows from the top, or None when they may not cover ``want``)."""
    floor = session.execute(
        text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :q ORDER BY rowid DESC LIMIT 1 OFFSET :n"),
        {"q": match, "n": RANK_CAP - 1},
    ).scalar()
    if want > RANK_CAP // 2:
        return floor, None
    fetch = 2 * want + 64  # room for missing photos, which are dropped after ranking
    scored = session.execute(
        text(f"SELECT rowid, {_bm25} AS rank FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :q "
             f"{'AND rowid >= :floor' if floor is not None else ''} ORDER BY rank, rowid LIMIT :fetch"),
        {"q": match, "floor": floor, "fetch": fetch},
    ).all()
    rows = _with_paths(session, scored, include_missing=False)
    if len(rows) < want and len(scored) == fetch:
        return floor, None  # many missing photos among them: let SQL do it
    return floor, rows


def _newest_filtered(session, match: str, filters: PhotoFilter):
    scored = session.execute(
        select(_fts.c.rowid, _bm25)
        .select_from(_fts.join(Photo, _fts.c.rowid == Photo.id))
        .where(_match(match), *filters.clauses())
        .order_by(_fts.c.rowid.desc())  # FTS5 walks its doclist newest first: no sort, stops at the cap
        .limit(RANK_CAP)
    ).all()
    floor = min(r[0] for r in scored) if len(scored) == RANK_CAP else None
    page_source = sorted(scored, key=lambda r: (r[1], r[0]))
    return floor, _LazyRows(session, page_source)


class _LazyRows:
    """First-tier (id, rank) pairs in order; paths and captions are read only for the page sliced."""

    def __init__(self, session, scored):
        self.session, self.scored = session, scored

    def __getitem__(self, item: slice) -> list[_Row]:
        return _with_paths(self.session, self.scored[item], include_missing=True)


def _with_paths(session, scored, include_missing: bool) -> list[_Row]:
    stmt = select(Photo.id, Photo.path, Photo.caption).where(Photo.id.in_([pid for pid, _ in scored]))
    if not include_missing:
        stmt = stmt.where(Photo.status != STATUS_MISSING)
    found = {r.id: r for r in session.execute(stmt)}
    return [_Row(pid, found[pid].path, found[pid].caption, rank) for pid, rank in scored if pid in found]


def _ranked_all(session, match: str, filters: PhotoFilter, floor: int | None, limit: int, offset: int) -> list[_Row]:
    """The same order as the tiers, computed over every match (deep pages, odd cases)."""
    order = [case((_fts.c.rowid >= floor, 0), else_=1)] if floor is not None else []
    rows = session.execute(
        select(Photo.id, Photo.path, Photo.caption, _bm25.label("rank"))
        .select_from(_fts.join(Photo, _fts.c.rowid == Photo.id))
        .where(_match(match), *filters.clauses())
        .order_by(*order, literal_column("rank"), Photo.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [_Row(*r) for r in rows]


def _list_only(session, parsed: FtsQuery, filters, limit, offset) -> list[SearchHit]:
    """No positive words: the filters alone, newest first, minus any excluded words."""
    if parsed.exclude is None and filters == PhotoFilter():
        return []  # an empty search box finds nothing, rather than the whole library
    stmt = select(Photo.id, Photo.path, Photo.caption).where(*filters.clauses())
    if parsed.exclude is not None:
        excluded = text_only(parsed.exclude) if could_match_facets(parsed.exclude) else parsed.exclude
        stmt = stmt.where(Photo.id.not_in(select(_fts.c.rowid).where(_match(excluded))))
    stmt = stmt.order_by(*ORDERS["-taken"]).limit(limit).offset(offset)
    return [SearchHit(r.id, r.path, r.caption, r.caption or "", 0.0) for r in session.execute(stmt)]


def list_ids(session: Session, filters: PhotoFilter | None, order: str, offset: int, limit: int | None) -> list[int]:
    stmt = select(Photo.id).where(*(filters or PhotoFilter()).clauses()).order_by(*ORDERS[order]).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def count(session: Session, filters: PhotoFilter | None) -> int:
    return session.scalar(select(func.count()).select_from(Photo).where(*(filters or PhotoFilter()).clauses()))

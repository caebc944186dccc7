"""Ranked search and filtered listing.

``search(session, text, filters, limit, offset)`` runs the user's words (parsed by
:func:`photocap.library.fts.parse_query`) against the FTS5 index, ranked by
``bm25`` with the caption weighted highest, and returns :class:`SearchHit` rows with a
highlighted snippet. It runs in two steps on purpose: the first ranks and pages using
only the index (cheap even when 20,000 photos say "dog"); the second computes
snippets for just the page. Computing ``snippet()`` in the ranking query would build
one for every matching row before sorting.

``PhotoFilter`` is shared with the grid's ``list_photo_ids``/``count_photos``: folder,
date-taken range, caption sources ("edited by me" = ``sources=("user",)``), "needs
review", and whether missing photos are included (not by default).

A query with no words (only punctuation, only exclusions, or empty) lists photos by the
filters instead of raising; any FTS5 error that still gets through returns an empty list.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import logging

from sqlalchemy import ColumnElement, and_, column, exc, false, func, literal_column, or_, select, table, text
from sqlalchemy.orm import Session

from photocap.library.fts import BM25_WEIGHTS, FTS_TABLE, FtsQuery, combined_match, parse_query
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


def _start(value) -> _dt.datetime:
    return value if isinstance(value, _dt.datetime) else _dt.datetime.combine(value, _dt.time())


def _end(value) -> _dt.datetime:
    if isinstance(value, _dt.datetime):
        return value + _dt.timedelta(microseconds=1)
    return _dt.datetime.combine(value + _dt.timedelta(days=1), _dt.time())


ORDERS = {
    "taken": (Photo.taken_at.is_(None), Photo.taken_at, Photo.id),  # undated last
    "-taken": (Photo.taken_at.is_(None), Photo.taken_at.desc(), Photo.id.desc()),
    "path": (Photo.path,),
    "added": (Photo.id,),
    "-added": (Photo.id.desc(),),
}


def search(session: Session, query: str, filters: PhotoFilter | None = None, limit: int = 50,
           offset: int = 0, marks: tuple[str, str] = ("[", "]")) -> list[SearchHit]:
    filters = filters or PhotoFilter()
    parsed = parse_query(query)
    try:
        if parsed.match is None:
            return _list_only(session, parsed, filters, limit, offset)
        return _ranked(session, parsed, filters, limit, offset, marks)
    except exc.OperationalError:  # belt and braces: the parser should make this unreachable
        log.warning("search %r failed", query, exc_info=True)
        return []


_fts = table(FTS_TABLE, column("rowid"))
_weights = ", ".join(str(w) for w in BM25_WEIGHTS)


def _match(expr: str) -> ColumnElement[bool]:
    return literal_column(FTS_TABLE).op("MATCH")(expr)


def _ranked(session, parsed: FtsQuery, filters, limit, offset, marks) -> list[SearchHit]:
    rank = literal_column(f"bm25({FTS_TABLE}, {_weights})").label("rank")
    stmt = (
        select(Photo.id, Photo.path, Photo.caption, rank)
        .select_from(_fts.join(Photo, _fts.c.rowid == Photo.id))
        .where(_match(combined_match(parsed)), *filters.clauses())
        .order_by(literal_column("rank"), Photo.id)
        .limit(limit)
        .offset(offset)
    )
    rows = session.execute(stmt).all()
    if not rows:
        return []
    snippets = dict(session.execute(
        text(f"SELECT rowid, snippet({FTS_TABLE}, -1, :a, :b, '…', 12) FROM {FTS_TABLE} "
             f"WHERE {FTS_TABLE} MATCH :q AND rowid IN ({', '.join(str(r.id) for r in rows)})"),
        {"a": marks[0], "b": marks[1], "q": parsed.match},
    ).all())
    return [SearchHit(r.id, r.path, r.caption, snippets.get(r.id) or (r.caption or ""), r.rank) for r in rows]


def _list_only(session, parsed: FtsQuery, filters, limit, offset) -> list[SearchHit]:
    """No positive words: the filters alone, newest first, minus any excluded words."""
    if parsed.exclude is None and filters == PhotoFilter():
        return []  # an empty search box finds nothing, rather than the whole library
    stmt = select(Photo.id, Photo.path, Photo.caption).where(*filters.clauses())
    if parsed.exclude is not None:
        stmt = stmt.where(Photo.id.not_in(select(_fts.c.rowid).where(_match(parsed.exclude))))
    stmt = stmt.order_by(*ORDERS["-taken"]).limit(limit).offset(offset)
    return [SearchHit(r.id, r.path, r.caption, r.caption or "", 0.0) for r in session.execute(stmt)]


def list_ids(session: Session, filters: PhotoFilter | None, order: str, offset: int, limit: int | None) -> list[int]:
    stmt = select(Photo.id).where(*(filters or PhotoFilter()).clauses()).order_by(*ORDERS[order]).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def count(session: Session, filters: PhotoFilter | None) -> int:
    return session.scalar(select(func.count()).select_from(Photo).where(*(filters or PhotoFilter()).clauses()))

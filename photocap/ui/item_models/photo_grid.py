"""The photo grid's model: a list of photo ids with rows and thumbnails loaded lazily.

It is a ``QStringListModel`` holding one empty string per photo, with the data coming
from Python: row bookkeeping then stays in C++. A plain Python ``QAbstractListModel``
makes the view call ``rowCount()`` in Python once per row on every layout (through
``index()``/``hasIndex()``): measured with 50,000 photos, 75 ms per reset, against 8 ms.

Holding 50,000 ids costs nothing; a row's data (caption, source, size) is fetched in
pages of ``PAGE`` ids on the library lane the first time the view asks for any row of
the page, and its thumbnail is requested from the thumbnail lane the first time it is
painted. Until then ``data()`` answers with placeholders, so the view never waits.
Queries (a filter or a search) carry a generation number: answers to older ones are
dropped, so fast typing never shows stale results; a new query also aborts the search
still running, which interrupts its SQLite statement. A search the library cannot answer
empties the grid and emits ``failed`` with the reason (never "no results"). A search
asks first for ``FIRST_HITS`` matches (a screenful, the cheap part of ranking), shows
them, then asks for the rest up to ``search_limit`` and appends them (``grew``).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QStringListModel, Qt, Signal
from PySide6.QtGui import QImage, QPixmap

from photocap.ui.jobs.lanes import Job
from photocap.ui.jobs.library_service import LibraryService
from photocap.ui.jobs.thumbnails import ThumbnailLoader
from photocap.ui.text import marked_runs, plain_tooltip, query_terms, word_matches

if TYPE_CHECKING:
    from photocap.library.records import PhotoSummary
    from photocap.ui.jobs.meaning import MeaningService

PAGE = 120
SIMILAR_LIMIT = 200  # "similar photos" shows this many after the photo itself
PIXMAP_CACHE = 1500  # decoded thumbnails kept in memory (~1500 x 200 KB at 256 px)

SummaryRole = Qt.ItemDataRole.UserRole + 1
IdRole = Qt.ItemDataRole.UserRole + 2
PathRole = Qt.ItemDataRole.UserRole + 3
TermsRole = Qt.ItemDataRole.UserRole + 4
ThumbStateRole = Qt.ItemDataRole.UserRole + 5  # "ready" | "loading" | "failed"
SnippetRole = Qt.ItemDataRole.UserRole + 6  # where a search matched, when not in the caption


FIRST_HITS = PAGE  # a search answers with a screenful first (fast), the rest follows


class PhotoGridModel(QStringListModel):
    loaded = Signal(int)  # a query's answer arrived: number of photos now in the grid
    grew = Signal(int)  # the rest of a search's matches were appended: number of photos now
    failed = Signal(str)  # the library could not answer the current search: why (the grid is emptied)
    search_limit = 5000

    def __init__(self, service: LibraryService, thumbs: ThumbnailLoader, parent: QObject | None = None):
        super().__init__(parent)
        self._service = service
        self._thumbs = thumbs
        self._ids: list[int] = []
        self._row_of: dict[int, int] = {}
        self._rows: dict[int, PhotoSummary] = {}
        self._pages_asked: set[int] = set()
        self._pixmaps: OrderedDict[int, QPixmap] = OrderedDict()
        self._thumb_failed: set[int] = set()
        self._generation = 0
        self._snippets: dict[int, str] = {}
        self.terms: tuple[str, ...] = ()
        self.notes: tuple[str, ...] = ()  # how the current search was shortened (see fts.parse_query)
        self.filter = None
        self.query = ""
        self.similar_to: int | None = None  # showing the photos that look like this one
        self.meaning: MeaningService | None = None  # queries are searched by meaning too once it is ready
        self._vector = None  # the current query's sentence vector (None: words only)
        self._vector_model: str | None = None
        self._search_job: Job | None = None
        thumbs.ready.connect(self._on_thumb)
        thumbs.failed.connect(self._on_thumb_failed)

    # ---- queries -------------------------------------------------------------------------
    def show(self, filter=None, query: str = "", order: str = "-taken") -> int:
        """List ``filter`` (a PhotoFilter), or search ``query`` within it. Returns the generation."""
        self._generation += 1
        gen = self._generation
        self.filter, self.query, self.similar_to = filter, query.strip(), None
        self.terms = query_terms(self.query)
        if self._search_job is not None:
            self._search_job.abort()  # the user typed on: stop the older search, even mid-statement
            self._search_job = None
        if self.query:
            on_vector = lambda vec: self._search(gen, vec)  # noqa: E731
            if self.meaning is None or self.meaning.embed_query(self.query, on_vector) is None:
                self._search(gen, None)
        else:
            self._service.list_photo_ids(filter, order, on_result=lambda ids: self._on_ids(gen, ids))
        return gen

    def _search(self, generation: int, vector) -> None:
        if generation != self._generation:
            return  # typed on: a newer query is on its way
        self._vector = vector
        self._vector_model = self.meaning.model_id if vector is not None and self.meaning is not None else None
        self._search_job = self._service.search(
            self.query,
            self.filter,
            FIRST_HITS,
            0,
            on_result=lambda found: self._on_hits(generation, found),
            on_failed=lambda why: self._on_failed(generation, why),
            query_vector=vector,
            vector_model=self._vector_model,
        )

    def show_similar(self, photo_id: int) -> int:
        """The photos that look like ``photo_id``, most alike first (the photo itself leads)."""
        self._generation += 1
        gen = self._generation
        self.query, self.terms, self.notes, self.similar_to = "", (), (), photo_id
        if self._search_job is not None:
            self._search_job.abort()
            self._search_job = None
        self._service.similar_photos(
            photo_id,
            SIMILAR_LIMIT,
            on_result=lambda hits: self._on_ids(gen, [photo_id] + [h.photo_id for h in hits or []]),
        )
        return gen

    def refresh(self) -> int:
        """The same query again (new photos, changed captions), keeping what is loaded."""
        if self.similar_to is not None:
            return self.show_similar(self.similar_to)
        return self.show(self.filter, self.query)

    def _on_hits(self, generation: int, found) -> None:
        if generation != self._generation or found is None:
            return
        hits, self.notes = found
        self._snippets = {h.photo_id: h.snippet for h in hits}
        self._on_ids(generation, [h.photo_id for h in hits])
        if len(hits) == FIRST_HITS:  # more to come: the rest in the background, stopped by the next query
            # fused ranking over more words may reorder the first screenful: ask from the top
            # then, and keep what is not shown yet (_on_more_hits skips shown photos)
            fused = self._vector is not None
            self._search_job = self._service.search(
                self.query,
                self.filter,
                self.search_limit if fused else self.search_limit - FIRST_HITS,
                0 if fused else FIRST_HITS,
                on_result=lambda more: self._on_more_hits(generation, more),
                on_failed=lambda why: self._on_failed(generation, why),
                query_vector=self._vector,
                vector_model=self._vector_model,
            )

    def _on_more_hits(self, generation: int, found) -> None:
        if generation != self._generation or found is None:
            return
        hits = [h for h in found[0] if h.photo_id not in self._row_of]
        if not hits:
            return
        start = len(self._ids)
        self._snippets.update((h.photo_id, h.snippet) for h in hits)
        self._ids.extend(h.photo_id for h in hits)
        self._row_of.update((h.photo_id, start + i) for i, h in enumerate(hits))
        self.insertRows(start, len(hits))  # rows appended in C++; the view keeps its place
        self.grew.emit(len(self._ids))

    def _on_failed(self, generation: int, why: str) -> None:
        if generation != self._generation:
            return
        self.notes = ()
        self._on_ids(generation, [], announce=False)  # no stale results under an error
        self.failed.emit(why)

    def _on_ids(self, generation: int, ids: list[int], announce: bool = True) -> None:
        if generation != self._generation:
            return  # a newer query is on its way: this answer is stale
        if not self.query:
            self._snippets, self.notes = {}, ()
        self._ids = list(ids)
        self._row_of = {pid: i for i, pid in enumerate(self._ids)}
        self._pages_asked.clear()
        self.setStringList([""] * len(self._ids))  # resets the model (and the view) in C++
        if announce:
            self.loaded.emit(len(self._ids))

    # ---- rows ------------------------------------------------------------------------------
    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable if index.isValid() else Qt.ItemFlag.NoItemFlags

    def photo_id(self, row: int) -> int | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, photo_id: int) -> int | None:
        return self._row_of.get(photo_id)

    def ids(self) -> list[int]:
        return list(self._ids)

    def summary(self, photo_id: int):
        return self._rows.get(photo_id)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = index.row()
        if not index.isValid() or row >= len(self._ids):
            return None
        pid = self._ids[row]
        if role == IdRole:
            return pid
        if role == TermsRole:
            return self.terms
        summary = self._rows.get(pid)  # possibly from an older query: refreshed with its page
        self._want_page(row)
        if role == SummaryRole:
            return summary
        if role == Qt.ItemDataRole.DisplayRole:
            return (summary.caption or summary.name) if summary is not None else ""
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(summary.caption or summary.name) if summary is not None else ""
        if role == PathRole:
            return summary.path if summary is not None else None
        if role == SnippetRole:
            snippet = self._snippets.get(pid)
            if not snippet or summary is None or not self.terms:
                return None
            if not any(matched for _, matched in marked_runs(snippet)):
                return None  # found by meaning alone: the snippet is the caption again, no word matched
            caption_words = (summary.caption or "").split()
            return None if any(word_matches(w, self.terms) for w in caption_words) else snippet
        if role == Qt.ItemDataRole.DecorationRole:
            pm = self._pixmaps.get(pid)
            if pm is not None:
                self._pixmaps.move_to_end(pid)
                return pm
            if summary is not None and pid not in self._thumb_failed and summary.status == "ok":
                self._thumbs.request(pid, summary.path)
            return None
        if role == ThumbStateRole:
            if pid in self._pixmaps:
                return "ready"
            return "failed" if pid in self._thumb_failed or (summary and summary.status != "ok") else "loading"
        return None

    def _want_page(self, row: int) -> None:
        page = row // PAGE
        if page in self._pages_asked:
            return
        self._pages_asked.add(page)
        ids = self._ids[page * PAGE : (page + 1) * PAGE]
        gen = self._generation
        self._service.photos_by_ids(ids, on_result=lambda rows: self._on_rows(gen, rows))

    def _on_rows(self, generation: int, rows: list[PhotoSummary]) -> None:
        for s in rows:
            self._rows[s.id] = s
        self._changed([s.id for s in rows])

    def _changed(self, ids, roles=()) -> None:
        rows = sorted(r for r in (self._row_of.get(i) for i in ids) if r is not None)
        if not rows:
            return
        # one signal per contiguous run keeps repaints cheap
        start = prev = rows[0]
        for r in [*rows[1:], None]:
            if r is not None and r == prev + 1:
                prev = r
                continue
            self.dataChanged.emit(self.index(start), self.index(prev), list(roles))
            if r is not None:
                start = prev = r

    # ---- updates from elsewhere --------------------------------------------------------------
    def update_captions(self, landed: list) -> None:
        """New captions from the captioning pass (or an edit): patch the rows we hold."""
        touched = []
        for item in landed:
            s = self._rows.get(item.photo_id)
            if s is None:
                continue
            if getattr(item, "error", None):
                self._rows[item.photo_id] = dataclasses.replace(s, status="error")
            elif item.text is not None and not getattr(item, "kept_user_caption", False):
                self._rows[item.photo_id] = dataclasses.replace(
                    s, caption=item.text, caption_source=item.source, reviewed=False
                )
            touched.append(item.photo_id)
        self._changed(touched)

    def replace_summary(self, summary) -> None:
        self._rows[summary.id] = summary
        self._changed([summary.id])

    def forget_thumbnails(self) -> None:
        self._pixmaps.clear()
        self._thumb_failed.clear()
        self._thumbs.clear()
        if self._ids:
            self.dataChanged.emit(self.index(0), self.index(len(self._ids) - 1), [Qt.ItemDataRole.DecorationRole])

    def _on_thumb(self, pid: int, image: QImage) -> None:
        self._pixmaps[pid] = QPixmap.fromImage(image)
        while len(self._pixmaps) > PIXMAP_CACHE:
            self._pixmaps.popitem(last=False)
        self._changed([pid], [Qt.ItemDataRole.DecorationRole])

    def _on_thumb_failed(self, pid: int, _reason: str) -> None:
        self._thumb_failed.add(pid)
        self._changed([pid], [Qt.ItemDataRole.DecorationRole])

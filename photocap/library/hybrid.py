"""Search by words and by meaning together; photos similar to a photo.

:func:`fused_search` takes the user's query and its sentence vector (made by the caller,
which owns the model: the library never imports torch) and merges two ranked lists:

* the word search (:func:`photocap.library.search.search`, FTS5 + bm25, unchanged), and
* the photos whose caption vectors are nearest the query's (cosine at least
  ``MIN_SIMILARITY``; filters applied to them as to the words).

Each photo scores reciprocal-rank fusion, ``1/(K + word rank) + 1/(K + meaning rank)``
(a list it is not in adds nothing). Photos the words match come first, in fused order
(so among the "cat" photos, those that are about cats come before one whose file name
says "cat"); then photos found by meaning alone ("kitty" finds the tabby, "a boat on a
lake" the canoe), also in fused order; beside word matches only close ones. Photos
without a vector yet are still found by their words.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from photocap.library import search as _search
from photocap.library.records import SearchHit
from photocap.library.schema import STATUS_MISSING, Photo
from photocap.library.search import PhotoFilter
from photocap.library.vectors import VectorStore, image_feature_of

RRF_K = 60
# all-MiniLM-L6-v2 cosine below which a photo is not listed for its meaning alone: when the
# words found nothing, and (stricter) beside word matches, so a word query, or a word still
# being typed ("bea"), is not padded with loosely related photos (bench/semantic_search.py)
MIN_SIMILARITY = 0.35
MIN_SIMILARITY_BESIDE_WORDS = 0.5
MEANING_CANDIDATES = 200  # nearest captions considered per query
FILTERED_CANDIDATES = 2000  # more when filters may drop most of them


def fused_search(session: Session, store: VectorStore, query: str, query_vector: np.ndarray | None,
                 model_id: str | None, filters: PhotoFilter | None, limit: int, offset: int,
                 marks: tuple[str, str], should_stop: Callable[[], bool] | None = None) -> list[SearchHit]:
    filters = filters or PhotoFilter()
    words = _search.search(session, query, filters, offset + limit, 0, marks, should_stop)
    if query_vector is None or model_id is None or limit <= 0:
        return words[offset : offset + limit]
    k = MEANING_CANDIDATES if filters == PhotoFilter() else FILTERED_CANDIDATES
    floor = MIN_SIMILARITY_BESIDE_WORDS if words else MIN_SIMILARITY
    near = [(pid, s) for pid, s in store.nearest(session, "text_vectors", model_id, query_vector, k)
            if s >= MIN_SIMILARITY]
    if not near:
        return words[offset : offset + limit]
    found = {r.id: r for r in session.execute(
        select(Photo.id, Photo.path, Photo.caption).where(Photo.id.in_([pid for pid, _ in near]), *filters.clauses()))}
    near = [(pid, s) for pid, s in near if pid in found]
    meaning_rank = {pid: i for i, (pid, _) in enumerate(near)}
    word_rank = {h.photo_id: i for i, h in enumerate(words)}

    def score(pid: int) -> float:
        return sum(1.0 / (RRF_K + 1 + r[pid]) for r in (word_rank, meaning_rank) if pid in r)

    by_words = sorted(words, key=lambda h: (-score(h.photo_id), word_rank[h.photo_id]))
    by_meaning = [SearchHit(pid, found[pid].path, found[pid].caption, found[pid].caption or "", -score(pid))
                  for pid, s in near if pid not in word_rank and s >= floor]
    fused = [SearchHit(h.photo_id, h.path, h.caption, h.snippet, -score(h.photo_id)) for h in by_words] + by_meaning
    return fused[offset : offset + limit]


def similar_photos(session: Session, store: VectorStore, photo_id: int, limit: int,
                   include_missing: bool = False) -> list[SearchHit] | None:
    """Photos whose image features are nearest ``photo_id``'s, best first (``rank`` = 1 - cosine).

    None when the photo has no feature yet (it has not been captioned since features were kept).
    """
    own = image_feature_of(session, photo_id)
    if own is None:
        return None
    encoder_id, vector = own
    return similar_to_vector(session, store, encoder_id, vector, limit, exclude=photo_id,
                             include_missing=include_missing)


def similar_to_vector(session: Session, store: VectorStore, encoder_id: str, vector: np.ndarray, limit: int,
                      exclude: int | None = None, include_missing: bool = False) -> list[SearchHit]:
    want = max(0, limit) + 1 + (64 if not include_missing else 0)  # room for the photo itself, missing ones
    near = [(pid, s) for pid, s in store.nearest(session, "image_features", encoder_id, vector, want)
            if pid != exclude]
    stmt = select(Photo.id, Photo.path, Photo.caption).where(Photo.id.in_([pid for pid, _ in near]))
    if not include_missing:
        stmt = stmt.where(Photo.status != STATUS_MISSING)
    rows = {r.id: r for r in session.execute(stmt)}
    hits = [SearchHit(pid, rows[pid].path, rows[pid].caption, rows[pid].caption or "", 1.0 - s)
            for pid, s in near if pid in rows]
    return hits[:limit]

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

import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from photocap.library import search as _search
from photocap.library.records import SearchHit
from photocap.library.search import PhotoFilter, id_list, path_of
from photocap.library.values import STATUS_MISSING
from photocap.library.vectors import VectorStore, image_feature_of

RRF_K = 60
# all-MiniLM-L6-v2 cosine below which a photo is not listed for its meaning alone: when the
# words found nothing, and (stricter) beside word matches, so a word query, or a word still
# being typed ("bea"), is not padded with loosely related photos (bench/semantic_search.py)
MIN_SIMILARITY = 0.35
MIN_SIMILARITY_BESIDE_WORDS = 0.5
MEANING_CANDIDATES = 200  # nearest captions considered per query
FILTERED_CANDIDATES = 2000  # more when filters may drop most of them


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _beside() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="photocap-meaning")
        return _pool


def fused_search(
    conn: sqlite3.Connection,
    store: VectorStore,
    query: str,
    query_vector: np.ndarray | None,
    model_id: str | None,
    filters: PhotoFilter | None,
    limit: int,
    offset: int,
    marks: tuple[str, str],
    should_stop: Callable[[], bool] | None = None,
) -> list[SearchHit]:
    filters = filters or PhotoFilter()
    if query_vector is None or model_id is None or limit <= 0:
        return _search.search(conn, query, filters, offset + limit, 0, marks, should_stop)[offset : offset + limit]
    k = MEANING_CANDIDATES if filters == PhotoFilter() else FILTERED_CANDIDATES
    matrix = store.matrix(conn, "text_vectors", model_id)  # brought up to date first (cheap when it is)
    # The nearest captions are computed on another thread while this one runs the word search:
    # the matrix product (numpy) and the FTS5 query (SQLite) both let go of the GIL, so on two
    # cores a search by meaning costs about the longer of the two, not their sum.
    meaning = _beside().submit(matrix.nearest, query_vector, k)
    words = _search.search(conn, query, filters, offset + limit, 0, marks, should_stop)
    floor = MIN_SIMILARITY_BESIDE_WORDS if words else MIN_SIMILARITY
    near = [(pid, s) for pid, s in meaning.result() if s >= MIN_SIMILARITY]
    if not near:
        return words[offset : offset + limit]
    passing = _passing(conn, [pid for pid, _ in near], filters)
    near = [(pid, s) for pid, s in near if pid in passing]
    meaning_rank = {pid: i for i, (pid, _) in enumerate(near)}
    word_rank = {h.photo_id: i for i, h in enumerate(words)}

    def score(pid: int) -> float:
        return sum(1.0 / (RRF_K + 1 + r[pid]) for r in (word_rank, meaning_rank) if pid in r)

    by_words = sorted(words, key=lambda h: (-score(h.photo_id), word_rank[h.photo_id]))
    fused = [SearchHit(h.photo_id, h.path, h.caption, h.snippet, -score(h.photo_id)) for h in by_words]
    # then the photos found by meaning alone; their files and captions are read for the page only
    by_meaning = [pid for pid, s in near if pid not in word_rank and s >= floor]
    shown = by_meaning[max(0, offset - len(fused)) : max(0, offset + limit - len(fused))]
    sql = f"SELECT id, path, caption FROM photos WHERE id IN ({id_list(shown)})"
    rows = {r[0]: (path_of(r[1]), r[2]) for r in conn.execute(sql)} if shown else {}
    page = fused[offset : offset + limit]
    return page + [SearchHit(p, rows[p][0], rows[p][1], rows[p][1] or "", -score(p)) for p in shown if p in rows]


def _passing(conn: sqlite3.Connection, ids: list[int], filters: PhotoFilter) -> set[int]:
    """Which of ``ids`` pass ``filters``. Without filters only missing photos are left out, and the
    status index says which without reading a row (200 rows cost ~1 ms; the index ~0.2 ms)."""
    if filters == PhotoFilter():
        return set(ids) - _search.missing_among(conn, ids)
    where, params = filters.where()
    return {
        r[0]
        for r in conn.execute(f"SELECT photos.id FROM photos WHERE photos.id IN ({id_list(ids)}) AND {where}", params)
    }


def similar_photos(
    conn: sqlite3.Connection, store: VectorStore, photo_id: int, limit: int, include_missing: bool = False
) -> list[SearchHit] | None:
    """Photos whose image features are nearest ``photo_id``'s, best first (``rank`` = 1 - cosine).

    None when the photo has no feature yet (it has not been captioned since features were kept).
    """
    own = image_feature_of(conn, photo_id)
    if own is None:
        return None
    encoder_id, vector = own
    return similar_to_vector(conn, store, encoder_id, vector, limit, exclude=photo_id, include_missing=include_missing)


def similar_to_vector(
    conn: sqlite3.Connection,
    store: VectorStore,
    encoder_id: str,
    vector: np.ndarray,
    limit: int,
    exclude: int | None = None,
    include_missing: bool = False,
) -> list[SearchHit]:
    want = max(0, limit) + 1 + (64 if not include_missing else 0)  # room for the photo itself, missing ones
    near = [(pid, s) for pid, s in store.nearest(conn, "image_features", encoder_id, vector, want) if pid != exclude]
    sql = f"SELECT id, path, caption FROM photos WHERE id IN ({id_list(pid for pid, _ in near)})"
    rows = {
        r[0]: (path_of(r[1]), r[2])
        for r in conn.execute(
            sql if include_missing else sql + " AND status != ?", () if include_missing else (STATUS_MISSING,)
        )
    }
    hits = [SearchHit(pid, rows[pid][0], rows[pid][1], rows[pid][1] or "", 1.0 - s) for pid, s in near if pid in rows]
    return hits[:limit]

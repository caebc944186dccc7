"""Vectors kept with the library: sentence vectors of captions, pooled image features.

Stored as float16 bytes in two tables of the library file (``text_vectors``,
``image_features``; migration 0004), so they are backed up, moved and deleted with the
photos they describe (a foreign key with ON DELETE CASCADE), and a trigger drops a text
vector the moment its photo's caption or tags change. Searching reads them into one
float32 matrix per (table, model) and keeps it in memory; a generation counter bumped by
triggers on every insert and delete tells a reader, with one primary-key lookup, when
its copy is stale. Nearest neighbours are a matrix-vector product, exact up to 40,000
sentence vectors; past that the product reads only the groups of vectors nearest the query
(see ``GROUP_ROWS``), and still finds 99-100 % of the exact nearest at 100,000 photos
(``bench/semantic_search.py`` measures both).

Every function takes a plain ``sqlite3`` connection (the app's read or write transaction's,
or the command line's own: see :mod:`photocap.library.search`).

Why not sqlite-vec: this Python's ``sqlite3`` is built without ``enable_load_extension``
(so are several distributions' and the python.org macOS builds before 3.12), and on a
library this size its ``vec0`` scan is brute force too. The matrix needs only numpy.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from photocap.blas import blas_threads
from photocap.library.search import id_list
from photocap.library.vector_rows import embedding_text

# table -> the column naming what made its vectors
MODEL_COLUMN = {"text_vectors": "model_id", "image_features": "encoder_id"}


def to_blob(vector: np.ndarray) -> bytes:
    """A unit-length float16 copy of ``vector`` as bytes."""
    v = np.asarray(vector, dtype=np.float32).ravel()
    n = float(np.linalg.norm(v))
    return (v / n if n > 0 else v).astype("<f2").tobytes()


def generation(conn: sqlite3.Connection, kind: str) -> tuple[int, int]:
    """(changes, deletions) of a vector table so far."""
    row = conn.execute("SELECT generation, deletions FROM vector_generations WHERE kind = ?", (kind,)).fetchone()
    return (row[0], row[1]) if row is not None else (0, 0)


# Vectors longer than this are searched in memory through a fixed random projection to
# PROJECTED_DIM (orthonormal columns, the same in every process), then the best candidates
# are re-ranked exactly from their stored float16 vectors: image features are 1280-d, and
# 100,000 of them as float32 would take 512 MB; projected they take 51 MB.
PROJECT_ABOVE = 512
PROJECTED_DIM = 128
RERANK = 4  # candidates re-ranked exactly per neighbour asked for (at least RERANK_MIN)
RERANK_MIN = 200
# Shorter vectors (sentence vectors: 384-d) are scanned exactly up to PCA_ROWS of them. Past
# that the scan reads their PCA_DIM principal directions (estimated once, from up to PCA_SAMPLE
# of them) and re-ranks the best RERANK x k exactly from a float16 copy in memory: 3x less
# memory to read per search (the scan is bound by memory speed: 12 -> 4 ms at 100,000), and
# on real caption vectors the exact top 200 were always among the 800 candidates (6,000
# captions and tag lists, 20 queries; a random projection kept 96%).
PCA_ROWS = 20_000
PCA_DIM = 128
PCA_SAMPLE = 20_000
# Past GROUP_ROWS sentence vectors the scan reads only the part of the matrix near the query
# (an inverted file, as FAISS's IVF): the rows are grouped by the nearest of about sqrt(N)
# centres (spherical k-means on their principal coordinates, estimated once with the
# directions; later rows join the nearest centre), stored group after group; a query reads
# the groups whose centres are nearest it until SCAN_FRACTION of the rows are read, then
# re-ranks the best exactly as above. At 100,000 photos a search reads 10,000 rows instead of
# every one (bench/semantic_search.py measures the time, and how many of the exact nearest
# the groups held: the recall).
GROUP_ROWS = 40_000
SCAN_FRACTION = 0.2
KMEANS_ROUNDS = 8


def projection(dim: int) -> np.ndarray | None:
    if dim <= PROJECT_ABOVE:
        return None
    q, _ = np.linalg.qr(np.random.default_rng(dim).standard_normal((dim, PROJECTED_DIM)))
    return q.astype(np.float32)


def principal_directions(exact: np.ndarray) -> np.ndarray:
    """(dim, PCA_DIM): the directions in which these unit vectors spread most (the eigenvectors
    of their second moment, not centred: inner products are what the scan approximates)."""
    sample = (
        exact
        if len(exact) <= PCA_SAMPLE
        else exact[np.sort(np.random.default_rng(0).choice(len(exact), PCA_SAMPLE, replace=False))]
    )
    sample = sample.astype(np.float32)
    _, vectors = np.linalg.eigh(sample.T @ sample)  # ascending
    return np.ascontiguousarray(vectors[:, ::-1][:, :PCA_DIM], dtype=np.float32)


def group_centres(rows: np.ndarray) -> np.ndarray:
    """(about sqrt(N), dim) unit centres of ``rows`` by spherical k-means (inner products, as
    the scan ranks), on a sample of up to PCA_SAMPLE rows; the same every time for the same rows."""
    rng = np.random.default_rng(0)
    sample = rows if len(rows) <= PCA_SAMPLE else rows[np.sort(rng.choice(len(rows), PCA_SAMPLE, replace=False))]
    n = int(min(len(sample), max(16, round(np.sqrt(len(rows))))))
    centres = _unit(sample[rng.choice(len(sample), n, replace=False)])
    for _ in range(KMEANS_ROUNDS):
        nearest = np.argmax(sample @ centres.T, axis=1)
        counts = np.bincount(nearest, minlength=n)
        starts = np.cumsum(counts) - counts
        joined = counts > 0  # a centre nothing joined keeps its place
        sums = centres.copy()
        sums[joined] = np.add.reduceat(sample[np.argsort(nearest, kind="stable")], starts[joined], axis=0)
        centres = _unit(sums)
    return np.ascontiguousarray(centres, dtype=np.float32)


def nearest_centre(rows: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """The index of each row's nearest centre (by inner product), in chunks (bounded memory)."""
    out = [np.argmax(rows[i : i + 8192] @ centres.T, axis=1) for i in range(0, len(rows), 8192)]
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, highest first (ties in index order)."""
    k = min(k, len(scores))
    top = np.argpartition(scores, len(scores) - k)[len(scores) - k :]  # (no negated copy of the scores)
    return top[np.argsort(-scores[top], kind="stable")]


def _rows(f16: np.ndarray, basis: np.ndarray | None, unit: bool = False) -> np.ndarray:
    """float16 vectors as float32 scan rows (through ``basis`` if given), in chunks (bounded memory)."""
    if not len(f16):
        return np.zeros((0, basis.shape[1] if basis is not None else f16.shape[1]), np.float32)
    out = []
    for i in range(0, len(f16), 8192):
        chunk = f16[i : i + 8192].astype(np.float32)
        chunk = chunk @ basis if basis is not None else chunk
        out.append(_unit(chunk) if unit else chunk)
    return np.concatenate(out)


@dataclass(frozen=True)
class Matrix:
    """Every vector of one table and model. ``ids[i]``'s vector, as scanned, is ``rows[i]``
    (float32): the unit vector itself; or its coordinates along ``proj``'s principal
    directions, with the vector itself in ``exact`` (float16) for re-ranking; or, for long
    vectors, its normalised random projection (then :meth:`nearest` is approximate and
    :meth:`VectorStore.nearest` re-ranks from the file)."""

    ids: np.ndarray  # int64
    rows: np.ndarray  # (N, D, PCA_DIM or PROJECTED_DIM) float32
    dim: int  # the stored vectors' length
    proj: np.ndarray | None
    generation: tuple[int, int]
    exact: np.ndarray | None = None  # (N, D) float16: vectors up to PROJECT_ABOVE long
    centres: np.ndarray | None = None  # (G, PCA_DIM): the groups' centres, past GROUP_ROWS
    starts: np.ndarray | None = None  # (G + 1,): group g is rows[starts[g]:starts[g + 1]]

    def nearest(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` most similar (photo id, cosine), best first. One BLAS thread: the scan is bound
        by memory speed, and a second thread would go on spinning beside the word search."""
        if not len(self.ids) or k <= 0:
            return []
        with blas_threads(1):
            return self._nearest(query, k)

    def _nearest(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        q = np.asarray(query, dtype=np.float32).ravel()
        if q.shape[0] != self.dim:
            return []
        q = _unit(q)
        if self.exact is not None and self.proj is not None:  # principal directions, then exactly
            candidates = self._candidates(q @ self.proj, max(RERANK_MIN, RERANK * k))
            scores = self.exact[candidates].astype(np.float32) @ q
            best = _top(scores, k)
            return [(int(self.ids[candidates[i]]), float(scores[i])) for i in best]
        scores = self.rows @ (q if self.proj is None else _unit(q @ self.proj))
        return [(int(self.ids[i]), float(scores[i])) for i in _top(scores, k)]

    def _candidates(self, coords: np.ndarray, n: int) -> np.ndarray:
        """Row indices of the ``n`` best by principal coordinates: of every row, or, when the rows
        are grouped, of the groups nearest the query holding SCAN_FRACTION of them."""
        if self.centres is None or self.starts is None:
            return _top(self.rows @ coords, n)
        order = np.argsort(-(self.centres @ coords))
        sizes = np.diff(self.starts)[order]
        enough = max(n, int(SCAN_FRACTION * len(self.rows)))
        picked = order[: int(np.searchsorted(np.cumsum(sizes), enough)) + 1]
        spans = [(int(self.starts[g]), int(self.starts[g + 1])) for g in picked]
        scores = np.concatenate([self.rows[a:b] @ coords for a, b in spans])
        where: np.ndarray = np.concatenate([np.arange(a, b) for a, b in spans])
        best: np.ndarray = where[_top(scores, n)]
        return best


class VectorStore:
    """In-memory matrices over the vector tables, reloaded when their generation moves (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], Matrix] = {}

    def matrix(self, conn: sqlite3.Connection, kind: str, model_id: str) -> Matrix:
        """The vectors of ``kind`` from ``model_id``, as of now.

        A copy in memory is brought up to date with what changed since it was made: the rows
        inserted since (``seq`` past its generation), and, when rows were deleted, the ids
        still there. So a caption edit or a chunk of the embedding pass costs a few
        milliseconds, not a reload of every vector (seconds at 100,000 photos).
        """
        gen = generation(conn, kind)
        with self._lock:
            cached = self._cache.get((kind, model_id))
        if cached is not None and cached.generation == gen:
            return cached
        model_col = MODEL_COLUMN[kind]
        since = cached.generation[0] if cached is not None else -1
        rows = conn.execute(
            f"SELECT photo_id, vector FROM {kind} WHERE seq > ? AND {model_col} = ?", (since, model_id)
        ).fetchall()
        dim = cached.dim if cached is not None and cached.dim else (len(rows[0][1]) // 2 if rows else 0)
        rows = [r for r in rows if len(r[1]) == 2 * dim]
        new_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        new_f16 = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f2").reshape(len(rows), dim)
        old: Matrix | None = None  # the cached matrix, when some of its rows stay (None: start afresh)
        keep: np.ndarray | None = None  # which of its rows stay
        if cached is not None and len(cached.ids):
            old, keep = cached, ~np.isin(cached.ids, new_ids)  # replaced rows
            if gen[1] != cached.generation[1]:  # something was deleted: keep only ids still there
                there = np.fromiter(
                    (r[0] for r in conn.execute(f"SELECT photo_id FROM {kind} WHERE {model_col} = ?", (model_id,))),
                    dtype=np.int64,
                )
                keep &= np.isin(cached.ids, there)
        ids = new_ids if old is None else np.concatenate([old.ids[keep], new_ids])
        if dim > PROJECT_ABOVE:  # long vectors: a fixed random projection, re-ranked from the file
            proj = projection(dim)
            new_rows = _rows(new_f16, proj, unit=True)
            mat = new_rows if old is None else np.concatenate([old.rows[keep], new_rows])
            fresh = Matrix(ids, mat, dim, proj, gen)
        else:
            old_exact = old.exact if old is not None else None  # (vectors this short always have exact rows)
            exact = new_f16 if old_exact is None else np.concatenate([old_exact[keep], new_f16])
            basis = old.proj if old is not None else None
            if basis is None and len(ids) > PCA_ROWS:  # grown past the exact scan: directions once, every row
                basis = principal_directions(exact)
                mat = _rows(exact, basis)
            else:
                new_rows = _rows(new_f16, basis)
                mat = new_rows if old is None else np.concatenate([old.rows[keep], new_rows])
            fresh = _grouped(Matrix(ids, mat, dim, basis, gen, exact), old, keep)
        with self._lock:
            self._cache[(kind, model_id)] = fresh
        return fresh

    def nearest(
        self, conn: sqlite3.Connection, kind: str, model_id: str, query: np.ndarray, k: int
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest (photo id, cosine), exact: projected candidates are re-ranked."""
        matrix = self.matrix(conn, kind, model_id)
        if matrix.proj is None or matrix.exact is not None:
            return matrix.nearest(query, k)
        candidates = [pid for pid, _ in matrix.nearest(query, max(RERANK_MIN, RERANK * k))]
        if not candidates:
            return []
        rows = conn.execute(
            f"SELECT photo_id, vector FROM {kind} WHERE {MODEL_COLUMN[kind]} = ? AND photo_id IN "
            f"({id_list(candidates)})",
            (model_id,),
        ).fetchall()
        if not rows:
            return []
        exact = _unit(
            np.frombuffer(b"".join(r[1] for r in rows), dtype="<f2").reshape(len(rows), -1).astype(np.float32)
        )
        scores = exact @ _unit(np.asarray(query, dtype=np.float32).ravel())
        order = np.argsort(-scores, kind="stable")[:k]
        return [(int(rows[i][0]), float(scores[i])) for i in order]


def _grouped(m: Matrix, cached: Matrix | None, keep: np.ndarray | None) -> Matrix:
    """``m`` with its rows stored group after group, past GROUP_ROWS principal-coordinate rows.
    The centres are made once (and again when the rows have doubled since); the rows kept
    from ``cached`` stay in their groups, the new ones join their nearest centre."""
    if m.proj is None or m.exact is None or len(m.ids) <= GROUP_ROWS:
        return m
    centres = cached.centres if cached is not None and cached.proj is m.proj else None
    if centres is not None and cached is not None and cached.starts is not None and 2 * cached.starts[-1] >= len(m.ids):
        old_groups = np.repeat(np.arange(len(centres)), np.diff(cached.starts))
        kept = old_groups[keep] if keep is not None else old_groups
        groups = np.concatenate([kept, nearest_centre(m.rows[len(kept) :], centres)])
    else:
        centres = group_centres(m.rows)
        groups = nearest_centre(m.rows, centres)
    order = np.argsort(groups, kind="stable")
    starts = np.searchsorted(groups[order], np.arange(len(centres) + 1))
    return Matrix(m.ids[order], m.rows[order], m.dim, m.proj, m.generation, m.exact[order], centres, starts)


def store_text_vectors(conn: sqlite3.Connection, model_id: str, items: Sequence[tuple[int, str, np.ndarray]]) -> int:
    """Store (photo id, the text that was embedded, vector) rows; a row whose photo's words have
    changed since (an edit while the vector was computed) is skipped. Returns how many were stored."""
    wanted = {pid: (text, vec) for pid, text, vec in items}
    if not wanted:
        return 0
    now = {
        r[0]: embedding_text(r[1], r[2], r[3])
        for r in conn.execute(
            f"SELECT id, caption, tags_text, caption_source FROM photos WHERE id IN ({id_list(wanted)})"
        )
    }
    fresh = [(pid, vec) for pid, (text, vec) in wanted.items() if now.get(pid) == text]
    if fresh:
        conn.execute(f"DELETE FROM text_vectors WHERE photo_id IN ({id_list(pid for pid, _ in fresh)})")
        conn.executemany(
            "INSERT INTO text_vectors (photo_id, model_id, vector) VALUES (?, ?, ?)",
            [(pid, model_id, to_blob(vec)) for pid, vec in fresh],
        )
    return len(fresh)


def store_image_feature(conn: sqlite3.Connection, photo_id: int, encoder_id: str, vector: np.ndarray) -> None:
    conn.execute("DELETE FROM image_features WHERE photo_id = ?", (photo_id,))
    conn.execute(
        "INSERT INTO image_features (photo_id, encoder_id, vector) VALUES (?, ?, ?)",
        (photo_id, encoder_id, to_blob(vector)),
    )


def image_feature_of(conn: sqlite3.Connection, photo_id: int) -> tuple[str, np.ndarray] | None:
    row = conn.execute("SELECT encoder_id, vector FROM image_features WHERE photo_id = ?", (photo_id,)).fetchone()
    return None if row is None else (row[0], np.frombuffer(row[1], dtype="<f2").astype(np.float32))

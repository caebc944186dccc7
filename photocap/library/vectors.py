"""Vectors kept with the library: sentence vectors of captions, pooled image features.

Stored as float16 bytes in two tables of the library file (``text_vectors``,
``image_features``; migration 0004), so they are backed up, moved and deleted with the
photos they describe (a foreign key with ON DELETE CASCADE), and a trigger drops a text
vector the moment its photo's caption or tags change. Searching reads them into one
float32 matrix per (table, model) and keeps it in memory; a generation counter bumped by
triggers on every insert and delete tells a reader, with one primary-key lookup, when
its copy is stale. Nearest neighbours are a matrix-vector product: exact, and at
100,000 photos within the search budget (``bench/semantic_search.py``).

Why not sqlite-vec: this Python's ``sqlite3`` is built without ``enable_load_extension``
(so are several distributions' and the python.org macOS builds before 3.12), and on a
library this size its ``vec0`` scan is brute force too. The matrix needs only numpy.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from photocap.library.schema import SOURCE_TAGS, ImageFeature, Photo, TextVector, VectorGeneration

TABLES = {"text_vectors": TextVector, "image_features": ImageFeature}


def to_blob(vector: np.ndarray) -> bytes:
    """A unit-length float16 copy of ``vector`` as bytes."""
    v = np.asarray(vector, dtype=np.float32).ravel()
    n = float(np.linalg.norm(v))
    return (v / n if n > 0 else v).astype("<f2").tobytes()


def generation(session: Session, kind: str) -> tuple[int, int]:
    """(changes, deletions) of a vector table so far."""
    row = session.execute(select(VectorGeneration.generation, VectorGeneration.deletions)
                          .where(VectorGeneration.kind == kind)).one_or_none()
    return (row[0], row[1]) if row is not None else (0, 0)


# Vectors longer than this are searched in memory through a fixed random projection to
# PROJECTED_DIM (orthonormal columns, the same in every process), then the best candidates
# are re-ranked exactly from their stored float16 vectors: image features are 1280-d, and
# 100,000 of them as float32 would take 512 MB; projected they take 51 MB.
PROJECT_ABOVE = 512
PROJECTED_DIM = 128
RERANK = 4  # candidates re-ranked exactly per neighbour asked for (at least RERANK_MIN)
RERANK_MIN = 200


def projection(dim: int) -> np.ndarray | None:
    if dim <= PROJECT_ABOVE:
        return None
    q, _ = np.linalg.qr(np.random.default_rng(dim).standard_normal((dim, PROJECTED_DIM)))
    return q.astype(np.float32)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1)


@dataclass(frozen=True)
class Matrix:
    """Every vector of one table and model: ``ids[i]``'s unit vector is ``rows[i]`` (float32),
    projected by ``proj`` when the vectors are long (then ``nearest`` is approximate)."""

    ids: np.ndarray  # int64
    rows: np.ndarray  # (N, D or PROJECTED_DIM) float32
    dim: int  # the stored vectors' length
    proj: np.ndarray | None
    generation: tuple[int, int]

    def nearest(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` most similar (photo id, cosine), best first."""
        if not len(self.ids) or k <= 0:
            return []
        q = np.asarray(query, dtype=np.float32).ravel()
        if q.shape[0] != self.dim:
            return []
        q = _unit(q if self.proj is None else q @ self.proj)
        scores = self.rows @ q
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top]


class VectorStore:
    """In-memory matrices over the vector tables, reloaded when their generation moves (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], Matrix] = {}

    def matrix(self, session: Session, kind: str, model_id: str) -> Matrix:
        """The vectors of ``kind`` from ``model_id``, as of now.

        A copy in memory is brought up to date with what changed since it was made: the rows
        inserted since (``seq`` past its generation), and, when rows were deleted, the ids
        still there. So a caption edit or a chunk of the embedding pass costs a few
        milliseconds, not a reload of every vector (seconds at 100,000 photos).
        """
        gen = generation(session, kind)
        with self._lock:
            cached = self._cache.get((kind, model_id))
        if cached is not None and cached.generation == gen:
            return cached
        model_col = "model_id" if kind == "text_vectors" else "encoder_id"
        since = cached.generation[0] if cached is not None else -1
        # the driver directly: 100,000 rows through SQLAlchemy's result objects cost 5x more
        rows = session.connection().exec_driver_sql(
            f"SELECT photo_id, vector FROM {kind} WHERE seq > ? AND {model_col} = ?", (since, model_id)).fetchall()
        dim = cached.dim if cached is not None and cached.dim else (len(rows[0][1]) // 2 if rows else 0)
        proj = projection(dim)
        rows = [r for r in rows if len(r[1]) == 2 * dim]
        new_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        new_rows = np.zeros((0, PROJECTED_DIM if proj is not None else dim), np.float32)
        if rows:
            f16 = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f2").reshape(len(rows), dim)
            new_rows = np.concatenate([_unit(f16[i : i + 8192].astype(np.float32) @ proj) if proj is not None
                                       else f16[i : i + 8192].astype(np.float32) for i in range(0, len(rows), 8192)])
        if cached is None or not len(cached.ids):
            ids, mat = new_ids, new_rows
        else:
            keep = ~np.isin(cached.ids, new_ids)  # replaced rows
            if gen[1] != cached.generation[1]:  # something was deleted: keep only ids still there
                there = np.fromiter((r[0] for r in session.connection().exec_driver_sql(
                    f"SELECT photo_id FROM {kind} WHERE {model_col} = ?", (model_id,))), dtype=np.int64)
                keep &= np.isin(cached.ids, there)
            ids = np.concatenate([cached.ids[keep], new_ids])
            mat = np.concatenate([cached.rows[keep], new_rows]) if len(new_rows) else cached.rows[keep]
        fresh = Matrix(ids, mat, dim, proj, gen)
        with self._lock:
            self._cache[(kind, model_id)] = fresh
        return fresh

    def nearest(self, session: Session, kind: str, model_id: str, query: np.ndarray,
                k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest (photo id, cosine), exact: projected candidates are re-ranked."""
        matrix = self.matrix(session, kind, model_id)
        if matrix.proj is None:
            return matrix.nearest(query, k)
        candidates = [pid for pid, _ in matrix.nearest(query, max(RERANK_MIN, RERANK * k))]
        if not candidates:
            return []
        model_col = "model_id" if kind == "text_vectors" else "encoder_id"
        rows = session.connection().exec_driver_sql(
            f"SELECT photo_id, vector FROM {kind} WHERE {model_col} = ? AND photo_id IN "
            f"({', '.join(map(str, candidates))})", (model_id,)).fetchall()
        if not rows:
            return []
        exact = _unit(np.frombuffer(b"".join(r[1] for r in rows), dtype="<f2").reshape(len(rows), -1)
                      .astype(np.float32))
        scores = exact @ _unit(np.asarray(query, dtype=np.float32).ravel())
        order = np.argsort(-scores, kind="stable")[:k]
        return [(int(rows[i][0]), float(scores[i])) for i in order]


def needing_text_vectors(session: Session, model_id: str, limit: int) -> list[tuple[int, str]]:
    """(photo id, text to embed) for photos with words but no vector from ``model_id`` (newest first)."""
    rows = session.execute(
        select(Photo.id, Photo.caption, Photo.tags_text, Photo.caption_source)
        .outerjoin(TextVector, (TextVector.photo_id == Photo.id) & (TextVector.model_id == model_id))
        .where(TextVector.photo_id.is_(None), (Photo.caption.is_not(None)) | (Photo.tags_text != ""))
        .order_by(Photo.id.desc())
        .limit(limit)
    ).all()
    return [(r.id, embedding_text(r.caption, r.tags_text, r.caption_source)) for r in rows]


def count_needing_text_vectors(session: Session, model_id: str) -> int:
    return session.scalar(
        select(func.count()).select_from(Photo)
        .outerjoin(TextVector, (TextVector.photo_id == Photo.id) & (TextVector.model_id == model_id))
        .where(TextVector.photo_id.is_(None), (Photo.caption.is_not(None)) | (Photo.tags_text != ""))
    ) or 0


def has_text_vectors(session: Session, model_id: str) -> bool:
    return session.scalar(select(TextVector.photo_id).where(TextVector.model_id == model_id).limit(1)) is not None


def store_text_vectors(session: Session, model_id: str, items: Sequence[tuple[int, str, np.ndarray]]) -> int:
    """Store (photo id, the text that was embedded, vector) rows; a row whose photo's words have
    changed since (an edit while the vector was computed) is skipped. Returns how many were stored."""
    wanted = {pid: (text, vec) for pid, text, vec in items}
    now = {r.id: embedding_text(r.caption, r.tags_text, r.caption_source) for r in session.execute(
        select(Photo.id, Photo.caption, Photo.tags_text, Photo.caption_source).where(Photo.id.in_(list(wanted))))}
    fresh = [(pid, vec) for pid, (text, vec) in wanted.items() if now.get(pid) == text]
    if fresh:
        session.execute(delete(TextVector).where(TextVector.photo_id.in_([pid for pid, _ in fresh])))
        session.add_all(TextVector(photo_id=pid, model_id=model_id, vector=to_blob(vec)) for pid, vec in fresh)
    return len(fresh)


def store_image_feature(session: Session, photo_id: int, encoder_id: str, vector: np.ndarray) -> None:
    session.execute(delete(ImageFeature).where(ImageFeature.photo_id == photo_id))
    session.add(ImageFeature(photo_id=photo_id, encoder_id=encoder_id, vector=to_blob(vector)))


def image_feature_of(session: Session, photo_id: int) -> tuple[str, np.ndarray] | None:
    row = session.execute(select(ImageFeature.encoder_id, ImageFeature.vector)
                          .where(ImageFeature.photo_id == photo_id)).one_or_none()
    return None if row is None else (row[0], np.frombuffer(row[1], dtype="<f2").astype(np.float32))


def embedding_text(caption: str | None, tags_text: str | None, source: str | None = None) -> str:
    """What a photo's sentence vector is made of: its caption, and its tags unless the caption is them."""
    caption = (caption or "").strip()
    tags = (tags_text or "").strip()
    if not tags or source == SOURCE_TAGS:
        return caption
    return f"{caption}. {tags}" if caption else tags

"""Which photos have sentence vectors and which need one, and what a vector is made of: SQL
and text only (no numpy), so the command line can ask before it loads anything
(:mod:`.vectors` keeps the vectors themselves)."""

from __future__ import annotations

import sqlite3

from photocap.library.values import SOURCE_TAGS

_NEEDING = (
    "FROM photos LEFT JOIN text_vectors ON text_vectors.photo_id = photos.id AND text_vectors.model_id = ? "
    "WHERE text_vectors.photo_id IS NULL AND (photos.caption IS NOT NULL OR photos.tags_text != '')"
)


def needing_text_vectors(conn: sqlite3.Connection, model_id: str, limit: int) -> list[tuple[int, str]]:
    """(photo id, text to embed) for photos with words but no vector from ``model_id`` (newest first)."""
    rows = conn.execute(
        f"SELECT photos.id, photos.caption, photos.tags_text, photos.caption_source {_NEEDING} "
        "ORDER BY photos.id DESC LIMIT ?",
        (model_id, limit),
    ).fetchall()
    return [(r[0], embedding_text(r[1], r[2], r[3])) for r in rows]


def count_needing_text_vectors(conn: sqlite3.Connection, model_id: str) -> int:
    return conn.execute(f"SELECT count(*) {_NEEDING}", (model_id,)).fetchone()[0] or 0


def has_text_vectors(conn: sqlite3.Connection, model_id: str | None = None) -> bool:
    """Whether any photo has a sentence vector (from ``model_id``, or from any model)."""
    if model_id is None:
        return conn.execute("SELECT 1 FROM text_vectors LIMIT 1").fetchone() is not None
    return conn.execute("SELECT 1 FROM text_vectors WHERE model_id = ? LIMIT 1", (model_id,)).fetchone() is not None


def embedding_text(caption: str | None, tags_text: str | None, source: str | None = None) -> str:
    """What a photo's sentence vector is made of: its caption, and its tags unless the caption is them."""
    caption = (caption or "").strip()
    tags = (tags_text or "").strip()
    if not tags or source == SOURCE_TAGS:
        return caption
    return f"{caption}. {tags}" if caption else tags

"""The library's tables as SQLAlchemy 2.0 typed ORM models.

Why the shape is what it is:

* ``photos`` carries a *denormalised copy* of the current caption (``caption``,
  ``caption_source``, ``caption_model``) and of the tags (``tags_text``), plus the file
  and folder names. The FTS5 index (:mod:`photocap.library.fts`) is an external-content
  table over exactly these columns, so the search index follows every write through
  triggers and never needs a join to be rebuilt.
* ``captions`` keeps every caption a photo ever had (the history); the newest row is
  the one copied into ``photos``. Nothing ever deletes a history row except deleting
  the photo itself, which the library only does when the user asks for it.
* A photo is never deleted because its file vanished: ``status`` becomes ``missing``
  and the captions stay. ``identity`` (see :func:`photocap.ingest.files.quick_identity`) lets a
  moved or renamed file find its old row again.
* Times are naive UTC (``utcnow()``); ``taken_at`` is EXIF local time, as the camera wrote it.

The FTS5 virtual table and its triggers are created by a migration with raw SQL and
are kept out of Alembic autogenerate (see ``migrations/env.py``).
"""

from __future__ import annotations

import datetime as _dt
import os
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from photocap.filenames import one_line, unicode_safe
from photocap.library.values import FOLDER_OK, STATUS_OK

# Filter facets as words, so a search's filters intersect inside FTS5 (see migration 0003
# and search.py): "stok", "srcuser", "review" (automatic caption not yet looked at), "f3"
# (watched folder 3), "y2015" and "m201503" (date taken). A VIRTUAL generated column:
# computed when read, never stored, never out of date.
FACETS_SQL = (
    "'st' || status || ' src' || coalesce(caption_source, 'none')"
    " || CASE WHEN caption_source IN ('model', 'tags') AND reviewed = 0 THEN ' review' ELSE '' END"
    " || ' f' || coalesce(folder_id, 0)"
    " || coalesce(' y' || substr(taken_at, 1, 4) || ' m' || substr(taken_at, 1, 4) || substr(taken_at, 6, 2), '')"
)


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


class FsPath(TypeDecorator[str]):
    """A file system path stored as its exact bytes (a BLOB in a TEXT-declared column; migration
    0005). Bytes compare as UTF-8 text does, so unique indexes and ``under`` ranges still work."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        return None if value is None else os.fsencode(value)

    def process_literal_param(self, value: str | None, dialect: Dialect) -> str:  # pragma: no cover - SQL rendering
        return "" if value is None else value  # None is rendered as NULL before this is asked

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if isinstance(value, (bytes, memoryview)):
            return os.fsdecode(bytes(value))
        return None if value is None else str(value)


class SafeString(TypeDecorator[str]):
    """Text that may quote a file name: undecodable bytes are written as U+FFFD."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return unicode_safe(value) if isinstance(value, str) else value


class SafeText(SafeString):
    impl = Text
    cache_ok = True


class Reason(SafeText):
    """Why a file could not be used: always stored as one clean line, whoever wrote it."""

    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return one_line(value) if isinstance(value, str) else value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {dict[str, Any]: JSON}


class Folder(Base):
    """A folder the user added; everything below it belongs to the library."""

    __tablename__ = "folders"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(FsPath, unique=True)
    status: Mapped[str] = mapped_column(String(16), default=FOLDER_OK)
    polling: Mapped[bool] = mapped_column(Boolean, default=False)  # network folders: watch by polling
    added_at: Mapped[_dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_scan_at: Mapped[_dt.datetime | None] = mapped_column(DateTime)

    photos: Mapped[list[Photo]] = relationship(back_populates="folder", passive_deletes=True)


class Photo(Base):
    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    folder_id: Mapped[int | None] = mapped_column(ForeignKey("folders.id", ondelete="SET NULL"), index=True)
    path: Mapped[str] = mapped_column(FsPath, unique=True)  # the exact bytes (see filenames.py)
    # searchable names, readable (filenames.readable): the file name and the folder path
    # below (and including) the watched root
    name: Mapped[str] = mapped_column(SafeString)
    folder_name: Mapped[str] = mapped_column(SafeString, default="")
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    # newest mtime of the photo's XMP / Takeout sidecars when last read (0: none)
    sidecar_mtime_ns: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    identity: Mapped[str] = mapped_column(String(40), index=True)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    format: Mapped[str | None] = mapped_column(String(16))
    taken_at: Mapped[_dt.datetime | None] = mapped_column(DateTime, index=True)
    camera: Mapped[str | None] = mapped_column(SafeString)
    status: Mapped[str] = mapped_column(String(16), default=STATUS_OK, index=True)
    error: Mapped[str | None] = mapped_column(Reason)
    added_at: Mapped[_dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[_dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    # the current caption, copied from the newest ``captions`` row (FTS indexes these)
    caption: Mapped[str | None] = mapped_column(SafeText)
    caption_source: Mapped[str | None] = mapped_column(String(16), index=True)
    caption_model: Mapped[str | None] = mapped_column(String)
    caption_at: Mapped[_dt.datetime | None] = mapped_column(DateTime)
    # the file changed since its automatic caption was made: caption it again
    caption_stale: Mapped[bool] = mapped_column(Boolean, default=False)
    # an automatic caption "needs review" until the user has looked at it or edited it
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    tags_text: Mapped[str] = mapped_column(Text, default="")
    # the tags' broader WordNet words (cat, feline, animal for "Egyptian cat"; see hierarchy.py),
    # indexed in their own FTS column, weighted below the tags themselves (migration 0004)
    tags_broader: Mapped[str] = mapped_column(Text, default="", server_default="")
    facets: Mapped[str] = mapped_column(Text, Computed(FACETS_SQL, persisted=False))

    folder: Mapped[Folder | None] = relationship(back_populates="photos")
    captions: Mapped[list[Caption]] = relationship(
        back_populates="photo", order_by="Caption.id", cascade="all, delete-orphan", passive_deletes=True
    )
    tags: Mapped[list[Tag]] = relationship(cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (Index("ix_photos_status_source_model", "status", "caption_source", "caption_model"),)


class Caption(Base):
    """One caption a photo had at some time (the history); the newest is the current one."""

    __tablename__ = "captions"

    id: Mapped[int] = mapped_column(primary_key=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(SafeText)
    source: Mapped[str] = mapped_column(String(16))
    model_id: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime, default=utcnow)
    # how sure the model was of an automatic caption (0-1; None: not measured, or a person wrote it)
    confidence: Mapped[float | None] = mapped_column(Float)

    photo: Mapped[Photo] = relationship(back_populates="captions")


class Tag(Base):
    """A label for a photo: from the tagger with its probability (latest run), or a keyword imported from metadata."""

    __tablename__ = "tags"

    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String, primary_key=True, index=True)
    prob: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16), default="model", server_default="model")  # or "imported"


class LibrarySetting(Base):
    """A preference that belongs to the library (the command line and the app follow the same)."""

    __tablename__ = "library_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class TextVector(Base):
    """A photo's caption and tags as a unit sentence vector (float16 bytes), for search by meaning.

    A trigger (migration 0004) deletes the row when the photo's caption or tags change, so
    a vector never describes old words; the embedding pass then makes a new one.
    """

    __tablename__ = "text_vectors"

    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    model_id: Mapped[str] = mapped_column(String)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0", index=True)  # set by a trigger


class ImageFeature(Base):
    """A photo's pooled encoder feature (float16 bytes), kept when it is captioned: "similar photos"."""

    __tablename__ = "image_features"

    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    encoder_id: Mapped[str] = mapped_column(String, index=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0", index=True)  # set by a trigger


class VectorGeneration(Base):
    """Bumped by triggers on every change of a vector table: in-memory copies know what to reload."""

    __tablename__ = "vector_generations"

    kind: Mapped[str] = mapped_column(String, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    deletions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Problem(Base):
    """Something the scanner or captioner could not use that is not a photo row (a folder, a stray file)."""

    __tablename__ = "problems"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(FsPath, unique=True)
    reason: Mapped[str] = mapped_column(Reason)
    seen_at: Mapped[_dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ModelVersion(Base):
    """A captioning model the library knows; exactly one (or none) is active."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[str] = mapped_column(String, unique=True)
    path: Mapped[str | None] = mapped_column(String)
    name: Mapped[str | None] = mapped_column(String)
    parent_model_id: Mapped[str | None] = mapped_column(String)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime, default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    activated_at: Mapped[_dt.datetime | None] = mapped_column(DateTime)


class TrainingRun(Base):
    __tablename__ = "training_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    base_model_id: Mapped[str | None] = mapped_column(String)
    result_model_id: Mapped[str | None] = mapped_column(String)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running/done/failed/cancelled
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    n_examples: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[_dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[_dt.datetime | None] = mapped_column(DateTime)

"""Plain, frozen dataclasses that cross the :class:`~photocap.library.Library` facade.

Callers (CLI, Qt models, the trainer) never see live ORM objects: these can be sent
between threads, kept after the session that read them is gone, and compared in tests.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any


class _ReviewState:
    caption_source: str | None
    reviewed: bool

    @property
    def needs_review(self) -> bool:
        """An automatic caption the user has neither looked at nor edited."""
        return self.caption_source in ("model", "tags") and not self.reviewed


@dataclass(frozen=True)
class FolderInfo:
    id: int
    path: str
    status: str  # "ok" or "missing" (unplugged, deleted)
    polling: bool
    photo_count: int  # photos whose file is there
    missing_count: int
    last_scan_at: _dt.datetime | None


@dataclass(frozen=True)
class PhotoRef:
    """Enough to caption a photo: its id and where the file is."""

    id: int
    path: str


@dataclass(frozen=True)
class PhotoSummary(_ReviewState):
    """One grid cell's worth of data."""

    id: int
    path: str
    name: str
    status: str
    caption: str | None
    caption_source: str | None
    reviewed: bool
    taken_at: _dt.datetime | None
    width: int | None
    height: int | None


@dataclass(frozen=True)
class CaptionRecord:
    text: str
    source: str
    model_id: str | None
    created_at: _dt.datetime
    confidence: float | None = None  # how sure the model was (0-1), automatic captions only


@dataclass(frozen=True)
class PhotoDetail(_ReviewState):
    id: int
    path: str
    folder: str | None
    status: str
    error: str | None
    caption: str | None
    caption_source: str | None
    caption_model: str | None
    reviewed: bool
    history: list[CaptionRecord]  # oldest first; the last one is the current caption
    tags: list[tuple[str, float]]  # most probable first
    size: int
    mtime_ns: int
    identity: str
    width: int | None
    height: int | None
    format: str | None
    taken_at: _dt.datetime | None
    camera: str | None

    @property
    def caption_confidence(self) -> float | None:
        """How sure the model was of the current caption (None: a person wrote it, or not measured)."""
        return self.history[-1].confidence if self.history else None


@dataclass(frozen=True)
class SearchHit:
    photo_id: int
    path: str
    caption: str | None
    snippet: str  # the best-matching column with the matched words between the marks
    rank: float  # bm25: lower is better (0.0 when the query had no words, only filters)


@dataclass(frozen=True)
class UserCaption:
    """A caption the user wrote, for the trainer; ``split`` is "train" or "val", stable per photo."""

    photo_id: int
    path: str
    text: str
    split: str


@dataclass(frozen=True)
class ModelVersionInfo:
    model_id: str
    path: str | None
    name: str | None
    parent_model_id: str | None
    metrics: dict[str, Any]
    created_at: _dt.datetime
    active: bool
    activated_at: _dt.datetime | None


@dataclass(frozen=True)
class TrainingRunInfo:
    id: int
    status: str
    base_model_id: str | None
    result_model_id: str | None
    params: dict[str, Any]
    metrics: dict[str, Any]
    n_examples: int | None
    error: str | None
    started_at: _dt.datetime
    finished_at: _dt.datetime | None


@dataclass(frozen=True)
class Problem:
    path: str
    reason: str


@dataclass
class ScanReport:
    """What one scan (or one batch of watcher changes) did."""

    folder: str
    seen: int = 0  # photo files found on disk
    unchanged: int = 0  # same size and mtime: not read at all
    added: int = 0
    updated: int = 0  # same path, new content
    moved: int = 0  # a known photo found under a new path (captions kept)
    restored: int = 0  # a missing photo came back
    missing: int = 0  # known photos no longer there (marked missing, nothing deleted)
    unreadable: int = 0  # photo files recorded with status "error"
    skipped: list[Problem] = field(default_factory=list)  # folders/files not even listed
    stopped: bool = False  # should_stop() ended it early (nothing was marked missing)
    seconds: float = 0.0

    def merge(self, other: ScanReport) -> None:
        for name in ("seen", "unchanged", "added", "updated", "moved", "restored", "missing", "unreadable"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.skipped.extend(other.skipped)
        self.stopped = self.stopped or other.stopped
        self.seconds += other.seconds

"""Model versions and training runs: which captioner is active, and how each was made.

The library only *records* models (an id, a file path, its parent, metrics); it never
loads one. At most one version is active. Rolling back is activating an older
version, after which :func:`photocap.library.captions.needing_caption` lists the
automatic captions made by any other model, so they are redone; user captions never are.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from photocap.library.records import ModelVersionInfo, TrainingRunInfo
from photocap.library.schema import ModelVersion, Photo, TrainingRun, utcnow
from photocap.library.values import AUTOMATIC_SOURCES, SOURCE_IMPORTED, SOURCE_USER, STATUS_OK

RUN_STATUSES = ("running", "done", "failed", "cancelled")


def _info(m: ModelVersion) -> ModelVersionInfo:
    return ModelVersionInfo(
        m.model_id, m.path, m.name, m.parent_model_id, dict(m.metrics or {}), m.created_at, m.active, m.activated_at
    )


def register(
    session: Session,
    model_id: str,
    path: str | None,
    name: str | None = None,
    parent_model_id: str | None = None,
    metrics: dict[str, Any] | None = None,
) -> ModelVersionInfo:
    """Add a version, or update path/name/metrics of a known one (registering twice is harmless)."""
    m = session.scalars(select(ModelVersion).where(ModelVersion.model_id == model_id)).one_or_none()
    if m is None:
        m = ModelVersion(model_id=model_id, active=False)
        session.add(m)
    m.path, m.name, m.parent_model_id = path, name or m.name, parent_model_id or m.parent_model_id
    m.metrics = dict(metrics or m.metrics or {})
    session.flush()
    return _info(m)


def versions(session: Session) -> list[ModelVersionInfo]:
    return [_info(m) for m in session.scalars(select(ModelVersion).order_by(ModelVersion.id))]


def active(session: Session) -> ModelVersionInfo | None:
    m = session.scalars(select(ModelVersion).where(ModelVersion.active.is_(True))).first()
    return _info(m) if m else None


def activate(session: Session, model_id: str | None) -> int:
    """Make ``model_id`` the active model (None: no trained model, the tagger describes photos).

    Every automatic caption (source ``model`` or ``tags``) is marked to be described again
    (``caption_stale``), so the captioning passes redo them with the new model; captions a
    person wrote (``user``, ``imported``) are never touched. Returns how many were marked.
    """
    if model_id is not None:
        m = _get(session, model_id)
    session.execute(update(ModelVersion).where(ModelVersion.active.is_(True)).values(active=False))
    if model_id is not None:
        m.active, m.activated_at = True, utcnow()
    done = session.execute(
        update(Photo)
        .where(Photo.caption_source.in_(AUTOMATIC_SOURCES), Photo.caption_stale.is_(False))
        .values(caption_stale=True),
        execution_options={"synchronize_session": False},
    )
    return cast("CursorResult[Any]", done).rowcount  # an UPDATE's result is a cursor's


def _get(session: Session, model_id: str) -> ModelVersion:
    m = session.scalars(select(ModelVersion).where(ModelVersion.model_id == model_id)).one_or_none()
    if m is None:
        raise KeyError(f"unknown model {model_id!r}: register it first")
    return m


def remove(session: Session, model_id: str) -> ModelVersionInfo:
    """Forget a version (not the active one); returns what it was. The caller deletes the file."""
    m = _get(session, model_id)
    if m.active:
        raise ValueError(f"model {model_id} is the one in use; switch to another model before removing it")
    info = _info(m)
    session.delete(m)
    return info


def rename(session: Session, model_id: str, name: str) -> ModelVersionInfo:
    name = " ".join(name.split())
    if not name:
        raise ValueError("a model's name cannot be empty")
    m = _get(session, model_id)
    m.name = name
    session.flush()
    return _info(m)


def teaching_stats(session: Session) -> dict[str, Any]:
    """What there is to teach: the user's captions, imported ones, and how many were written
    since the last teaching that finished (``last_taught_at``; None if never)."""
    counts = dict(
        session.execute(
            select(Photo.caption_source, func.count())
            .where(Photo.status == STATUS_OK, Photo.caption_source.in_((SOURCE_USER, SOURCE_IMPORTED)))
            .group_by(Photo.caption_source)
        ).all()
    )
    last = session.scalar(select(func.max(TrainingRun.started_at)).where(TrainingRun.status == "done"))
    since = counts.get(SOURCE_USER, 0)
    if last is not None:
        since = (
            session.scalar(
                select(func.count())
                .select_from(Photo)
                .where(Photo.status == STATUS_OK, Photo.caption_source == SOURCE_USER, Photo.caption_at > last)
            )
            or 0
        )
    return {
        "user": counts.get(SOURCE_USER, 0),
        "imported": counts.get(SOURCE_IMPORTED, 0),
        "since_last": since,
        "last_taught_at": last,
    }


def _run_info(r: TrainingRun) -> TrainingRunInfo:
    return TrainingRunInfo(
        r.id,
        r.status,
        r.base_model_id,
        r.result_model_id,
        dict(r.params or {}),
        dict(r.metrics or {}),
        r.n_examples,
        r.error,
        r.started_at,
        r.finished_at,
    )


def start_run(
    session: Session,
    base_model_id: str | None = None,
    params: dict[str, Any] | None = None,
    n_examples: int | None = None,
) -> int:
    run = TrainingRun(
        base_model_id=base_model_id, params=dict(params or {}), metrics={}, n_examples=n_examples, status="running"
    )
    session.add(run)
    session.flush()
    return run.id


def finish_run(
    session: Session,
    run_id: int,
    status: str = "done",
    result_model_id: str | None = None,
    metrics: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    if status not in RUN_STATUSES[1:]:
        raise ValueError(f"status must be one of {RUN_STATUSES[1:]}")
    run = session.get(TrainingRun, run_id)
    if run is None:
        raise KeyError(run_id)
    run.status, run.result_model_id, run.error, run.finished_at = status, result_model_id, error, utcnow()
    run.metrics = dict(metrics or {})


def runs(session: Session) -> list[TrainingRunInfo]:
    return [_run_info(r) for r in session.scalars(select(TrainingRun).order_by(TrainingRun.id))]

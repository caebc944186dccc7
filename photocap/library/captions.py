"""Captions, their history, tags, and the rules that protect the user's words.

* ``record_caption`` writes an automatic (or imported) caption and *refuses* when the
  photo's current caption was written by the user: it returns False and changes
  nothing. A ``user`` source goes through ``set_user_caption``.
* Every caption is appended to ``captions`` (the history) and copied onto the photo row
  (which the search index follows). Writing the very same text from the same model
  again adds no history row.
* An automatic caption "needs review" (``reviewed`` False) until ``mark_reviewed`` or
  a user edit.
* ``needing_caption`` is the captioner's to-do list: photos that are there, readable,
  without a user or imported caption, whose automatic caption is missing, stale (file
  changed) or from another model. So activating a new model re-captions exactly the
  photos the user has not written themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from photocap.library.hierarchy import broader_text
from photocap.library.identity import holdout_bucket
from photocap.library.records import CaptionRecord, PhotoRef, UserCaption
from photocap.library.schema import (
    SOURCE_IMPORTED, SOURCE_USER, SOURCES, STATUS_ERROR, STATUS_OK, Caption, Photo, Tag, utcnow,
)


def _set_current(session: Session, photo: Photo, text: str, source: str, model_id: str | None) -> None:
    same = photo.caption == text and photo.caption_source == source and photo.caption_model == model_id
    now = utcnow()
    if not same:
        session.add(Caption(photo_id=photo.id, text=text, source=source, model_id=model_id, created_at=now))
    photo.caption, photo.caption_source, photo.caption_model, photo.caption_at = text, source, model_id, now
    photo.caption_stale = False


def record_caption(session: Session, photo_id: int, text: str, source: str, model_id: str | None = None,
                   tags: Sequence[tuple[str, float]] | None = None) -> bool:
    if source not in SOURCES:
        raise ValueError(f"unknown caption source {source!r} (expected one of {', '.join(SOURCES)})")
    if source == SOURCE_USER:
        set_user_caption(session, photo_id, text)
        return True
    photo = session.get(Photo, photo_id)
    if photo is None:
        raise KeyError(photo_id)
    if photo.caption_source == SOURCE_USER:
        return False
    _set_current(session, photo, " ".join(text.split()), source, model_id)
    photo.reviewed = source == SOURCE_IMPORTED  # a person wrote an imported caption
    if photo.status == STATUS_ERROR:
        photo.status, photo.error = STATUS_OK, None  # it was read after all
    if tags is not None:
        _set_tags(session, photo, tags)
    return True


def set_user_caption(session: Session, photo_id: int, text: str) -> None:
    photo = session.get(Photo, photo_id)
    if photo is None:
        raise KeyError(photo_id)
    _set_current(session, photo, " ".join(text.split()), SOURCE_USER, None)
    photo.reviewed = True


def mark_reviewed(session: Session, photo_id: int, reviewed: bool = True) -> None:
    photo = session.get(Photo, photo_id)
    if photo is None:
        raise KeyError(photo_id)
    photo.reviewed = reviewed


def _set_tags(session: Session, photo: Photo, tags: Sequence[tuple[str, float]]) -> None:
    session.execute(delete(Tag).where(Tag.photo_id == photo.id))
    best: dict[str, float] = {}
    for label, prob in tags:
        best[label] = max(float(prob), best.get(label, 0.0))
    session.add_all(Tag(photo_id=photo.id, label=label, prob=prob) for label, prob in best.items())
    photo.tags_text = " ".join(sorted(best, key=best.get, reverse=True))
    photo.tags_broader = broader_text(list(best.items()))


def history(session: Session, photo_id: int) -> list[CaptionRecord]:
    rows = session.scalars(select(Caption).where(Caption.photo_id == photo_id).order_by(Caption.id))
    return [CaptionRecord(c.text, c.source, c.model_id, c.created_at) for c in rows]


def tags(session: Session, photo_id: int) -> list[tuple[str, float]]:
    rows = session.execute(select(Tag.label, Tag.prob).where(Tag.photo_id == photo_id).order_by(Tag.prob.desc()))
    return [(label, prob) for label, prob in rows]


def _needs_caption(model_id: str) -> tuple:
    """Photos that are there and carry no user/imported caption, and none from ``model_id`` yet."""
    return (
        Photo.status == STATUS_OK,
        or_(Photo.caption_source.is_(None), Photo.caption_source.not_in((SOURCE_USER, SOURCE_IMPORTED))),
        or_(Photo.caption_source.is_(None), Photo.caption_model.is_(None), Photo.caption_model != model_id,
            Photo.caption_stale.is_(True)),
    )


def count_needing_caption(session: Session, model_id: str) -> int:
    return session.scalar(select(func.count()).select_from(Photo).where(*_needs_caption(model_id))) or 0


def needing_caption(session: Session, model_id: str, limit: int | None = None,
                    first_ids: Sequence[int] | None = None) -> list[PhotoRef]:
    needs = _needs_caption(model_id)
    first: list[PhotoRef] = []
    if first_ids:  # the photos on screen, in the caller's order, then the rest by id
        wanted = list(dict.fromkeys(first_ids))
        found = {}
        for i in range(0, len(wanted), 900):
            rows = session.execute(select(Photo.id, Photo.path).where(Photo.id.in_(wanted[i : i + 900]), *needs))
            found.update((r.id, r.path) for r in rows)
        first = [PhotoRef(pid, found[pid]) for pid in wanted if pid in found][:limit]
        if limit is not None and len(first) >= limit:
            return first
    stmt = select(Photo.id, Photo.path).where(*needs).order_by(Photo.id)
    if first:
        stmt = stmt.where(Photo.id.not_in([r.id for r in first]))
    if limit is not None:
        stmt = stmt.limit(limit - len(first))
    return first + [PhotoRef(r.id, r.path) for r in session.execute(stmt)]


def user_captions(session: Session, split: str | None = None, val_percent: int = 10) -> list[UserCaption]:
    """The user's own captions for photos that are there; ``split`` "train"/"val" or None for both."""
    if split not in (None, "train", "val"):
        raise ValueError("split must be None, 'train' or 'val'")
    rows = session.execute(
        select(Photo.id, Photo.path, Photo.caption, Photo.identity)
        .where(Photo.caption_source == SOURCE_USER, Photo.status == STATUS_OK)
        .order_by(Photo.id)
    )
    out = []
    for r in rows:
        side = "val" if holdout_bucket(r.identity) < val_percent else "train"
        if split is None or split == side:
            out.append(UserCaption(r.id, r.path, r.caption, side))
    return out

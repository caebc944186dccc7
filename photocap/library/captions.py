"""Captions, their history, tags, and the rules that protect the user's words.

* ``record_caption`` writes an automatic (or imported) caption and *refuses* when the
  photo's current caption was written by the user: it returns False and changes
  nothing. A ``user`` source goes through ``set_user_caption``.
* An automatic caption lands only on the version of the file it was made from: with
  ``file_version`` (the ``(size, mtime_ns)`` read before decoding) ``record_caption``
  compares it with the row inside the same write transaction and, when the file has
  changed since (the scanner or the watcher recorded a new version meanwhile, or has yet
  to), drops the caption and returns False: the photo stays on the to-do list.
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

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session

from photocap.library.hierarchy import broader_text
from photocap.library.identity import held_out
from photocap.library.records import CaptionRecord, PhotoRef, UserCaption
from photocap.library.schema import Caption, Photo, Tag, utcnow
from photocap.library.values import SOURCE_IMPORTED, SOURCE_USER, SOURCES, STATUS_ERROR, STATUS_OK, TAG_IMPORTED


def _set_current(
    session: Session, photo: Photo, text: str, source: str, model_id: str | None, confidence: float | None = None
) -> None:
    same = photo.caption == text and photo.caption_source == source and photo.caption_model == model_id
    now = utcnow()
    if not same:
        session.add(
            Caption(
                photo_id=photo.id, text=text, source=source, model_id=model_id, created_at=now, confidence=confidence
            )
        )
    photo.caption, photo.caption_source, photo.caption_model, photo.caption_at = text, source, model_id, now
    photo.caption_stale = False


def record_caption(
    session: Session,
    photo_id: int,
    text: str,
    source: str,
    model_id: str | None = None,
    tags: Sequence[tuple[str, float]] | None = None,
    file_version: tuple[int, int] | None = None,
    confidence: float | None = None,
) -> bool:
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
    if file_version is not None and (photo.size, photo.mtime_ns) != tuple(file_version):
        return False  # made from another version of the file than the one recorded: caption it again
    _set_current(session, photo, " ".join(text.split()), source, model_id, confidence)
    photo.reviewed = source == SOURCE_IMPORTED  # a person wrote an imported caption
    if photo.status == STATUS_ERROR:
        photo.status, photo.error = STATUS_OK, None  # it was read after all
    if tags is not None:
        _set_tags(session, photo, tags)
    return True


def set_user_caption(session: Session, photo_id: int, text: str) -> str:
    """Returns the photo's path."""
    photo = session.get(Photo, photo_id)
    if photo is None:
        raise KeyError(photo_id)
    _set_current(session, photo, " ".join(text.split()), SOURCE_USER, None)
    photo.reviewed = True
    return photo.path


def mark_reviewed(session: Session, photo_id: int, reviewed: bool = True) -> None:
    photo = session.get(Photo, photo_id)
    if photo is None:
        raise KeyError(photo_id)
    photo.reviewed = reviewed


def _set_tags(session: Session, photo: Photo, tags: Sequence[tuple[str, float]]) -> None:
    """The tagger's labels for ``photo``; keywords imported from its metadata stay."""
    session.execute(delete(Tag).where(Tag.photo_id == photo.id, Tag.source != TAG_IMPORTED))
    imported = set(session.scalars(select(Tag.label).where(Tag.photo_id == photo.id)))
    best: dict[str, float] = {}
    for label, prob in tags:
        if label not in imported:
            best[label] = max(float(prob), best.get(label, 0.0))
    session.add_all(Tag(photo_id=photo.id, label=label, prob=prob) for label, prob in best.items())
    session.flush()
    _refresh_tags_text(session, photo)
    photo.tags_broader = broader_text(list(best.items()))


def set_imported_keywords(session: Session, photo: Photo, keywords: Sequence[str]) -> None:
    """Keywords from the photo's metadata (XMP dc:subject, IPTC, digiKam) as tags with source ``imported``."""
    session.execute(
        delete(Tag).where(Tag.photo_id == photo.id, or_(Tag.source == TAG_IMPORTED, Tag.label.in_(list(keywords))))
    )
    session.add_all(Tag(photo_id=photo.id, label=k, prob=1.0, source=TAG_IMPORTED) for k in dict.fromkeys(keywords))
    session.flush()
    _refresh_tags_text(session, photo)


def _refresh_tags_text(session: Session, photo: Photo) -> None:
    rows = session.execute(
        select(Tag.label)
        .where(Tag.photo_id == photo.id)
        .order_by((Tag.source == TAG_IMPORTED).desc(), Tag.prob.desc(), Tag.label)
    )
    photo.tags_text = " ".join(r.label for r in rows)


def record_imported(
    session: Session, photo: Photo, description: str | None, origin: str | None, keywords: Sequence[str]
) -> bool:
    """What another application wrote (see :mod:`photocap.metadata`): the description becomes an
    ``imported`` caption unless the user wrote one here; returns True when the caption changed."""
    if keywords or session.scalar(
        select(func.count()).select_from(Tag).where(Tag.photo_id == photo.id, Tag.source == TAG_IMPORTED)
    ):
        set_imported_keywords(session, photo, keywords)
    if not description or photo.caption_source == SOURCE_USER:
        return False
    text = " ".join(description.split())
    if photo.caption_source == SOURCE_IMPORTED and photo.caption == text:
        return False
    _set_current(session, photo, text, SOURCE_IMPORTED, origin)
    photo.reviewed = True  # a person wrote it
    return True


def history(session: Session, photo_id: int) -> list[CaptionRecord]:
    rows = session.scalars(select(Caption).where(Caption.photo_id == photo_id).order_by(Caption.id))
    return [CaptionRecord(c.text, c.source, c.model_id, c.created_at, c.confidence) for c in rows]


def tags(session: Session, photo_id: int) -> list[tuple[str, float]]:
    rows = session.execute(select(Tag.label, Tag.prob).where(Tag.photo_id == photo_id).order_by(Tag.prob.desc()))
    return [(label, prob) for label, prob in rows]


def _needs_caption(model_id: str) -> tuple[ColumnElement[bool], ...]:
    """Photos that are there and carry no user/imported caption, and none from ``model_id`` yet."""
    return (
        Photo.status == STATUS_OK,
        or_(Photo.caption_source.is_(None), Photo.caption_source.not_in((SOURCE_USER, SOURCE_IMPORTED))),
        or_(
            Photo.caption_source.is_(None),
            Photo.caption_model.is_(None),
            Photo.caption_model != model_id,
            Photo.caption_stale.is_(True),
        ),
    )


def count_needing_caption(session: Session, model_id: str) -> int:
    return session.scalar(select(func.count()).select_from(Photo).where(*_needs_caption(model_id))) or 0


def needing_caption(
    session: Session, model_id: str, limit: int | None = None, first_ids: Sequence[int] | None = None
) -> list[PhotoRef]:
    needs = _needs_caption(model_id)
    first: list[PhotoRef] = []
    if first_ids:  # the photos on screen, in the caller's order, then the rest by id
        wanted = list(dict.fromkeys(first_ids))
        found: dict[int, str] = {}
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


def user_captions(session: Session, split: str | None = None, include_imported: bool = False) -> list[UserCaption]:
    """The user's own captions for photos that are there; ``split`` "train"/"val" or None for both.
    ``include_imported``: captions with source "imported" (a person wrote them elsewhere) too."""
    if split not in (None, "train", "val"):
        raise ValueError("split must be None, 'train' or 'val'")
    sources = (SOURCE_USER, SOURCE_IMPORTED) if include_imported else (SOURCE_USER,)
    rows = session.execute(
        select(Photo.id, Photo.path, Photo.caption, Photo.identity)
        .where(Photo.caption_source.in_(sources), Photo.status == STATUS_OK)
        .order_by(Photo.id)
    )
    out = []
    for r in rows:
        side = "val" if held_out(r.identity) else "train"
        if split is None or split == side:
            out.append(UserCaption(r.id, r.path, r.caption, side))
    return out

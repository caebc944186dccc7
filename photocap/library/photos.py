"""Photo rows from files' facts: add, update, move, restore or mark missing.

The store's side of ingest: :mod:`photocap.ingest` (the scanner, a whole tree; the watcher,
a batch of changes) reads files into :class:`FileFacts` outside any transaction
(``photocap.ingest.files.examine``) and writes them with these functions inside
``Library.writing()``, so both follow the same rules:

* ``upsert`` decides, inside one: same path → update (a changed file gets
  ``caption_stale`` unless the user wrote its caption); a new path whose identity
  matches a row whose file is gone → a move (the row, its captions and history follow
  the file); otherwise → a new row. A file that cannot be read as an image is still
  recorded, with ``status="error"`` and the reason, so it is not retried at every scan.
* Nothing here deletes a photo row: a vanished file is ``missing``.

Paths are stored absolute and normalised (``os.path.abspath``), as their exact bytes
(:mod:`.filenames`); "everything under a folder" is a range on the unique path index
(see :func:`under`). The searchable ``name`` and ``folder_name`` are the readable forms.

A move reported by a watcher is believed only when the file at the new path has the
row's content identity: a polling observer (and inotify after a delete and a create)
can pair an unrelated new file with a deleted one because the file system reused its
inode number; such a "move" is a missing photo and a new one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import QueryableAttribute, Session

from photocap.filenames import readable
from photocap.library import captions
from photocap.library.schema import Folder, Photo, utcnow
from photocap.library.values import (
    FOLDER_MISSING,
    SOURCE_IMPORTED,
    SOURCE_USER,
    STATUS_ERROR,
    STATUS_MISSING,
    STATUS_OK,
)

if TYPE_CHECKING:
    from photocap import imaging, metadata  # imported where files are read: a search never pays for Pillow


def norm(path: str | os.PathLike[str]) -> str:
    return os.path.abspath(os.fspath(path))


def is_inside(path: str, root: str) -> bool:
    """``path`` is folder ``root`` or anything below it (normalised paths)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def root_of(session: Session, path: str) -> Folder | None:
    """The watched folder that is ``path`` or holds it (watched folders never nest)."""
    ancestors, p = [path], path
    while (parent := os.path.dirname(p)) != p:
        ancestors.append(parent)
        p = parent
    return session.scalars(select(Folder).where(Folder.path.in_(ancestors)).order_by(Folder.path.desc())).first()


def relabel(session: Session, root: str) -> None:
    """Searchable folder names below ``root`` after watched folders were merged into it."""
    for row in session.scalars(select(Photo).where(under(Photo.path, root))):
        label = folder_label(row.path, root)
        if row.folder_name != label:
            row.folder_name = label


def under(column: QueryableAttribute[str], prefix: str) -> ColumnElement[bool]:
    """``column`` is a path strictly below folder ``prefix``: an index range, no LIKE escaping."""
    prefix = prefix.rstrip(os.sep) + os.sep
    upper = prefix[:-1] + chr(ord(os.sep) + 1)
    return and_(column >= prefix, column < upper)


def folder_label(path: str, root: str | None) -> str:
    """The searchable folder name: the watched root's name and the folders below it."""
    parent = os.path.dirname(path)
    if root:
        base = os.path.dirname(root.rstrip(os.sep))
        rel = os.path.relpath(parent, base) if parent.startswith(base) else parent
    else:
        rel = os.path.basename(parent)
    return " / ".join(readable(p) for p in Path(rel).parts if p not in (os.sep, ".."))


@dataclass(frozen=True)
class FileFacts:
    path: str
    size: int
    mtime_ns: int
    identity: str | None  # None: the file could not even be read (``error`` says why)
    meta: imaging.PhotoMeta | None
    error: str | None
    gone: bool = False  # the file vanished before it could be read (not a problem: it is not there)
    described: metadata.Described | None = None  # descriptions/keywords other apps left (photocap.metadata)
    sidecar_mtime_ns: int = 0


def _apply_facts(row: Photo, facts: FileFacts) -> None:
    row.size, row.mtime_ns, row.identity = facts.size, facts.mtime_ns, facts.identity or ""
    meta = facts.meta
    row.width = meta.width if meta else None
    row.height = meta.height if meta else None
    row.format = meta.format if meta else None
    row.taken_at = meta.taken_at if meta else None
    row.camera = meta.camera if meta else None
    row.status = STATUS_OK if facts.error is None else STATUS_ERROR
    row.error = facts.error
    row.sidecar_mtime_ns = facts.sidecar_mtime_ns


def _set_location(row: Photo, path: str, folder_id: int | None, root: str | None) -> None:
    row.path, row.name, row.folder_name = path, readable(os.path.basename(path)), folder_label(path, root)
    row.folder_id = folder_id


def upsert(session: Session, facts: FileFacts, folder_id: int | None, root: str | None) -> str:
    """Record ``facts``; returns "added", "updated", "moved", "restored" or "unchanged"."""
    row = session.scalars(select(Photo).where(Photo.path == facts.path)).one_or_none()
    if row is not None:
        was_missing = row.status == STATUS_MISSING
        if (
            row.size == facts.size
            and row.mtime_ns == facts.mtime_ns
            and not was_missing
            and row.sidecar_mtime_ns == facts.sidecar_mtime_ns
        ):
            return "unchanged"
        if facts.identity != row.identity and row.caption_source not in (None, SOURCE_USER, SOURCE_IMPORTED):
            row.caption_stale = True
        _apply_facts(row, facts)
        if folder_id is not None:
            row.folder_id = folder_id
        _record_imported(session, row, facts)
        return "restored" if was_missing else "updated"
    row = _moved_from(session, facts.identity)
    outcome = "moved"
    if row is None:
        row = Photo(tags_text="", caption_stale=False, reviewed=False)
        session.add(row)
        outcome = "added"
    _set_location(row, facts.path, folder_id, root)
    _apply_facts(row, facts)
    _record_imported(session, row, facts)
    return outcome


def _record_imported(session: Session, row: Photo, facts: FileFacts) -> None:
    d = facts.described
    if d is None or (d.description is None and not d.keywords and not row.tags_text):
        return
    session.flush()  # a new row needs its id
    captions.record_imported(session, row, d.description, d.origin, d.keywords)


def _moved_from(session: Session, identity: str | None) -> Photo | None:
    """A row with this identity whose file is gone (missing, or no longer on disk).

    Rows of an unplugged folder (folder status "missing") are never taken: a copy of a
    photo elsewhere must not steal the row the drive's own file comes back to.
    """
    if not identity:
        return None
    rows = session.scalars(
        select(Photo)
        .outerjoin(Folder, Photo.folder_id == Folder.id)
        .where(Photo.identity == identity, or_(Folder.id.is_(None), Folder.status != FOLDER_MISSING))
        .order_by(Photo.id)
    ).all()
    for row in rows:  # prefer rows already known to be missing, then any whose file vanished
        if row.status == STATUS_MISSING:
            return row
    return next((r for r in rows if not os.path.exists(r.path)), None)


def mark_missing(
    session: Session, *, ids: list[int] | None = None, prefix: str | None = None, path: str | None = None
) -> int:
    """Mark photos missing (by ids, everything under a folder, or one path); returns how many."""
    stmt = update(Photo).where(Photo.status != STATUS_MISSING)
    if ids is not None:
        stmt = stmt.where(Photo.id.in_(ids))
    elif prefix is not None:
        stmt = stmt.where(under(Photo.path, prefix))
    else:
        stmt = stmt.where(Photo.path == path)
    done = session.execute(
        stmt.values(status=STATUS_MISSING, updated_at=utcnow()), execution_options={"synchronize_session": False}
    )
    return cast("CursorResult[Any]", done).rowcount  # an UPDATE's result is a cursor's


def move_path(
    session: Session, src: str, dest: str, folder_id: int | None, root: str | None, identity: str | None
) -> bool:
    """A file moved from ``src`` to ``dest`` (whose content identity is ``identity``): the row
    and its captions follow only if the row's identity is the same. False if it was not moved."""
    row = session.scalars(select(Photo).where(Photo.path == src)).one_or_none()
    if row is None or identity is None or row.identity != identity:
        return False
    clash = session.scalars(select(Photo).where(Photo.path == dest)).one_or_none()
    if clash is not None:  # dest overwritten: the old row at dest keeps its captions, marked missing
        clash.path = f"{dest}#replaced-{clash.id}"
        clash.status = STATUS_MISSING
        session.flush()
    _set_location(row, dest, folder_id, root)
    if row.status == STATUS_ERROR:  # maybe it failed because it was being moved: the next pass tries again
        row.status, row.error = STATUS_OK, None
    return True


def tree_identities(session: Session, src: str, dest: str) -> dict[int, tuple[str, str]]:
    """For a folder moved from ``src`` to ``dest``: each known row below ``src`` (by id) with
    its new path and its identity, to compare with the files' (read outside the transaction)."""
    rows = session.execute(select(Photo.id, Photo.path, Photo.identity).where(under(Photo.path, src)))
    return {r.id: (dest + r.path[len(src.rstrip(os.sep)) :], r.identity) for r in rows}


def move_tree(session: Session, moves: dict[int, str], folder_id: int | None, root: str | None) -> int:
    """A folder moved: the rows in ``moves`` (id -> new path, files whose identity was checked)
    follow their files; returns how many."""
    if not moves:
        return 0
    targets = list(moves.values())
    for i in range(0, len(targets), 500):  # rows already at a target path (missing ones): out of the way
        for clash in session.scalars(
            select(Photo).where(Photo.path.in_(targets[i : i + 500]), Photo.id.not_in(list(moves)))
        ):
            clash.path, clash.status = f"{clash.path}#replaced-{clash.id}", STATUS_MISSING
    session.flush()
    ids = list(moves)
    rows = [
        row
        for i in range(0, len(ids), 500)
        for row in session.scalars(select(Photo).where(Photo.id.in_(ids[i : i + 500])))
    ]
    for row in rows:
        _set_location(row, moves[row.id], folder_id, root)
    return len(rows)

"""Captions in and out of the library: CSV, JSON and XMP sidecars.

``export_rows`` lists the current captions (by default the user's own and imported ones);
``write_csv`` / ``write_json`` save them; ``write_sidecars`` puts each into the photo's
XMP sidecar. ``import_rows`` reads such a file back into this or another library,
matching each row first by path, then by content identity (so photos that were moved
or copied to another disk still match). Rules on import, the same as everywhere:

* a row written by the user (``user``) becomes the photo's user caption unless the photo
  already has a *different* user caption here, which is kept (counted as a conflict);
* an ``imported`` row becomes an imported caption (never over a user caption);
* automatic rows (``model``, ``tags``) are not imported: this library describes photos itself.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from photocap.filenames import json_path, readable
from photocap.library import captions
from photocap.library.schema import Photo
from photocap.library.values import EXPORT_FORMATS as FORMATS  # noqa: F401 (re-exported)
from photocap.library.values import SOURCE_IMPORTED, SOURCE_USER, SOURCES, STATUS_MISSING

FIELDS = ("path", "path_base64", "identity", "caption", "source", "origin", "captioned_at")


@dataclass
class ImportReport:
    by_path: int = 0
    by_identity: int = 0
    unchanged: int = 0
    unmatched: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # a different user caption is already there: kept
    skipped_automatic: int = 0
    bad_rows: list[str] = field(default_factory=list)

    @property
    def written(self) -> int:
        return self.by_path + self.by_identity

    def summary(self) -> str:
        return (
            f"{self.written} caption(s) imported ({self.by_path} by path, {self.by_identity} by content), "
            f"{self.unchanged} already there, {len(self.conflicts)} kept (you wrote a different caption here), "
            f"{len(self.unmatched)} not in this library, {self.skipped_automatic} automatic skipped"
        )


def export_rows(session: Session, sources: Iterable[str] = (SOURCE_USER, SOURCE_IMPORTED)) -> Iterator[dict[str, Any]]:
    wanted = tuple(sources)
    stmt = (
        select(Photo.path, Photo.identity, Photo.caption, Photo.caption_source, Photo.caption_model, Photo.caption_at)
        .where(Photo.caption_source.in_(wanted), Photo.caption.is_not(None))
        .order_by(Photo.path)
    )
    for r in session.execute(stmt):
        yield {
            "path": r.path,
            "identity": r.identity,
            "caption": r.caption,
            "source": r.caption_source,
            "origin": r.caption_model if r.caption_source == SOURCE_IMPORTED else None,
            "captioned_at": r.caption_at.isoformat(timespec="seconds") if r.caption_at else None,
        }


def write_csv(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    w = csv.DictWriter(out, fieldnames=FIELDS, extrasaction="ignore")
    w.writeheader()
    n = 0
    for row in rows:
        w.writerow({**row, **json_path(row["path"])})
        n += 1
    return n


def write_json(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    items = [{**row, **json_path(row["path"])} for row in rows]
    json.dump({"photocap_captions": 1, "captions": items}, out, ensure_ascii=False, indent=1)
    out.write("\n")
    return len(items)


def write_sidecars(rows: Iterable[dict[str, Any]]) -> tuple[int, list[str]]:
    """Each caption into its photo's XMP sidecar; returns (written, problems)."""
    from photocap.metadata import MetadataWriteError, write_sidecar

    n, problems = 0, []
    for row in rows:
        try:
            write_sidecar(row["path"], row["caption"])
            n += 1
        except (MetadataWriteError, OSError) as exc:
            problems.append(f"{readable(row['path'])}: {exc}")
    return n, problems


def write_file(rows: list[dict[str, Any]], path: str | os.PathLike[str], fmt: str) -> int:
    """``rows`` to ``path`` as ``csv`` or ``json``; returns how many. OSError on failure."""
    write = write_csv if fmt == "csv" else write_json
    with open(path, "w", encoding="utf-8", newline="") as f:
        return write(rows, f)


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Rows from a CSV or JSON file written by :func:`write_csv` / :func:`write_json`; ValueError says why not."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            text = f.read()
    except UnicodeDecodeError as exc:
        raise ValueError(f"{os.fspath(path)} is not UTF-8 text") from exc
    if text.lstrip().startswith("{") or text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"{os.fspath(path)} is not valid JSON ({exc})") from exc
        items = data.get("captions") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ValueError(f"{os.fspath(path)} has no list of captions")
        return [r for r in items if isinstance(r, dict)]
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "caption" not in reader.fieldnames or "path" not in reader.fieldnames:
        raise ValueError(f"{os.fspath(path)} is not a photocap caption export (needs 'path' and 'caption' columns)")
    return list(reader)


def _row_path(row: dict[str, Any]) -> str:
    """The exact path of an exported row: its bytes when the name is not UTF-8, else the text."""
    exact = row.get("path_base64")
    if exact:
        try:
            return os.fsdecode(base64.b64decode(str(exact), validate=True))
        except ValueError:
            pass
    return str(row.get("path") or "")


def import_rows(session: Session, rows: Iterable[dict[str, Any]]) -> ImportReport:
    report = ImportReport()
    for i, row in enumerate(rows, 1):
        text = " ".join(str(row.get("caption") or "").split())
        source = str(row.get("source") or SOURCE_USER)
        path = _row_path(row)
        if not text or source not in SOURCES:
            report.bad_rows.append(f"row {i}: " + ("no caption" if not text else f"unknown source {source!r}"))
            continue
        if source not in (SOURCE_USER, SOURCE_IMPORTED):
            report.skipped_automatic += 1
            continue
        photo = session.scalars(select(Photo).where(Photo.path == path)).one_or_none() if path else None
        how = "path"
        if photo is None and row.get("identity"):
            candidates = session.scalars(
                select(Photo)
                .where(Photo.identity == str(row["identity"]))
                .order_by((Photo.status == STATUS_MISSING).asc(), Photo.id)
            ).all()
            photo, how = (candidates[0] if candidates else None), "identity"
        if photo is None:
            report.unmatched.append(path or f"row {i}")
            continue
        if photo.caption == text and photo.caption_source in (SOURCE_USER, source):
            report.unchanged += 1
            continue
        if photo.caption_source == SOURCE_USER:
            report.conflicts.append(photo.path)
            continue
        if source == SOURCE_USER:
            captions.set_user_caption(session, photo.id, text)
        else:
            origin = row.get("origin") or "photocap export"
            captions.record_caption(session, photo.id, text, SOURCE_IMPORTED, str(origin))
        if how == "path":
            report.by_path += 1
        else:
            report.by_identity += 1
    return report

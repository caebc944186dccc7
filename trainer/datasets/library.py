"""The user's own captions from the photo library, as a dataset for fine-tuning.

The only library-specific part is :func:`read_user_captions`, which asks the library facade
(``photocap.library.db.open_library(path).user_captions()``) for (photo id, path, text,
split); the library's split is a stable hash of each photo's content identity. Everything else works on plain :class:`UserCaption` rows, so it is tested without
a database. The held-out split is by photo, so two captions of one photo never straddle
train and validation; when the library gives no split, a stable hash of the photo id does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from trainer.datasets.base import CaptionDataset, DatasetError, ImageRecord, stable_split

VAL_FRACTION = 0.15


@dataclass
class UserCaption:
    photo_id: str
    path: str
    text: str
    split: str | None = None  # "train" / "val", or None to derive it from photo_id


def _field(row, *names):
    for n in names:
        if isinstance(row, dict) and n in row:
            return row[n]
        if hasattr(row, n):
            return getattr(row, n)
    return None


def read_user_captions(library_path: str | os.PathLike) -> list[UserCaption]:
    """The captions the user wrote, through the library's facade (no SQL here)."""
    try:
        from photocap.library.db import open_library
    except ImportError as exc:
        raise DatasetError(
            "this photocap has no photo library module yet (photocap.library.db.open_library), "
            f"so fine-tuning on the library is not available: {exc}") from exc
    if not Path(library_path).is_file():
        raise DatasetError(f"no photo library at {library_path}")
    lib = open_library(library_path)
    try:
        rows = lib.user_captions()
    finally:
        close = getattr(lib, "close", None)
        if callable(close):
            close()
    out = []
    for row in rows:
        if isinstance(row, tuple) and not hasattr(row, "_fields"):
            photo_id, path, text, *rest = row
            split = rest[0] if rest else None
        else:
            photo_id = _field(row, "photo_id", "id")
            path = _field(row, "path", "photo_path")
            text = _field(row, "text", "caption")
            split = _field(row, "split")
            if split is None and _field(row, "held_out", "is_val") is not None:
                split = "val" if _field(row, "held_out", "is_val") else "train"
        out.append(UserCaption(str(photo_id), str(path), str(text), split))
    return out


def user_caption_dataset(rows: list[UserCaption], val_fraction: float = VAL_FRACTION,
                         name: str = "library") -> CaptionDataset:
    """Group captions by photo; empty captions and missing files are skipped."""
    by_photo: dict[str, ImageRecord] = {}
    for r in rows:
        text = r.text.strip()
        if not text:
            continue
        split = r.split if r.split in ("train", "val", "test") else stable_split(r.photo_id, val_fraction,
                                                                                  salt="library")
        rec = by_photo.get(r.photo_id)
        if rec is None:
            by_photo[r.photo_id] = ImageRecord(str(Path(r.path).resolve()), [text], split, r.photo_id)
        elif text not in rec.captions:
            rec.captions.append(text)
    images = [rec for rec in by_photo.values() if Path(rec.path).is_file()]
    missing = len(by_photo) - len(images)
    ds = CaptionDataset(name, images, {"format": "library", "missing_files": missing})
    if not ds.split("val") and len(ds.split("train")) > 1:
        # tiny libraries: hold out at least one photo so validation means something
        ds.split("train")[-1].split = "val"
    return ds


def load_library(library_path: str | os.PathLike, val_fraction: float = VAL_FRACTION) -> CaptionDataset:
    return user_caption_dataset(read_user_captions(library_path), val_fraction)

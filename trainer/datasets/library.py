"""The user's own captions from the photo library, as a dataset for fine-tuning and teaching.

:func:`read_user_captions` asks the library (``photocap.library.db.open_library(path)
.user_captions()``) for (photo id, path, text, split) rows; everything else works on plain
:class:`UserCaption` rows.

The held-out rule, the one rule for teaching and ``photocap-train finetune-library`` (also
in the README): a photo is held out when its content identity falls in the library's stable
``HOLDOUT_PERCENT`` (10 %, see :func:`photocap.library.identity.held_out`), so a photo stays on
its side after a move or a re-scan; at least ``MIN_HELD_OUT`` photos are held out, topped up in
a stable order; with fewer than ``HOLD_OUT_FROM`` captioned photos none is (each one is needed
to learn from). The split is by photo: two captions of one photo never straddle train and
validation. Rows that come without a split are placed by the same hash of their photo id.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from photocap.library.identity import held_out
from trainer.datasets.base import CaptionDataset, DatasetError, ImageRecord

MIN_HELD_OUT = 3
HOLD_OUT_FROM = 20  # captioned photos needed before any is held out


@dataclass
class UserCaption:
    photo_id: str
    path: str
    text: str
    split: str | None = None  # "train" / "val", or None to place it by a hash of photo_id


def read_user_captions(library_path: str | os.PathLike) -> list[UserCaption]:
    """The captions the user wrote, through the library's facade (no SQL here)."""
    from photocap.library import open_library

    if not Path(library_path).is_file():
        raise DatasetError(f"no photo library at {library_path}")
    with open_library(library_path) as lib:
        rows = lib.user_captions()
    return [UserCaption(str(r.photo_id), r.path, r.text, r.split) for r in rows]


def _order_key(photo_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"teach:{photo_id}".encode(), digest_size=8).digest(), "big")


def held_out_rule(rows: list[UserCaption]) -> list[UserCaption]:
    """``rows`` with every split set by the held-out rule (see the module doc)."""
    photos = sorted({r.photo_id for r in rows}, key=_order_key)
    if len(photos) < HOLD_OUT_FROM:
        return [UserCaption(r.photo_id, r.path, r.text, "train") for r in rows]
    val = {r.photo_id for r in rows if (r.split == "val" if r.split is not None else held_out(r.photo_id))}
    for pid in photos:
        if len(val) >= MIN_HELD_OUT:
            break
        val.add(pid)
    return [UserCaption(r.photo_id, r.path, r.text, "val" if r.photo_id in val else "train") for r in rows]


def user_caption_dataset(rows: list[UserCaption], name: str = "library") -> CaptionDataset:
    """Group captions by photo, split by the held-out rule; empty captions and missing files are skipped."""
    by_photo: dict[str, ImageRecord] = {}
    for r in held_out_rule([r for r in rows if r.text.strip()]):
        text = r.text.strip()
        rec = by_photo.get(r.photo_id)
        if rec is None:
            split = r.split or "train"  # (held_out_rule sets every split)
            by_photo[r.photo_id] = ImageRecord(str(Path(r.path).resolve()), [text], split, r.photo_id)
        elif text not in rec.captions:
            rec.captions.append(text)
    images = [rec for rec in by_photo.values() if Path(rec.path).is_file()]
    missing = len(by_photo) - len(images)
    return CaptionDataset(name, images, {"format": "library", "missing_files": missing})


def load_library(library_path: str | os.PathLike) -> CaptionDataset:
    return user_caption_dataset(read_user_captions(library_path))

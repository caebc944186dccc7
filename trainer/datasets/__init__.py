"""Caption datasets in their real formats, plus the user's library. ``load_dataset`` guesses the format."""

from __future__ import annotations

import json
from pathlib import Path

from trainer.datasets.base import SPLITS, CaptionDataset, DatasetError, ImageRecord, stable_split
from trainer.datasets.coco import load_coco
from trainer.datasets.flickr import load_flickr8k, load_flickr30k
from trainer.datasets.karpathy import load_karpathy
from trainer.datasets.library import UserCaption, load_library, user_caption_dataset

FORMATS = ("auto", "karpathy", "coco", "flickr8k", "flickr30k")


def detect_format(path: str | Path) -> str:
    p = Path(path)
    name = p.name.lower()
    if name.endswith(".json"):
        try:
            with open(p, encoding="utf-8") as fh:
                head = fh.read(1 << 16)
        except OSError as exc:
            raise DatasetError(f"cannot read {p}: {exc}") from exc
        if '"sentences"' in head or name.startswith("dataset_"):
            return "karpathy"
        if '"annotations"' in head or name.startswith("captions_"):
            return "coco"
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise DatasetError(f"{p} is not valid JSON: {exc}") from exc
        return "coco" if "annotations" in data else "karpathy"
    if "8k" in name:
        return "flickr8k"
    if name.endswith((".token", ".csv", ".txt")):
        return "flickr30k"
    raise DatasetError(f"cannot tell the format of {p}; pass --format ({', '.join(FORMATS[1:])})")


def load_dataset(annotations: str | Path, images: str | Path | None = None, fmt: str = "auto") -> CaptionDataset:
    """One entry point for the CLI: annotations file (+ image folder) -> :class:`CaptionDataset`."""
    fmt = detect_format(annotations) if fmt == "auto" else fmt
    if fmt == "karpathy":
        return load_karpathy(annotations, images)
    if fmt == "coco":
        return load_coco(annotations, images)
    if fmt == "flickr8k":
        return load_flickr8k(annotations, images)
    if fmt == "flickr30k":
        return load_flickr30k(annotations, images)
    raise DatasetError(f"unknown dataset format {fmt!r}; choose one of {', '.join(FORMATS)}")


__all__ = [
    "FORMATS",
    "SPLITS",
    "CaptionDataset",
    "DatasetError",
    "ImageRecord",
    "UserCaption",
    "detect_format",
    "load_coco",
    "load_dataset",
    "load_flickr8k",
    "load_flickr30k",
    "load_karpathy",
    "load_library",
    "stable_split",
    "user_caption_dataset",
]

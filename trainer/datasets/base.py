"""What every loader returns: images with their own captions and a split.

Each caption stays its own training pair (never joined with the image's others).
Splits are ``train``, ``val`` and ``test`` (Karpathy's ``restval`` counts as ``train``).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

SPLITS = ("train", "val", "test")


class DatasetError(ValueError):
    """An annotation file that cannot be read; the message says which and why."""


@dataclass
class ImageRecord:
    path: str  # absolute path of the image file
    captions: list[str]
    split: str
    image_id: str = ""

    def __post_init__(self):
        if self.split not in SPLITS:
            raise DatasetError(f"{self.path}: unknown split {self.split!r}")


@dataclass
class CaptionDataset:
    name: str
    images: list[ImageRecord]
    meta: dict = field(default_factory=dict)

    def split(self, name: str) -> list[ImageRecord]:
        return [r for r in self.images if r.split == name]

    def counts(self) -> dict[str, int]:
        c = Counter(r.split for r in self.images)
        return {s: c.get(s, 0) for s in SPLITS}

    def num_pairs(self, split: str | None = None) -> int:
        return sum(len(r.captions) for r in self.images if split is None or r.split == split)

    def summary(self) -> str:
        c = self.counts()
        return f"{self.name}: " + ", ".join(f"{s} {c[s]} images / {self.num_pairs(s)} captions" for s in SPLITS)


def stable_split(key: str, val_fraction: float, test_fraction: float = 0.0, salt: str = "photocap") -> str:
    """The same split for the same key on every run and machine (hash, not random)."""
    h = int.from_bytes(hashlib.sha256(f"{salt}:{key}".encode()).digest()[:8], "big") / 2**64
    if h < test_fraction:
        return "test"
    if h < test_fraction + val_fraction:
        return "val"
    return "train"


def resolve(root: str | Path | None, *parts: str) -> str:
    base = Path(root) if root is not None else Path()
    return str((base.joinpath(*[p for p in parts if p])).resolve())

"""Flickr8k and Flickr30k in their original distributions.

* Flickr8k: ``Flickr8k.token.txt`` (``1000268201_693b08cb0e.jpg#0<TAB>A child ...``) with the
  split lists ``Flickr_8k.trainImages.txt`` / ``devImages`` / ``testImages`` (one file name a
  line) from the same folder; images in ``Flicker8k_Dataset/`` (sic) unless given.
* Flickr30k: ``results_20130124.token`` (same line format), or a CSV: the classic
  ``results.csv`` (``image_name| comment_number| comment``, pipe-separated) or
  ``flickr_annotations_30k.csv`` (``raw,sentids,split,filename,img_id``; ``raw`` a JSON list).
  Without split information the split is a stable hash of the file name (about 1,000 val
  and 1,000 test images, like Karpathy's).
"""

from __future__ import annotations

import csv
import json
from collections import OrderedDict
from pathlib import Path

from trainer.datasets.base import CaptionDataset, DatasetError, ImageRecord, resolve, stable_split

FLICKR8K_SPLIT_FILES = {
    "train": "Flickr_8k.trainImages.txt",
    "val": "Flickr_8k.devImages.txt",
    "test": "Flickr_8k.testImages.txt",
}


def read_token_file(path: str | Path) -> OrderedDict[str, list[str]]:
    """``name.jpg#n<TAB>caption`` lines -> file name -> captions (in file order)."""
    out: OrderedDict[str, list[str]] = OrderedDict()
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        key, sep, caption = line.partition("\t")
        if not sep or "#" not in key:
            raise DatasetError(f"{path}:{n}: expected 'image.jpg#N<TAB>caption', got {line[:80]!r}")
        out.setdefault(key.rsplit("#", 1)[0].strip(), []).append(caption.strip())
    return out


def _read_list(path: Path) -> set[str]:
    return {ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()}


def load_flickr8k(
    token_file: str | Path, image_dir: str | Path | None = None, split_dir: str | Path | None = None
) -> CaptionDataset:
    token_file = Path(token_file)
    split_dir = Path(split_dir) if split_dir else token_file.parent
    if image_dir is None:
        image_dir = token_file.parent.parent / "Flicker8k_Dataset"
        if not image_dir.is_dir():
            image_dir = token_file.parent / "Flicker8k_Dataset"
    split_of: dict[str, str] = {}
    for split, fname in FLICKR8K_SPLIT_FILES.items():
        f = split_dir / fname
        if not f.is_file():
            raise DatasetError(f"Flickr8k split list missing: {f}")
        for name in _read_list(f):
            split_of[name] = split
    caps = read_token_file(token_file)
    # Images outside the three lists (a handful in the original release) are left out.
    images = [
        ImageRecord(resolve(image_dir, name), c, split_of[name], name) for name, c in caps.items() if name in split_of
    ]
    return CaptionDataset("flickr8k", images, {"format": "flickr8k", "source": str(token_file)})


def _read_csv(path: Path) -> tuple[OrderedDict[str, list[str]], dict[str, str]]:
    caps: OrderedDict[str, list[str]] = OrderedDict()
    splits: dict[str, str] = {}
    text = path.read_text(encoding="utf-8")
    head = text.splitlines()[0] if text else ""
    if "|" in head:  # results.csv: image_name| comment_number| comment
        for n, row in enumerate(csv.reader(text.splitlines()[1:], delimiter="|"), 2):
            if not row:
                continue
            if len(row) < 3:
                raise DatasetError(f"{path}:{n}: expected 'image| number| comment'")
            caps.setdefault(row[0].strip(), []).append("|".join(row[2:]).strip())
        return caps, splits
    reader = csv.DictReader(text.splitlines())
    fields = set(reader.fieldnames or ())
    if {"raw", "filename"} <= fields:  # flickr_annotations_30k.csv
        for entry in reader:
            caps[entry["filename"]] = [str(c).strip() for c in json.loads(entry["raw"])]
            if entry.get("split") in ("train", "val", "test"):
                splits[entry["filename"]] = entry["split"]
        return caps, splits
    if {"image", "caption"} <= fields:  # image,caption (Kaggle-style captions.txt)
        for entry in reader:
            caps.setdefault(entry["image"], []).append(entry["caption"].strip())
        return caps, splits
    raise DatasetError(f"{path}: unknown Flickr CSV header {head[:80]!r}")


def load_flickr30k(
    annotations: str | Path, image_dir: str | Path | None = None, val_images: int = 1000, test_images: int = 1000
) -> CaptionDataset:
    annotations = Path(annotations)
    if image_dir is None:
        image_dir = annotations.parent / "flickr30k-images"
    try:
        if annotations.suffix.lower() == ".csv":
            caps, splits = _read_csv(annotations)
        else:
            caps, splits = read_token_file(annotations), {}
    except (OSError, ValueError, KeyError) as exc:
        raise DatasetError(f"{annotations} is not a Flickr30k annotation file: {exc}") from exc
    n = max(1, len(caps))
    val_f, test_f = min(0.5, val_images / n), min(0.5, test_images / n)
    images = [
        ImageRecord(resolve(image_dir, name), c, splits.get(name) or stable_split(name, val_f, test_f), name)
        for name, c in caps.items()
    ]
    return CaptionDataset("flickr30k", images, {"format": "flickr30k", "source": str(annotations)})

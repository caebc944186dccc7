"""Karpathy's split files: ``dataset_coco.json``, ``dataset_flickr8k.json``, ``dataset_flickr30k.json``.

``{"dataset": "coco", "images": [{"filepath": "val2014", "filename": "...jpg", "split":
"train|val|test|restval", "sentences": [{"raw": "...", "tokens": [...]}, ...], ...}]}``.
Flickr files have no ``filepath``. Image paths are ``image_root/filepath/filename``.
"""

from __future__ import annotations

import json
from pathlib import Path

from trainer.datasets.base import CaptionDataset, DatasetError, ImageRecord, resolve

SPLIT_MAP = {"train": "train", "restval": "train", "val": "val", "test": "test"}


def load_karpathy(json_path: str | Path, image_root: str | Path | None = None) -> CaptionDataset:
    """``image_root`` defaults to the JSON file's folder."""
    json_path = Path(json_path)
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
        entries = data["images"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{json_path} is not a Karpathy split file: {exc}") from exc
    root = Path(image_root) if image_root is not None else json_path.parent
    images = []
    for e in entries:
        try:
            split = SPLIT_MAP[e["split"]]
            caps = [s["raw"].strip() if s.get("raw") else " ".join(s["tokens"]) for s in e["sentences"]]
            images.append(
                ImageRecord(
                    resolve(root, e.get("filepath", ""), e["filename"]),
                    caps,
                    split,
                    str(e.get("cocoid", e.get("imgid", e["filename"]))),
                )
            )
        except (KeyError, TypeError) as exc:
            raise DatasetError(f"{json_path}: malformed image entry {str(e)[:120]}: missing {exc}") from exc
    return CaptionDataset(
        str(data.get("dataset", json_path.stem)), images, {"format": "karpathy", "source": str(json_path)}
    )

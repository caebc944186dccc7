"""The official COCO caption files: ``annotations/captions_train2014.json`` and friends.

``{"images": [{"id", "file_name", ...}], "annotations": [{"image_id", "id", "caption"}]}``.
The split is the file's (``captions_val2014.json`` -> ``val``) unless given; images are in
``image_dir`` (default: ``<annotations folder>/../<train2014|val2014|...>``).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from trainer.datasets.base import CaptionDataset, DatasetError, ImageRecord, resolve

_NAME = re.compile(r"captions_(train|val|test)(\d{4})\.json$")


def load_coco(
    captions_json: str | Path, image_dir: str | Path | None = None, split: str | None = None
) -> CaptionDataset:
    captions_json = Path(captions_json)
    m = _NAME.search(captions_json.name)
    split = split or (m.group(1) if m else "train")
    if image_dir is None:
        image_dir = captions_json.parent.parent / (f"{m.group(1)}{m.group(2)}" if m else "images")
    try:
        data = json.loads(captions_json.read_text(encoding="utf-8"))
        caps = defaultdict(list)
        for a in data["annotations"]:
            caps[a["image_id"]].append(str(a["caption"]).strip())
        images = [
            ImageRecord(resolve(image_dir, im["file_name"]), caps[im["id"]], split, str(im["id"]))
            for im in data["images"]
            if caps.get(im["id"])
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{captions_json} is not a COCO captions file: {exc}") from exc
    return CaptionDataset(f"coco-{captions_json.stem}", images, {"format": "coco", "source": str(captions_json)})

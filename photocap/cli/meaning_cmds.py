"""``photocap similar PHOTO``: the photos that look like one photo.

A photo in the library is compared by the pooled encoder feature kept when it was
captioned (no model needed). A photo outside the library, or one not captioned since
features were kept, is run through the encoder once (torch loads only then).
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict

from photocap.cli.library_cmds import _err, _open
from photocap.filenames import json_path, readable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "similar",
        help="photos that look like PHOTO",
        description="List the library's photos that look most like PHOTO (a photo in the library "
        "or any photo file), most alike first.",
    )
    p.add_argument("--library", metavar="FILE", help="library file (default: the one in your data folder)")
    p.add_argument("photo", metavar="PHOTO")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="how many (default 20)")
    p.add_argument("--json", action="store_true", help="print JSON (similarity 0..1 per photo)")
    p.set_defaults(func=run_similar)


def _feature_of_file(path: str):
    """(feature id, pooled feature) of a photo file, through the default encoder."""
    from photocap.engine import CaptionEngine

    engine = CaptionEngine.create(None, device="cpu")
    item = next(engine.caption_paths([path]))
    if item.error is not None:
        raise item.error
    return engine.captioner.feature_id, item.description.feature if item.description is not None else None


def run_similar(args: argparse.Namespace) -> int:
    if args.limit < 1:
        _err("--limit must be at least 1")
        return 2
    lib = _open(args)
    if lib is None:
        return 2
    with lib:
        photo = lib.photo_by_path(args.photo)
        hits = lib.similar_photos(photo.id, args.limit) if photo is not None else None
        if hits is None:
            if not os.path.isfile(args.photo):
                _err(f"{readable(args.photo)}: no such photo")
                return 1
            try:
                feature_id, feature = _feature_of_file(args.photo)
            except Exception as exc:
                reason = getattr(exc, "reason", None) or f"{exc.__class__.__name__}: {exc}"
                _err(f"{readable(args.photo)}: cannot read this photo ({reason})")
                return 1
            hits = [
                h
                for h in lib.similar_to_vector(feature_id, feature, args.limit + 1)
                if photo is None or h.photo_id != photo.id
            ][: args.limit]
    if args.json:
        rows = [asdict(h) | json_path(h.path) | {"similarity": round(1.0 - h.rank, 4)} for h in hits]
        for row in rows:
            del row["rank"], row["snippet"]
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    if not hits:
        _err("no similar photos yet (photos are compared once they have been described: photocap index FOLDER)")
        return 1
    for h in hits:
        print(f"{1.0 - h.rank:.2f}  {readable(h.path)}")
        print(f"      {h.caption or '(no caption)'}")
    return 0

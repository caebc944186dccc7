"""`photocap caption PATH...`: describe photos from the command line, no library needed.

Folders are listed by the library's scanner walk (the same rules as ``photocap index``):
what it cannot use (a folder it may not read, a broken link, a named pipe called
``x.jpg``) is reported with the reason, one line each, never opened or waited on.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from typing import TYPE_CHECKING, Any

from photocap.cli.report import err, problem
from photocap.filenames import json_path, one_line, os_reason, readable, special_file

if TYPE_CHECKING:
    from photocap.library.records import Problem


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "caption",
        help="describe photos (files or folders) and print their captions and tags",
        description="Describe photos with the caption engine. Folders are walked. "
        "Without --model, photos are described by their ImageNet tags (source 'tags').",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="photo files or folders")
    p.add_argument("--model", metavar="FILE", help="a photocap model file (.safetensors)")
    p.add_argument("--beam", type=int, default=3, metavar="K", help="beam width (1 = greedy; default 3)")
    p.add_argument("--max-len", type=int, default=20, metavar="N", help="longest caption in words (default 20)")
    p.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda", "mps"),
        help="where the model runs (default: CUDA, then MPS, then CPU)",
    )
    p.add_argument("--batch-size", type=int, default=16, metavar="N", help="photos per model batch (default 16)")
    p.add_argument("--tags", type=int, default=3, metavar="N", help="tags to print per photo (default 3)")
    p.add_argument(
        "--encoder-weights",
        metavar="FILE",
        help="local ImageNet weights for the encoder (for ResNet models when offline)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p.add_argument("--quiet", action="store_true", help="do not list the files that could not be read")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from photocap.engine import CaptionEngine
    from photocap.model import CheckpointError, EncoderWeightsError
    from photocap.progress import RateMeter

    skipped: list = []
    files = collect(args.paths, skipped)
    if not args.quiet:
        for p in skipped:
            problem(p.path, p.reason)
    if not files:
        reasons = "; ".join(sorted({one_line(p.reason) for p in skipped}))
        err("no photos found" + (f" ({reasons})" if reasons else ""))
        return 1
    try:
        engine = CaptionEngine.create(
            args.model,
            device=args.device,
            beam=args.beam,
            max_len=args.max_len,
            batch_size=args.batch_size,
            encoder_weights=args.encoder_weights or "default",
        )
    except (CheckpointError, EncoderWeightsError, RuntimeError, ValueError) as exc:
        err(f"cannot load the caption model: {one_line(str(exc))}")
        return 2
    speed = RateMeter()  # the whole run's average
    results: list[dict[str, Any]] = [json_path(p.path) | {"error": one_line(p.reason)} for p in skipped]
    failed = len(skipped)
    for item in engine.caption_paths(files):
        if item.error is not None:
            failed += 1
            if not args.quiet:
                problem(item.path, item.error.reason)
            if args.json:
                results.append(json_path(item.path) | {"error": one_line(item.error.reason)})
            continue
        d = item.description
        if d is None:  # (an item is described or failed)
            continue
        speed.add()
        if args.json:
            results.append(
                json_path(item.path)
                | {
                    "caption": d.text,
                    "source": d.source,
                    "model": d.model_id,
                    "logprob": d.logprob,
                    "confidence": d.confidence,
                    "held_back": d.held_back,
                    "tags": [{"label": t, "p": p} for t, p in d.tags[: args.tags]],
                }
            )
        else:
            tags = " · ".join(f"{t} {p:.2f}" for t, p in d.tags[: args.tags])
            sure = f", {d.confidence:.0%} sure" if d.confidence is not None else ""
            held = f"\n  (the model was not sure of: {d.held_back})" if d.held_back else ""
            print(f"{readable(item.path)}\n  {d.text}  [{d.source}{sure}]{held}\n  tags: {tags}", flush=True)
    device = engine.captioner.device_label
    summary = {
        "captioned": speed.count,
        "failed": failed,
        "seconds": round(speed.elapsed, 3),
        "photos_per_second": round(speed.rate, 2),
        "device": device,
        "model": engine.model_id,
    }
    if args.json:
        json.dump({"photos": results, "summary": summary}, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        print(f"\n{speed.count} captioned, {failed} skipped · {speed.rate:.1f} photos/s · {device}")
    return 1 if failed else 0


def collect(paths: list[str], skipped: list[Problem]) -> list[str]:
    """Files given directly, and the photos found in folders; the rest goes to ``skipped``."""
    from photocap.ingest.scanner import walk
    from photocap.library.records import Problem

    files: list[str] = []
    for path in paths:
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            gone = isinstance(exc, FileNotFoundError)
            reason = ("broken link" if os.path.islink(path) else "no such file or folder") if gone else os_reason(exc)
            skipped.append(Problem(path, reason))
            continue
        if stat.S_ISDIR(mode):
            files.extend(found for found, _ in walk(path, skipped))
        elif stat.S_ISREG(mode):
            files.append(path)
        else:
            skipped.append(Problem(path, f"{special_file(mode)}, not a photo file"))
    return files

"""`photocap caption PATH...`: describe photos from the command line, no library needed."""

from __future__ import annotations

import argparse
import json
import sys


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
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                   help="where the model runs (default: CUDA, then MPS, then CPU)")
    p.add_argument("--batch-size", type=int, default=16, metavar="N", help="photos per model batch (default 16)")
    p.add_argument("--tags", type=int, default=3, metavar="N", help="tags to print per photo (default 3)")
    p.add_argument("--encoder-weights", metavar="FILE",
                   help="local ImageNet weights for the encoder (for ResNet models when offline)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from photocap.engine import CaptionEngine, Throughput, iter_photo_files
    from photocap.model import CheckpointError, EncoderWeightsError

    missing = [p for p in args.paths if not _exists(p)]
    for p in missing:
        print(f"photocap: {p}: no such file or folder", file=sys.stderr)
    files = list(iter_photo_files(p for p in args.paths if p not in missing))
    if not files:
        print("photocap: no photos found", file=sys.stderr)
        return 1
    try:
        engine = CaptionEngine.create(args.model, device=args.device, beam=args.beam, max_len=args.max_len,
                                      batch_size=args.batch_size, encoder_weights=args.encoder_weights or "default")
    except (CheckpointError, EncoderWeightsError, RuntimeError, ValueError) as exc:
        print(f"photocap: cannot load the caption model: {exc}", file=sys.stderr)
        return 2
    speed = Throughput()
    results, failed = [], len(missing)
    for item in engine.caption_paths(files):
        if item.error is not None:
            failed += 1
            print(f"photocap: skipped {item.path}: {item.error.reason}", file=sys.stderr)
            if args.json:
                results.append({"path": item.path, "error": item.error.reason})
            continue
        speed.add()
        d = item.description
        if args.json:
            results.append({"path": item.path, "caption": d.text, "source": d.source, "model": d.model_id,
                            "logprob": d.logprob, "confidence": d.confidence, "held_back": d.held_back,
                            "tags": [{"label": t, "p": p} for t, p in d.tags[: args.tags]]})
        else:
            tags = " · ".join(f"{t} {p:.2f}" for t, p in d.tags[: args.tags])
            sure = f", {d.confidence:.0%} sure" if d.confidence is not None else ""
            held = f"\n  (the model was not sure of: {d.held_back})" if d.held_back else ""
            print(f"{item.path}\n  {d.text}  [{d.source}{sure}]{held}\n  tags: {tags}", flush=True)
    device = engine.captioner.device_label
    summary = {"captioned": speed.count, "failed": failed, "seconds": round(speed.elapsed, 3),
               "photos_per_second": round(speed.rate, 2), "device": device, "model": engine.model_id}
    if args.json:
        json.dump({"photos": results, "summary": summary}, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        print(f"\n{speed.count} captioned, {failed} skipped · {speed.rate:.1f} photos/s · {device}")
    return 1 if failed else 0


def _exists(path: str) -> bool:
    from pathlib import Path

    return Path(path).exists()

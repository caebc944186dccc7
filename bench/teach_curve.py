"""Benchmark: the teaching curve on the synthetic scenes: N user captions -> held-out quality.

For each N (one caption per photo, as a user writes them) a fresh library holds N synthetic
photos captioned with one of their captions; `teach` runs with photocap's default settings
and time budget for N captions (the same call as `photocap teach`); the new model then
describes 100 test photos it never saw, scored against their 5 reference captions
(BLEU-4, CIDEr; the model's own caption, before any fall-back to tags) and the share the
fall-back would have replaced with tags. Wall time includes the feature pass.

    python bench/teach_curve.py [--n 25 50 100 200 400 800] [--minutes M] [--out FILE]

The whole run takes about the sum of the default budgets (3 to 3.4 minutes each) plus the
feature passes: ~25 minutes on 2 cores for the six sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def say(msg: str) -> None:
    print(msg, flush=True)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[25, 50, 100, 200, 400, 800])
    ap.add_argument("--minutes", type=float, default=None, help="budget per teaching (default: photocap's rule)")
    ap.add_argument("--test", type=int, default=100)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="photocap-curve-"))
    os.environ["PHOTOCAP_DATA_DIR"] = str(work / "data")
    from photocap.engine import CaptionEngine
    from photocap.ingest import scan
    from photocap.library import open_library
    from trainer.datasets import load_karpathy
    from trainer.metrics import score_captions
    from trainer.synthetic import make_synthetic
    from trainer.teach import TeachOptions, teach

    say(f"load before: {load()} ({os.cpu_count()} cores)")
    biggest = max(args.n)
    ds = load_karpathy(make_synthetic(work / "synth", n_train=biggest, n_val=0, n_test=args.test, seed=11))
    train = [r for r in ds.images if r.split == "train"]
    test = [r for r in ds.images if r.split == "test"]
    rows = []
    for n in sorted(args.n):
        lib_dir = work / f"lib{n}"
        photos = lib_dir / "photos"
        photos.mkdir(parents=True)
        for r in train[:n]:  # the library holds its own copies (links) of its N photos
            os.link(r.path, photos / Path(r.path).name)
        db = lib_dir / "library.sqlite"
        with open_library(db) as lib:
            scan(lib, lib.add_folder(photos).id)
            for k, r in enumerate(train[:n]):
                lib.set_user_caption(lib.photo_by_path(photos / Path(r.path).name).id, r.captions[k % len(r.captions)])
        t0 = time.perf_counter()
        last = None
        for ev in teach(db, TeachOptions(minutes=args.minutes, device="cpu")):
            if ev.kind == "start":
                say(f"N={n}: {ev.message}")
            last = ev
        seconds = time.perf_counter() - t0
        assert last is not None and last.kind == "done", last
        engine = CaptionEngine.create(last.path, device="cpu", beam=3)
        hyps, fell = {}, 0
        for item in engine.caption_paths([r.path for r in test]):
            d = item.description
            hyps[item.path] = d.held_back if d.held_back is not None else d.text
            fell += d.source == "tags"
        s = score_captions({r.path: r.captions for r in test}, hyps, tokenizer="simple", meteor=False)
        row = {
            "n": n,
            "bleu4": round(s["BLEU-4"], 3),
            "cider": round(s["CIDEr"], 3),
            "seconds": round(seconds, 1),
            "steps": last.step,
            "fell_back": round(fell / len(test), 2),
            "load": load(),
            "example": hyps[test[0].path] + f" (ref: {test[0].captions[0]})",
        }
        rows.append(row)
        say(json.dumps(row))
    say("\n| user captions | BLEU-4 | CIDEr | teaching (s) | steps | fall-back on test |")
    say("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        say(
            f"| {r['n']} | {r['bleu4']:.3f} | {r['cider']:.3f} | {r['seconds']:.0f} | {r['steps']} | "
            f"{r['fell_back']:.0%} |"
        )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

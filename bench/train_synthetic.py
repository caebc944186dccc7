"""Benchmark: the trainer on the synthetic shapes set (4,000 train / 250 val / 500 test).

Measures, on this machine:
  1. the EfficientNet-Lite0 feature pass (into a fresh float16 cache);
  2. time per epoch with the cache vs running the encoder in every step (measured on a
     part of an epoch and scaled to the whole: both per-caption batches, as the seeds do,
     and image-grouped batches, which encode each image once per epoch);
  3. Show-and-Tell vs Show, Attend and Tell after the same time budget each (default 15
     minutes, validation included): BLEU-1/4, CIDEr, METEOR, relation accuracy and
     object/colour precision on the 500 test images, greedy and beam 3.

    python bench/train_synthetic.py                 # the full run (~40 minutes on 2 cores)
    python bench/train_synthetic.py --minutes 1 --train 400 --val 50 --test 100   # a quick look

Prints every figure and writes them all to --out (JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photocap.model import build_encoder
from photocap.model.device import configure_threads
from trainer.datasets import load_karpathy
from trainer.evaluate import evaluate_model, synthetic_scorer
from trainer.features import ensure_features
from trainer.synthetic import KARPATHY_FILE, make_synthetic
from trainer.train import BEST_FILE, TrainConfig, run_to_end, train


def say(msg: str) -> None:
    print(msg, flush=True)


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def steps_time(cfg: TrainConfig, ds, steps: int) -> tuple[float, int, int]:
    """Seconds per training step over ``steps`` steps (after one warm-up step), and steps per epoch."""
    per_epoch = total = None
    stamps = []
    for ev in train(
        TrainConfig(**{**cfg.to_dict(), "max_steps": steps + 1, "log_every": 1, "epochs": 1, "val_images": 0}), ds
    ):
        if ev.kind == "start":
            per_epoch = ev.metrics["steps_per_epoch"]
        if ev.kind == "step":
            stamps.append(time.perf_counter())
            total = ev.step
        if ev.kind == "step" and ev.step >= steps + 1:
            break
    per_step = (stamps[-1] - stamps[0]) / max(1, len(stamps) - 1)
    return per_step, per_epoch, total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="bench/out/synth", help="folder for the data set, caches and runs")
    ap.add_argument("--out", default="bench/out/train_synthetic.json")
    ap.add_argument("--train", type=int, default=4000)
    ap.add_argument("--val", type=int, default=250)
    ap.add_argument("--test", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=15.0, help="training budget per model")
    ap.add_argument("--recompute-steps", type=int, default=30, help="steps timed without the cache")
    ap.add_argument("--attention-lambda", type=float, default=1.0)
    ap.add_argument("--models", default="show_tell,attention")
    args = ap.parse_args()
    configure_threads()
    work = Path(args.work)
    results: dict = {"machine": {"cpus": os.cpu_count(), "loadavg_start": loadavg()}, "args": vars(args)}
    say(f"load average at start: {loadavg()}")

    # 1. data set and feature pass --------------------------------------------------------------
    data = work / "data"
    ann = data / KARPATHY_FILE
    meta_ok = (
        ann.is_file()
        and json.loads(ann.read_text()).get("seed") == args.seed
        and len(json.loads(ann.read_text())["images"]) == args.train + args.val + args.test
    )
    if not meta_ok:
        shutil.rmtree(data, ignore_errors=True)
        t0 = time.perf_counter()
        make_synthetic(data, args.train, args.val, args.test, args.seed)
        results["synth_seconds"] = round(time.perf_counter() - t0, 1)
        say(f"synthetic set: {args.train + args.val + args.test} images in {results['synth_seconds']} s")
    ds = load_karpathy(ann)
    say(ds.summary())
    cache_root = work / "features"
    shutil.rmtree(cache_root, ignore_errors=True)  # measure the pass from scratch
    encoder = build_encoder("efficientnet_lite0", "default")
    t0 = time.perf_counter()
    ensure_features([r.path for r in ds.images], encoder, ds.name, cache_root)
    feat_s = time.perf_counter() - t0
    results["feature_pass"] = {
        "images": len(ds.images),
        "seconds": round(feat_s, 1),
        "images_per_s": round(len(ds.images) / feat_s, 1),
    }
    say(f"feature pass: {len(ds.images)} images in {feat_s:.1f} s ({len(ds.images) / feat_s:.1f} img/s)")

    base = dict(
        feature_cache=str(cache_root),
        device="cpu",
        seed=args.seed,
        val_images=args.val,
        attention_lambda=args.attention_lambda,
        early_stop=0,
        epochs=1000,
        max_minutes=args.minutes,
    )

    # 2. epoch time: cache vs encoder in every step -------------------------------------------------
    timing = {}
    for label, kw in (
        ("attention, image-grouped batches", dict(decoder="attention")),
        ("attention, per-caption batches", dict(decoder="attention", by_image=False)),
        ("show_tell, per-caption batches", dict(decoder="show_tell")),
    ):
        row = {}
        for cached in (True, False):
            cfg = TrainConfig(**{**base, **kw, "out_dir": str(work / "timing"), "use_cache": cached})
            steps = args.recompute_steps if not cached else 3 * args.recompute_steps
            per_step, per_epoch, _ = steps_time(cfg, ds, steps)
            row["cached" if cached else "recompute"] = {
                "s_per_step": round(per_step, 4),
                "steps_per_epoch": per_epoch,
                "epoch_s": round(per_step * per_epoch, 1),
            }
            say(
                f"{label}, {'cached features' if cached else 'encoder every step'}: {per_step * 1000:.0f} ms/step, "
                f"{per_epoch} steps -> {per_step * per_epoch:.1f} s/epoch"
            )
        if "recompute" in row:
            row["speedup"] = round(row["recompute"]["epoch_s"] / row["cached"]["epoch_s"], 1)
            say(f"  cache speed-up: {row['speedup']}x")
        timing[label] = row
    results["epoch_timing"] = timing
    shutil.rmtree(work / "timing", ignore_errors=True)

    # 3. the two models, same budget each ------------------------------------------------------------
    results["models"] = {}
    for kind in args.models.split(","):
        out = work / "runs" / kind
        shutil.rmtree(out, ignore_errors=True)
        cfg = TrainConfig(
            **{**base, "decoder": kind, "out_dir": str(out), "log_every": 100, "name": f"synthetic benchmark {kind}"}
        )
        say(f"training {kind} for {args.minutes} minutes (load {loadavg()})")
        epochs = []
        t0 = time.perf_counter()

        def show(ev, epochs=epochs):
            if ev.kind == "validation":
                m = ev.metrics
                epochs.append({k: v for k, v in m.items() if not isinstance(v, str)})
                say(
                    f"  epoch {ev.epoch} ({m['elapsed_s']:.0f} s): val loss {m['val_loss']:.3f} "
                    f"BLEU-4 {m['BLEU-4']:.3f} "
                    f"CIDEr {m['CIDEr']:.2f} relation acc {m.get('relation_accuracy', 0):.3f} "
                    f"(coverage {m.get('relation_coverage', 0):.2f})"
                )
            elif ev.kind in ("start", "done"):
                say(f"  {ev}")

        run_to_end(train(cfg, ds, extra_metrics=synthetic_scorer(ds)), show)
        train_s = time.perf_counter() - t0
        say(f"  evaluating on {args.test} test images (load {loadavg()})")
        report = evaluate_model(
            out / BEST_FILE,
            ds,
            "test",
            beams=(1, 3),
            device="cpu",
            tokenizer="auto",
            meteor="auto",
            report_path=out / "test.eval.json",
            feature_cache=cache_root,
        )
        results["models"][kind] = {
            "train_seconds": round(train_s, 1),
            "epochs_run": len(epochs),
            "history": epochs,
            "test": report["results"],
            "examples": report["examples"],
        }
        for mode, r in report["results"].items():
            say(
                f"  {kind} {mode}: BLEU-1 {r['BLEU-1']:.3f} BLEU-4 {r['BLEU-4']:.3f} CIDEr {r['CIDEr']:.3f} "
                f"METEOR {r['METEOR'] if r['METEOR'] is None else round(r['METEOR'], 3)} ROUGE-L {r['ROUGE-L']:.3f} "
                f"relation acc {r['relation_accuracy']:.3f} (coverage {r['relation_coverage']:.2f}) "
                f"object prec {r['object_precision']:.3f} colour prec {r['colour_precision']:.3f} "
                f"[{r['tokenizer']} tokens, METEOR {r['meteor']}]"
            )
    results["machine"]["loadavg_end"] = loadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1))
    say(f"load average at end: {loadavg()}; all figures in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

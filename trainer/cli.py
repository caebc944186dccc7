"""``photocap-train``: make the synthetic benchmark, train, evaluate, fine-tune.

Quick start (a few minutes on a laptop CPU):

    photocap-train synth --out data/synth --train 2000 --val 200 --test 200
    photocap-train train --data data/synth/dataset_synth.json --out runs/synth --minutes 10
    photocap-train eval --model runs/synth/best.safetensors --data data/synth/dataset_synth.json

Several GPUs or machines: ``torchrun --nproc_per_node=4 -m trainer.cli train ...``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

EPILOG = """\
datasets (--data, the format is guessed from the file; --images is the image folder):
  Karpathy splits   dataset_coco.json / dataset_flickr8k.json / dataset_flickr30k.json
  COCO              annotations/captions_train2014.json (and captions_val2014.json)
  Flickr8k          Flickr8k.token.txt, with Flickr_8k.{train,dev,test}Images.txt beside it
  Flickr30k         results_20130124.token, results.csv or flickr_annotations_30k.csv
  synthetic         made by `photocap-train synth` (dataset_synth.json)

examples:
  photocap-train synth --out data/synth
  photocap-train train --data data/synth/dataset_synth.json --out runs/synth --minutes 15
  photocap-train train --data dataset_flickr8k.json --images Flicker8k_Dataset --out runs/f8k --min-count 5
  photocap-train train --out runs/f8k --data dataset_flickr8k.json --images Flicker8k_Dataset --resume
  photocap-train eval --model runs/f8k/best.safetensors --data dataset_flickr8k.json --images Flicker8k_Dataset
  photocap-train finetune --library ~/.local/share/photocap/library.sqlite --model my-model.safetensors
  photocap-train finetune --library ~/.local/share/photocap/library.sqlite     # from the active model or nothing
"""


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, metavar="FILE", help="annotation file (see the list below)")
    p.add_argument("--images", metavar="DIR", help="image folder (default: guessed from the annotation file)")
    p.add_argument(
        "--format",
        default="auto",
        choices=("auto", "karpathy", "coco", "flickr8k", "flickr30k"),
        help="annotation format (default: guess from the file)",
    )


def _add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=int, help="at most this many passes over the training captions")
    p.add_argument("--minutes", type=float, help="stop after this much time (the best model so far is kept)")
    p.add_argument("--lr", type=float, help="learning rate of the decoder")
    p.add_argument("--batch-size", type=int, help="captions per step")
    p.add_argument(
        "--finetune-encoder",
        type=int,
        default=0,
        metavar="N",
        help="also train the encoder's last N blocks (slow: the feature cache is not used)",
    )
    p.add_argument("--encoder-lr", type=float, help="learning rate of those encoder blocks")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")
    p.add_argument("--quiet", action="store_true", help="print validations and the result only")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photocap-train",
        description="Train, evaluate and fine-tune photocap's caption model.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "synth",
        help="make the synthetic shapes benchmark (images + captions)",
        description="Write coloured-shape scenes with five captions each, the same for the same seed.",
    )
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--train", type=int, default=4000, help="training images (default 4000)")
    p.add_argument("--val", type=int, default=250, help="validation images (default 250)")
    p.add_argument("--test", type=int, default=500, help="test images (default 500)")
    p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser(
        "train",
        help="train a captioner from scratch on a dataset",
        description="Train a caption decoder on cached encoder features; writes best.safetensors "
        "and last.safetensors (photocap model files) into --out.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_data_args(p)
    p.add_argument("--out", required=True, metavar="DIR", help="run folder: models, training state, history")
    p.add_argument(
        "--decoder",
        default="attention",
        choices=("attention", "show_tell"),
        help="Show, Attend and Tell (default) or Show-and-Tell",
    )
    p.add_argument(
        "--encoder",
        default="efficientnet_lite0",
        help="efficientnet_lite0 (default, weights ship with photocap), resnet50/101/152",
    )
    p.add_argument("--encoder-weights", default="default", help="'default', 'none' (random) or a weights file")
    p.add_argument("--min-count", type=int, help="rarer words become <unk> (default 1; 5 for COCO/Flickr)")
    p.add_argument("--attention-lambda", type=float, help="weight of the doubly stochastic attention term")
    p.add_argument("--label-smoothing", type=float)
    p.add_argument("--monitor", choices=("cider", "bleu4", "loss"), help="what picks the best model (default cider)")
    p.add_argument("--no-positions", action="store_true", help="attention: no learned grid-position embedding")
    p.add_argument("--no-cache", action="store_true", help="run the encoder every step instead of the feature cache")
    p.add_argument("--name", default="", help="a name for the model, shown in the app")
    _add_run_args(p)

    p = sub.add_parser(
        "eval",
        help="score a model on a dataset split (BLEU, ROUGE-L, CIDEr, METEOR)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", required=True, metavar="FILE", help="a photocap model (.safetensors)")
    _add_data_args(p)
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--beam", type=int, nargs="+", default=[1, 3], help="beam widths to try (1 = greedy; default 1 3)")
    p.add_argument("--max-len", type=int, default=20)
    p.add_argument("--limit", type=int, help="only the first N images of the split")
    p.add_argument("--report", metavar="FILE", help="JSON report (default: <model>.<split>.eval.json)")
    p.add_argument("--no-meteor", action="store_true", help="skip METEOR (it needs Java and ~10 s to start)")
    p.add_argument(
        "--tokenizer",
        default="auto",
        choices=("auto", "ptb", "simple"),
        help="ptb = COCO's Java tokenizer; simple = photocap's own (auto: ptb when Java works)",
    )
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))

    p = sub.add_parser(
        "finetune",
        help="fine-tune a model on your own edited captions",
        description="Teach a model the captions you wrote in the photo library (names of people, "
        "pets, places); the result is registered with the library, not activated.",
    )
    p.add_argument("--library", required=True, metavar="FILE", help="the photo library (library.sqlite)")
    p.add_argument(
        "--model",
        metavar="FILE",
        help="the model to start from (default: the library's active model, "
        "or a new model from scratch when there is none; as `photocap teach` does)",
    )
    p.add_argument("--out", default=None, metavar="DIR", help="run folder (default: <data dir>/runs/finetune)")
    p.add_argument("--no-register", action="store_true", help="do not register the result with the library")
    _add_run_args(p)
    return parser


def _printer(quiet: bool, rank0: bool):
    last_feat = [0.0]

    def show(ev) -> None:
        if not rank0:
            return
        if ev.kind == "features":
            import time

            now = time.monotonic()
            if ev.step < (ev.total_steps or 0) and now - last_feat[0] < 2:
                return
            last_feat[0] = now
        if quiet and ev.kind in ("step", "features"):
            return
        print(ev, flush=True)

    return show


def _run_events(events, quiet: bool) -> int:
    rank0 = _rank0()
    show = _printer(quiet, rank0)
    last = None
    for ev in events:
        show(ev)
        last = ev
    if last is not None and last.kind == "done" and rank0:
        print(json.dumps({k: v for k, v in last.metrics.items() if not isinstance(v, str)}, indent=1))
    return 0 if last is not None and last.kind in ("done", "info") else 1


def _control():
    from trainer.train import TrainControl

    control = TrainControl()

    def on_sigint(signum, frame):
        if control.cancelled:
            raise KeyboardInterrupt
        print(
            "\nstopping after this step (the state is saved; continue with --resume). "
            "Press Ctrl-C again to quit at once.",
            file=sys.stderr,
            flush=True,
        )
        control.cancel()

    signal.signal(signal.SIGINT, on_sigint)
    return control


def cmd_synth(a) -> int:
    from trainer.synthetic import make_synthetic

    path = make_synthetic(
        a.out, a.train, a.val, a.test, a.seed, progress=lambda i, n: print(f"{i}/{n} images", flush=True)
    )
    print(f"wrote {a.train + a.val + a.test} images and {path}")
    return 0


def _rank0() -> bool:
    import os

    return int(os.environ.get("RANK", "0")) == 0


def cmd_train(a) -> int:
    from trainer.datasets import load_dataset
    from trainer.evaluate import synthetic_scorer
    from trainer.train import TrainConfig, train

    dataset = load_dataset(a.data, a.images, a.format)
    if _rank0():
        print(dataset.summary(), flush=True)
    cfg = TrainConfig(
        out_dir=a.out,
        decoder=a.decoder,
        encoder=a.encoder,
        encoder_weights=None if a.encoder_weights == "none" else a.encoder_weights,
        positions=not a.no_positions,
        use_cache=not a.no_cache,
        device=a.device,
        seed=a.seed,
        finetune_encoder_blocks=a.finetune_encoder,
        name=a.name,
        max_minutes=a.minutes,
    )
    for arg, key in (
        ("epochs", "epochs"),
        ("lr", "lr"),
        ("batch_size", "batch_size"),
        ("encoder_lr", "encoder_lr"),
        ("min_count", "min_count"),
        ("attention_lambda", "attention_lambda"),
        ("label_smoothing", "label_smoothing"),
        ("monitor", "monitor"),
    ):
        if getattr(a, arg) is not None:
            setattr(cfg, key, getattr(a, arg))
    return _run_events(
        train(cfg, dataset, _control(), resume=a.resume, extra_metrics=synthetic_scorer(dataset)), a.quiet
    )


def cmd_eval(a) -> int:
    from trainer.datasets import load_dataset
    from trainer.evaluate import evaluate_model

    dataset = load_dataset(a.data, a.images, a.format)
    report_path = a.report or str(Path(a.model).with_suffix("")) + f".{a.split}.eval.json"
    report = evaluate_model(
        a.model,
        dataset,
        a.split,
        tuple(a.beam),
        a.max_len,
        limit=a.limit,
        device=a.device,
        tokenizer=a.tokenizer,
        meteor=not a.no_meteor,
        report_path=report_path,
        progress=lambda m: print(m, flush=True),
    )
    for name, res in report["results"].items():
        if res.get("METEOR") is None:
            print(f"{name}: METEOR {res['meteor']}")
    for ex in report["examples"]:
        print(f"- {Path(ex['image']).name}: " + " | ".join(f"{k}: {ex[k]}" for k in report["results"]))
    print(f"report: {report_path}")
    return 0


def cmd_finetune(a) -> int:
    from photocap.paths import data_dir
    from trainer.finetune import FinetuneOptions, finetune_library

    if a.model is None:  # the library's own teaching: from its active model, or from nothing
        from trainer.teach import TeachOptions, teach

        if a.no_register or a.out or a.finetune_encoder:
            raise ValueError(
                "--no-register, --out and --finetune-encoder need --model (without it, the run is the "
                "library's own teaching: its folder and registration are the library's)"
            )
        overrides = {key: getattr(a, key) for key in ("epochs", "lr", "batch_size") if getattr(a, key) is not None}
        opts = TeachOptions(minutes=a.minutes, device=a.device, seed=a.seed, overrides=overrides)
        return _run_events(teach(a.library, opts, _control(), resume=a.resume), a.quiet)

    tune = FinetuneOptions(
        out_dir=a.out or str(data_dir() / "runs" / "finetune"),
        device=a.device,
        seed=a.seed,
        finetune_encoder_blocks=a.finetune_encoder,
        max_minutes=a.minutes,
    )
    for arg in ("epochs", "lr", "batch_size", "encoder_lr"):
        if getattr(a, arg) is not None:
            setattr(tune, arg, getattr(a, arg))
    return _run_events(finetune_library(a.library, a.model, tune, _control(), a.resume, not a.no_register), a.quiet)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from trainer.datasets.base import DatasetError
    from trainer.state import StateError

    try:
        return {"synth": cmd_synth, "train": cmd_train, "eval": cmd_eval, "finetune": cmd_finetune}[args.command](args)
    except (DatasetError, StateError, FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"photocap-train: error: {exc}", file=sys.stderr)
        return 2
    finally:
        from trainer import distributed

        if distributed.dist.is_available() and distributed.dist.is_initialized():
            distributed.dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())

"""Score a captioner on a dataset split: BLEU-1..4, ROUGE-L, CIDEr, METEOR (with Java),
greedy and beam k, plus relation accuracy and object/colour precision on the synthetic
benchmark. Writes one JSON report per split with a few example captions.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from photocap.model import Captioner, decode
from photocap.model.decoders import CaptionDecoder
from photocap.model.vocab import Vocabulary
from trainer import synthetic
from trainer.datasets.base import CaptionDataset
from trainer.features import FeatureSource, cache_root, compute_features
from trainer.metrics import score_captions


@torch.no_grad()
def generate(
    decoder: CaptionDecoder,
    vocab: Vocabulary,
    features: Callable[[np.ndarray], torch.Tensor],
    rows: list[int],
    beam: int = 1,
    max_len: int = 20,
    batch_size: int = 64,
) -> list[str]:
    """One caption per row, decoded in batches; the decoder is put in eval mode and restored."""
    was_training = decoder.training
    decoder.eval()
    out: list[str] = []
    try:
        for start in range(0, len(rows), batch_size):
            feats = features(np.asarray(rows[start : start + batch_size]))
            res = decode(decoder, feats, beam=beam, max_len=max_len)
            out.extend(vocab.decode(t) for t in res.tokens)
    finally:
        decoder.train(was_training)
    return out


def synthetic_scorer(dataset: CaptionDataset) -> Callable[[dict[str, str]], dict] | None:
    """Relation/object scoring when the dataset is a synthetic set (it has scenes.json)."""
    src = dataset.meta.get("source")
    if not src or not (Path(src).parent / synthetic.SCENES_FILE).is_file():
        return None
    scenes = synthetic.load_scenes(Path(src).parent)
    by_path = {}
    for rec in dataset.images:
        name = Path(rec.path).name
        if name in scenes:
            by_path[rec.path] = scenes[name]

    def score(hyps: dict[str, str]) -> dict:
        return synthetic.score_captions({p: t for p, t in hyps.items() if p in by_path}, by_path)

    return score


def evaluate_model(
    model: str | os.PathLike | Captioner,
    dataset: CaptionDataset,
    split: str = "test",
    beams: tuple[int, ...] = (1, 3),
    max_len: int = 20,
    batch_size: int = 64,
    limit: int | None = None,
    use_cache: bool = True,
    device: str = "auto",
    tokenizer: str = "auto",
    meteor: bool | str = "auto",
    examples: int = 5,
    feature_cache: str | os.PathLike | None = None,
    report_path: str | os.PathLike | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Caption every image of ``split`` with each beam width and score against its references."""
    say = progress or (lambda msg: None)
    captioner = model if isinstance(model, Captioner) else Captioner.load(model, device=device)
    if captioner.decoder is None:
        raise ValueError("this model has no caption decoder to evaluate")
    records = dataset.split(split)[:limit] if limit else dataset.split(split)
    if not records:
        raise ValueError(f"{dataset.name} has no {split!r} images")
    paths = [r.path for r in records]
    pooled = not captioner.decoder.has_attention
    cache = None
    if use_cache and not captioner.meta.get("provenance", {}).get("encoder_finetuned"):
        all_paths = [r.path for r in dataset.images]
        gen = compute_features(
            all_paths if len(all_paths) <= 4 * len(paths) else paths,
            captioner.encoder,
            dataset.name,
            feature_cache or cache_root(),
            device=captioner.device,
        )
        try:
            while True:
                p = next(gen)
                say(f"features {p.done}/{p.total} ({p.images_per_s:.0f} img/s)")
        except StopIteration as stop:
            cache = stop.value
    source = FeatureSource(paths, captioner.encoder, cache, pooled=pooled, device=captioner.device)
    rows = list(range(len(paths)))
    refs = {p: r.captions for p, r in zip(paths, records)}
    extra = synthetic_scorer(dataset)
    report: dict = {
        "model_id": captioner.model_id,
        "dataset": dataset.name,
        "split": split,
        "images": len(paths),
        "max_len": max_len,
        "results": {},
        "examples": [],
    }
    generated: dict[str, list[str]] = {}
    decoder, vocab = captioner.decoder, captioner.vocab
    if decoder is None or vocab is None:
        raise ValueError(f"{captioner.model_id} has no caption decoder to evaluate (a tagger)")
    for beam in beams:
        name = "greedy" if beam <= 1 else f"beam{beam}"
        t0 = time.perf_counter()
        hyps = generate(decoder, vocab, source, rows, beam, max_len, batch_size)
        seconds = time.perf_counter() - t0
        by_path = dict(zip(paths, hyps))
        metrics = score_captions(refs, by_path, tokenizer=tokenizer, meteor=meteor)
        if extra is not None:
            metrics.update(extra(by_path))
        metrics["decode_seconds"] = round(seconds, 2)
        report["results"][name] = metrics
        generated[name] = hyps
        say(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items() if isinstance(v, float)))
    step = max(1, len(paths) // max(1, examples))
    for i in range(0, len(paths), step)[:examples]:
        report["examples"].append(
            {"image": paths[i], "references": refs[paths[i]], **{name: hyps[i] for name, hyps in generated.items()}}
        )
    if report_path is not None:
        Path(report_path).parent.mkdir(parents=True, exist_ok=True)
        Path(report_path).write_text(json.dumps(report, indent=2))
    return report

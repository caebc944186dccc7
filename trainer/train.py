"""The training loop, written as a generator of :class:`TrainEvent`.

    for event in train(TrainConfig(out_dir="runs/x"), dataset):
        print(event.kind, event.step, event.loss)

The CLI iterates and prints; the app's trainer tab runs the same generator in a worker
thread and plots the events. Between two events nothing is half done, so a consumer may
stop at any yield: ``gen.close()`` (or ``TrainControl.cancel()``) saves the training
state, and ``train(..., resume=True)`` later continues exactly where it stopped (same
batches, same dropout masks, same optimiser moments: the same weights as an uninterrupted
run on the same machine).

One run: build the vocabulary (or grow a base model's) -> encoder features into the cache
(skipped when fine-tuning the encoder) -> per epoch: teacher-forced steps (Adam, gradient
clipping, cross-entropy over real tokens + lambda * the doubly stochastic attention term)
-> validation (loss, greedy captions scored by CIDEr/BLEU) -> LR decay on plateau, best and
last models written with ``save_model``, early stopping.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from photocap import cache_limit
from photocap.model import DecoderConfig, Encoder, Vocabulary, build_decoder, build_encoder, save_model
from photocap.model.decoders import AttentionDecoder, CaptionDecoder
from photocap.model.device import autocast, configure_threads, pick_device
from photocap.model.vocab import PAD_ID
from photocap.progress import RateMeter
from photocap.text import format_duration
from trainer import distributed
from trainer.data import CaptionPairs
from trainer.datasets.base import CaptionDataset
from trainer.evaluate import generate
from trainer.features import FeatureCache, FeatureSource, compute_features, ensure_features
from trainer.metrics import score_captions
from trainer.state import STATE_FILE, StateError, load_state, rng_state, save_state, set_rng_state

BEST_FILE, LAST_FILE = "best.safetensors", "last.safetensors"
MONITORS = {"cider": "CIDEr", "bleu4": "BLEU-4", "loss": "val_loss"}
# Settings that must not change when resuming (they change the network or the batches).
_FIXED_ON_RESUME = (
    "decoder",
    "embed_dim",
    "hidden_dim",
    "attention_dim",
    "rnn",
    "num_layers",
    "feature_proj",
    "positions",
    "encoder",
    "grid",
    "finetune_encoder_blocks",
    "batch_size",
    "by_image",
    "seed",
    "min_count",
    "max_words",
)


@dataclass
class TrainConfig:
    out_dir: str = "runs/latest"
    # network
    decoder: str = "attention"  # "attention" (Show, Attend and Tell) or "show_tell"
    embed_dim: int = 256
    hidden_dim: int = 512
    attention_dim: int = 128
    rnn: str = "lstm"
    num_layers: int = 1
    dropout: float = 0.5
    feature_proj: int = 256  # attention: project the 1280-dim grid features first (0 = off, as in seed 003)
    positions: bool = True  # attention: learned embedding per grid cell, so the context knows where
    encoder: str = "efficientnet_lite0"
    encoder_weights: str | None = "default"
    grid: int | None = None
    # data
    min_count: int = 1  # words seen fewer times become <unk> (5 is usual for COCO)
    max_words: int = 30
    batch_size: int = 64  # captions per step
    by_image: bool | None = None  # batch all captions of some images together (None: yes for attention)
    use_cache: bool = True
    feature_cache: str | None = None  # folder for feature caches (default: photocap's cache folder)
    # optimisation
    epochs: int = 20
    lr: float = 1e-3
    finetune_encoder_blocks: int = 0  # >0: train the encoder's last N blocks too (the cache is bypassed)
    encoder_lr: float = 1e-4
    grad_clip: float = 5.0
    attention_lambda: float = 1.0  # doubly stochastic regularisation weight (seed 003 / the paper: 1)
    label_smoothing: float = 0.0
    lr_decay: float = 0.5  # on plateau of the monitored metric
    lr_patience: int = 1
    min_lr: float = 1e-5
    early_stop: int = 4  # epochs without improvement before stopping (0 = never)
    monitor: str = "cider"  # "cider" | "bleu4" | "loss"
    max_minutes: float | None = None  # time budget for the whole run (resumes included)
    max_steps: int | None = None
    # validation and bookkeeping
    val_images: int = 500  # images captioned for validation metrics each epoch
    max_len: int = 20
    seed: int = 0
    device: str = "auto"
    log_every: int = 20  # steps between "step" events
    save_every: int = 0  # also save the training state every N steps (0: at epoch ends only)
    name: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @property
    def batches_by_image(self) -> bool:
        return self.decoder == "attention" if self.by_image is None else self.by_image


@dataclass
class TrainEvent:
    """One thing that happened. ``kind`` is one of:

    ``info`` (a message), ``features`` (feature pass progress: ``step``/``total_steps``
    images), ``start``, ``step`` (``loss``, ``lr``, ``throughput`` captions/s, ``eta_s``),
    ``validation`` (``metrics``), ``checkpoint`` (``path``), ``paused``, ``cancelled``,
    ``done`` (``metrics`` of the best epoch, ``path`` of the best model).
    """

    kind: str
    step: int = 0
    epoch: int = 0
    total_steps: int | None = None
    loss: float | None = None
    lr: float | None = None
    throughput: float | None = None
    eta_s: float | None = None
    metrics: dict = field(default_factory=dict)
    message: str = ""
    path: str | None = None

    def __str__(self) -> str:
        parts = [f"[{self.kind}]"]
        if self.kind == "step":
            parts.append(
                f"epoch {self.epoch} step {self.step}/{self.total_steps or '?'} loss {self.loss:.4f} "
                f"lr {self.lr:.2e} {self.throughput:.0f} captions/s"
            )
            if self.eta_s is not None:
                parts.append(f"eta {format_duration(self.eta_s)}")
        elif self.kind == "features":
            parts.append(f"{self.step}/{self.total_steps} images")
            if self.eta_s is not None:
                parts.append(f"eta {format_duration(self.eta_s)}")
        elif self.kind == "validation":
            parts.append(
                f"epoch {self.epoch}: "
                + ", ".join(f"{k} {v:.4f}" for k, v in self.metrics.items() if isinstance(v, float))
            )
        if self.message:
            parts.append(self.message)
        if self.path:
            parts.append(str(self.path))
        return " ".join(parts)


class TrainControl:
    """Thread-safe pause/cancel, checked between steps (from a GUI button or a signal handler)."""

    def __init__(self):
        self._cancel = threading.Event()
        self._run = threading.Event()
        self._run.set()

    def cancel(self) -> None:
        self._cancel.set()
        self._run.set()

    def pause(self) -> None:
        self._run.clear()

    def resume(self) -> None:
        self._run.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def paused(self) -> bool:
        return not self._run.is_set()

    def wait(self, timeout: float = 0.2) -> None:
        self._run.wait(timeout)


@dataclass
class TrainResult:
    """What ``train`` returns (as the generator's return value) on the main and every other rank."""

    decoder: CaptionDecoder
    encoder: Encoder
    vocab: Vocabulary
    history: list[dict]
    best_metrics: dict


@dataclass
class BaseModel:
    """Where fine-tuning starts: an encoder, a decoder and the vocabulary it was grown to."""

    encoder: Encoder
    decoder: CaptionDecoder
    vocab: Vocabulary
    model_id: str = ""
    new_words: list[str] = field(default_factory=list)


def make_decoder(cfg: TrainConfig, vocab_size: int, feature_dim: int, locations: int) -> CaptionDecoder:
    attention = cfg.decoder == "attention"
    return build_decoder(
        DecoderConfig(
            kind=cfg.decoder,
            vocab_size=vocab_size,
            feature_dim=feature_dim,
            embed_dim=cfg.embed_dim,
            hidden_dim=cfg.hidden_dim,
            attention_dim=cfg.attention_dim,
            rnn=cfg.rnn,
            num_layers=cfg.num_layers,
            dropout=cfg.dropout,
            feature_proj=cfg.feature_proj if attention else 0,
            positions=locations if (attention and cfg.positions) else 0,
        )
    )


def caption_loss(
    decoder: torch.nn.Module,
    feats: torch.Tensor,
    captions: torch.Tensor,
    image_index: torch.Tensor,
    attention_lambda: float = 0.0,
    label_smoothing: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss to minimise, mean cross-entropy per real token). Padding never counts."""
    out = decoder(feats, captions, image_index)
    target = captions[:, 1:]
    logits = out.logits.reshape(-1, out.logits.shape[-1]).float()
    ce = F.cross_entropy(logits, target.reshape(-1), ignore_index=PAD_ID, label_smoothing=label_smoothing)
    loss = ce
    if out.alphas is not None and attention_lambda > 0:
        loss = loss + attention_lambda * AttentionDecoder.doubly_stochastic_penalty(out.alphas.float())
    if label_smoothing > 0:
        with torch.no_grad():
            ce = F.cross_entropy(logits, target.reshape(-1), ignore_index=PAD_ID)
    return loss, ce


@torch.no_grad()
def validation_loss(decoder: CaptionDecoder, pairs: CaptionPairs, features: FeatureSource, batch_size: int) -> float:
    was = decoder.training
    decoder.eval()
    total = tokens = 0.0
    for start in range(0, len(pairs), batch_size):
        b = pairs.batch(np.arange(start, min(len(pairs), start + batch_size)))
        _, ce = caption_loss(
            decoder, features(b.image_rows), b.captions.to(features.device), b.image_index.to(features.device)
        )
        n = b.num_tokens
        total += float(ce) * n
        tokens += n
    decoder.train(was)
    return total / max(tokens, 1)


def validate(
    decoder: CaptionDecoder,
    vocab: Vocabulary,
    dataset: CaptionDataset,
    val_idx: list[int],
    pairs: CaptionPairs,
    features: FeatureSource,
    cfg: TrainConfig,
    extra_metrics: Callable[[dict[str, str]], dict] | None = None,
) -> dict:
    """Validation loss on every val caption, and metrics of greedy captions for up to ``val_images``."""
    metrics: dict = {"val_loss": validation_loss(decoder, pairs, features, max(cfg.batch_size, 64))}
    rows = val_idx[: cfg.val_images]
    if rows:
        hyps = generate(decoder, vocab, features, rows, beam=1, max_len=cfg.max_len)
        by_path = {dataset.images[i].path: h for i, h in zip(rows, hyps)}
        refs = {dataset.images[i].path: dataset.images[i].captions for i in rows}
        scores = score_captions(refs, by_path, tokenizer="simple", meteor=False)
        metrics.update({k: scores[k] for k in ("BLEU-1", "BLEU-4", "ROUGE-L", "CIDEr")})
        if extra_metrics is not None:
            metrics.update(extra_metrics(by_path))
        metrics["example"] = f"{hyps[0]!r} (ref: {refs[dataset.images[rows[0]].path][0]!r})"
    return metrics


def _monitor_value(metrics: dict, monitor: str) -> float:
    key = MONITORS[monitor]
    v = metrics.get(key, float("nan"))
    return -v if monitor == "loss" else v


def train(
    cfg: TrainConfig,
    dataset: CaptionDataset,
    control: TrainControl | None = None,
    resume: bool = False,
    base: BaseModel | None = None,
    extra_metrics: Callable[[dict[str, str]], dict] | None = None,
    provenance: dict | None = None,
) -> Generator[TrainEvent, None, TrainResult | None]:
    """Train on ``dataset``'s train split, validate on its val split; yields events (see module doc).

    ``base``: start from this model (fine-tuning; see :mod:`trainer.finetune`).
    ``resume``: continue from ``out_dir/train_state.pt`` when it is there.
    ``extra_metrics``: more validation metrics from {image path: caption} (the synthetic benchmark's).
    """
    if cfg.monitor not in MONITORS:
        raise ValueError(f"monitor must be one of {', '.join(MONITORS)}")
    control = control or TrainControl()
    configure_threads()
    device = pick_device(cfg.device)
    dist_info = distributed.setup(device)
    device = distributed.device_for(dist_info, device)
    main = dist_info.is_main
    out = Path(cfg.out_dir)
    state_path = out / STATE_FILE
    state = load_state(state_path) if resume and state_path.is_file() else None
    if state is not None:
        old = state["config"]
        changed = [k for k in _FIXED_ON_RESUME if old.get(k) != getattr(cfg, k)]
        if changed:
            raise StateError(
                f"cannot resume {state_path}: these settings differ from the interrupted run: {', '.join(changed)}"
            )
    torch.manual_seed(cfg.seed)

    # ---- data, vocabulary, encoder -------------------------------------------------------
    train_idx = [i for i, r in enumerate(dataset.images) if r.split == "train"]
    val_idx = [i for i, r in enumerate(dataset.images) if r.split == "val"]
    if not train_idx:
        raise ValueError(f"{dataset.name} has no training images")
    if base is not None:
        encoder, vocab = base.encoder, base.vocab
    else:
        encoder = build_encoder(cfg.encoder, cfg.encoder_weights, cfg.grid)
        vocab = Vocabulary.build((c for i in train_idx for c in dataset.images[i].captions), cfg.min_count)
    if state is not None:
        vocab = Vocabulary(state["vocab"][4:])
    encoder = encoder.to(device)
    enc_params = encoder.set_trainable(cfg.finetune_encoder_blocks)
    use_cache = cfg.use_cache and not enc_params
    pooled = cfg.decoder != "attention"
    paths = [r.path for r in dataset.images]
    cache: FeatureCache | None = None
    if use_cache:
        if main:
            gen = compute_features(
                paths, encoder, dataset.name, cfg.feature_cache, device=device, should_stop=lambda: control.cancelled
            )
            while True:
                try:
                    p = next(gen)
                except StopIteration as stop:
                    cache = stop.value
                    break
                yield TrainEvent("features", step=p.done, total_steps=p.total, throughput=p.images_per_s, eta_s=p.eta_s)
            if cache is None:
                yield TrainEvent("cancelled", message="cancelled during the feature pass (nothing saved)")
                return None
            cache_limit.prune(keep=[cache.dir])  # the cache folder within its size setting, this run's kept
        distributed.barrier(dist_info)
        if not main:  # rank 0 has built it: this only opens it
            cache = ensure_features(paths, encoder, dataset.name, cfg.feature_cache, device=device)
        if cache is None:  # (rank 0 returned above when its feature pass was cancelled)
            return None
        failed = [i for i, p in enumerate(paths) if p in cache.failed]
        if failed:
            yield TrainEvent(
                "info",
                message=f"{len(failed)} images could not be read and are left out "
                f"(first: {paths[failed[0]]}: {cache.index['failed'][paths[failed[0]]]})",
            )
            bad = set(failed)
            train_idx = [i for i in train_idx if i not in bad]
            val_idx = [i for i in val_idx if i not in bad]
        locations = cache.index["locations"]
    else:
        with torch.no_grad():
            pre = encoder.preprocess
            locations = encoder(torch.zeros(1, 3, pre.size, pre.size, device=device)).spatial.shape[1]
    features = FeatureSource(paths, encoder, cache, pooled=pooled, device=device)
    train_pairs = CaptionPairs([dataset.images[i] for i in train_idx], vocab, train_idx, cfg.max_words)
    val_pairs = CaptionPairs([dataset.images[i] for i in val_idx], vocab, val_idx, cfg.max_words)

    # ---- model, optimiser, schedule --------------------------------------------------------
    if base is not None:
        decoder = base.decoder
    else:
        decoder = make_decoder(cfg, len(vocab), encoder.feature_dim, locations)
    decoder = decoder.to(device)
    groups: list[dict[str, Any]] = [{"params": list(decoder.parameters()), "lr": cfg.lr}]
    if enc_params:
        groups.append({"params": enc_params, "lr": cfg.encoder_lr})
    optimizer = torch.optim.Adam(groups)
    # fp16 autocast (CUDA GPUs without bf16) needs loss scaling; bf16 and fp32 do not
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda" and not torch.cuda.is_bf16_supported())
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="max", factor=cfg.lr_decay, patience=cfg.lr_patience, min_lr=cfg.min_lr
    )
    run_id = uuid.uuid4().hex[:8]
    epoch, done_in_epoch, step, elapsed = 0, 0, 0, 0.0
    best, best_epoch, bad_epochs, history = -math.inf, -1, 0, []
    best_metrics: dict = {}
    if state is not None:
        decoder.load_state_dict(state["decoder"])
        if enc_params:
            encoder.load_state_dict(state["encoder"])
        optimizer.load_state_dict(state["optimizer"])
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])
        run_id, epoch, done_in_epoch, step = state["run_id"], state["epoch"], state["batch_in_epoch"], state["step"]
        elapsed, best, best_epoch, bad_epochs = (
            state["elapsed"],
            state["best"],
            state["best_epoch"],
            state["bad_epochs"],
        )
        history, best_metrics = list(state["history"]), dict(state["best_metrics"])
    model = distributed.wrap(decoder, dist_info, device)
    prov = {
        "trainer": "photocap-train",
        "dataset": dataset.name,
        "run_id": run_id,
        "config": cfg.to_dict(),
        "encoder_finetuned": bool(enc_params),
        **(provenance or {}),
    }
    if base is not None:
        prov.setdefault("parent_model_id", base.model_id)

    def snapshot() -> dict:
        return {
            "config": cfg.to_dict(),
            "vocab": list(vocab.itos),
            "run_id": run_id,
            "epoch": epoch,
            "batch_in_epoch": done_in_epoch,
            "step": step,
            "elapsed": elapsed,
            "best": best,
            "best_epoch": best_epoch,
            "bad_epochs": bad_epochs,
            "history": history,
            "best_metrics": best_metrics,
            "decoder": decoder.state_dict(),
            "encoder": encoder.state_dict() if enc_params else {},
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": rng_state(),
            "scaler": scaler.state_dict() if scaler.is_enabled() else {},
        }

    def write_state() -> None:
        if main:
            save_state(state_path, snapshot())

    def write_model(name: str, metrics: dict) -> Path:
        return save_model(
            out / name,
            encoder,
            decoder,
            vocab,
            model_id=f"{run_id}-s{step}",
            name=cfg.name or f"{dataset.name} {cfg.decoder}",
            provenance={**prov, "epoch": epoch, "step": step, "metrics": _plain(metrics)},
            include_encoder=bool(enc_params),
        )

    per_epoch = len(
        train_pairs.epoch_batches(0, cfg.seed, cfg.batch_size, cfg.batches_by_image, dist_info.rank, dist_info.world)
    )
    total_steps = per_epoch * cfg.epochs
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    yield TrainEvent(
        "start",
        step=step,
        epoch=epoch,
        total_steps=total_steps,
        metrics={
            "steps_per_epoch": per_epoch,
            "train_captions": len(train_pairs),
            "train_images": len(train_idx),
            "val_images": len(val_idx),
            "vocab_size": len(vocab),
            "cached_features": features.cached,
        },
        message=(
            f"{'resuming' if state else 'training'} {cfg.decoder} on {dataset.name}: {len(train_pairs)} captions of "
            f"{len(train_idx)} images, {len(val_idx)} val images, vocabulary {len(vocab)}, "
            f"{'cached features' if features.cached else 'live encoder'}, {per_epoch} steps/epoch, device {device}"
            + (f", {dist_info.world} processes" if dist_info.enabled else "")
        ),
    )

    # ---- the loop ----------------------------------------------------------------------------
    decoder.train()
    t_start = time.perf_counter() - elapsed
    stop_reason = ""
    steps_speed = RateMeter(clock=time.perf_counter)  # steps/s over the whole run (a resumed one too): the ETA
    steps_speed.restart(0, elapsed)
    pairs_speed = RateMeter(clock=time.perf_counter)  # captions/s since the last report
    win_loss, win_n = 0.0, 0
    try:
        while epoch < cfg.epochs and not stop_reason:
            batches = train_pairs.epoch_batches(
                epoch, cfg.seed, cfg.batch_size, cfg.batches_by_image, dist_info.rank, dist_info.world
            )
            while done_in_epoch < len(batches):
                if control.paused and not control.cancelled:
                    t_pause = time.perf_counter()
                    yield TrainEvent("paused", step=step, epoch=epoch)
                    while control.paused and not control.cancelled:
                        control.wait()
                    t_start += time.perf_counter() - t_pause  # a pause does not use the time budget
                    steps_speed.skip(time.perf_counter() - t_pause)
                    pairs_speed.restart(pairs_speed.count)
                elapsed = time.perf_counter() - t_start
                over_budget = (cfg.max_minutes is not None and elapsed >= cfg.max_minutes * 60) or (
                    cfg.max_steps is not None and step >= cfg.max_steps
                )
                if distributed.any_rank(control.cancelled, dist_info, device):
                    write_state()
                    yield TrainEvent(
                        "cancelled",
                        step=step,
                        epoch=epoch,
                        path=str(state_path),
                        message="stopped; continue with --resume",
                    )
                    return None
                if distributed.any_rank(over_budget, dist_info, device):
                    stop_reason = "time or step budget reached"
                    break
                b = train_pairs.batch(batches[done_in_epoch])
                feats = features(b.image_rows, grad=bool(enc_params))
                with autocast(device):
                    loss, ce = caption_loss(
                        model,
                        feats,
                        b.captions.to(device),
                        b.image_index.to(device),
                        cfg.attention_lambda,
                        cfg.label_smoothing,
                    )
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                # DDP averages the decoder's gradients; the fine-tuned encoder blocks run outside
                # it (in the feature source), so theirs are averaged here: every rank stays equal.
                distributed.average_grads(enc_params, dist_info)
                if cfg.grad_clip > 0:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_([p for g in groups for p in g["params"]], cfg.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                step += 1
                done_in_epoch += 1
                pairs_speed.add(len(b.pairs))
                win_loss += float(ce.detach())
                win_n += 1
                if cfg.save_every and step % cfg.save_every == 0:
                    elapsed = time.perf_counter() - t_start
                    write_state()
                if step % cfg.log_every == 0 or done_in_epoch == len(batches):
                    elapsed = time.perf_counter() - t_start
                    steps_speed.update(step)
                    eta = steps_speed.eta(total_steps - step)
                    if cfg.max_minutes is not None:
                        eta = min(eta if eta is not None else math.inf, cfg.max_minutes * 60 - elapsed)
                    rate = pairs_speed.rate
                    yield TrainEvent(
                        "step",
                        step=step,
                        epoch=epoch,
                        total_steps=total_steps,
                        loss=win_loss / win_n,
                        lr=optimizer.param_groups[0]["lr"],
                        throughput=rate * dist_info.world,
                        eta_s=eta,
                    )
                    pairs_speed.restart(pairs_speed.count)
                    win_loss, win_n = 0.0, 0
            # ---- end of an epoch (or of the budget): validate, decide, save ----
            finished_epoch = done_in_epoch >= len(batches)
            if not finished_epoch and history and history[-1].get("step") == step:
                break  # the budget ran out right after a validation: nothing new to judge
            metrics = {}
            if main:
                metrics = (
                    validate(decoder, vocab, dataset, val_idx, val_pairs, features, cfg, extra_metrics)
                    if val_idx
                    else {}
                )
            value = _monitor_value(metrics, cfg.monitor) if metrics else float(step)  # no val set: latest is best
            value = distributed.broadcast_floats([value], dist_info, device)[0]
            metrics.update(
                epoch=epoch,
                step=step,
                lr=optimizer.param_groups[0]["lr"],
                elapsed_s=round(time.perf_counter() - t_start, 1),
            )
            history.append(_plain(metrics))
            yield TrainEvent("validation", step=step, epoch=epoch, total_steps=total_steps, metrics=metrics)
            improved = value > best
            if improved:
                best, best_epoch, bad_epochs, best_metrics = value, epoch, 0, _plain(metrics)
            else:
                bad_epochs += 1
            if main:
                write_model(LAST_FILE, metrics)
                if improved:
                    path = write_model(BEST_FILE, metrics)
                    yield TrainEvent("checkpoint", step=step, epoch=epoch, path=str(path), message="new best model")
            if finished_epoch:
                scheduler.step(value)
                epoch += 1
                done_in_epoch = 0
            elapsed = time.perf_counter() - t_start
            write_state()
            distributed.barrier(dist_info)
            if cfg.early_stop and bad_epochs >= cfg.early_stop:
                stop_reason = f"no improvement in {bad_epochs} epochs"
        yield TrainEvent(
            "done",
            step=step,
            epoch=epoch,
            total_steps=total_steps,
            metrics=best_metrics,
            path=str(out / BEST_FILE),
            message=stop_reason or "all epochs done",
        )
        return TrainResult(decoder, encoder, vocab, history, best_metrics)
    except GeneratorExit:
        # the consumer stopped iterating (e.g. the GUI worker was aborted): keep the progress
        write_state()
        raise


def _plain(metrics: dict) -> dict:
    """JSON/weights_only-safe copy: numbers and strings only."""
    out = {}
    for k, v in metrics.items():
        if isinstance(v, (bool, int, str)) or v is None or isinstance(v, float):
            out[k] = v
        elif isinstance(v, (np.floating, np.integer)):
            out[k] = v.item()
    return out


def run_to_end(
    gen: Iterator[TrainEvent], on_event: Callable[[TrainEvent], None] | None = None
) -> tuple[TrainEvent | None, TrainResult | None]:
    """Drive a training generator to its end (for scripts and tests): (last event, its result)."""
    last = None
    while True:
        try:
            ev = next(gen)
        except StopIteration as stop:
            return last, stop.value
        if on_event is not None:
            on_event(ev)
        last = ev

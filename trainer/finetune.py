"""Fine-tune an existing captioner on new captions (the user's edits), keeping what it knew.

The vocabulary grows for the new words (names of people, pets, places): old words keep
their ids and their embedding and output rows bit for bit; new words get new rows whose
output bias starts far below the rest, so before any training the grown model says
exactly what the base model said. Then the ordinary training loop runs from the base
weights with a smaller learning rate, early-stopped on the held-out photos.

    events = finetune("models/base.safetensors", dataset, FinetuneOptions(out_dir="runs/ft"))
    for ev in events: ...

``finetune_library(library_path, ...)`` does the same on the photo library's user captions
and registers the best model with the library as a new (inactive) model version.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import torch

from photocap.model import Captioner
from trainer.datasets.base import CaptionDataset
from trainer.datasets.library import load_library
from trainer.train import BEST_FILE, BaseModel, TrainConfig, TrainControl, TrainEvent, TrainResult, train

if TYPE_CHECKING:
    from photocap.library.library import Library

R = TypeVar("R")


@dataclass
class FinetuneOptions:
    """The training settings of a fine-tune. Each field is the :class:`TrainConfig` field of the
    same name (a test checks), with fine-tuning's defaults; the network's shape is the base
    model's (:func:`finetune_config`)."""

    out_dir: str = "runs/finetune"
    epochs: int = 10
    lr: float = 2e-4
    batch_size: int = 32
    min_count: int = 1  # a name the user wrote once is worth learning
    finetune_encoder_blocks: int = 0
    encoder_lr: float = 2e-5
    early_stop: int = 3
    max_minutes: float | None = None
    attention_lambda: float = 1.0
    device: str = "auto"
    seed: int = 0
    name: str = ""
    feature_cache: str | None = None

    @classmethod
    def from_config(cls, cfg: TrainConfig, **changes) -> FinetuneOptions:
        """The fine-tune settings of ``cfg``, with ``changes`` over them."""
        return cls(**{**{f.name: getattr(cfg, f.name) for f in fields(cls)}, **changes})


def grow_base(
    model: str | os.PathLike | Captioner, captions: list[str], min_count: int = 1, device: str = "cpu"
) -> BaseModel:
    """Load the base model and grow its vocabulary and decoder for the words of ``captions``."""
    cap = model if isinstance(model, Captioner) else Captioner.load(model, device=device)
    if cap.decoder is None or cap.vocab is None:
        raise ValueError("the base model has no caption decoder to fine-tune")
    vocab, new_words = cap.vocab.extended(captions, min_count)
    cap.decoder.grow_vocab(len(vocab))
    return BaseModel(cap.encoder, cap.decoder, vocab, cap.model_id, new_words)


def lift_new_words(decoder, old_size: int) -> None:
    """Raise the new words' output bias from far below to the rarest old word's level.

    ``grow_vocab`` puts them about 20 logits under every old word so the grown model says
    exactly what the base said. Adam moves a parameter by about ``lr`` per step, so from
    there a new name would need ~20/lr steps (100,000 at 2e-4) before it is ever said;
    from the rarest old word's level it is learnt in a few epochs. Old words' ranking is
    untouched (only the softmax normaliser moves a little).
    """
    with torch.no_grad():
        bias = decoder.fc.bias
        if bias.shape[0] > old_size > 4:
            bias[old_size:] = bias[4:old_size].min()


def finetune_config(base: BaseModel, opts: FinetuneOptions) -> TrainConfig:
    dc = base.decoder.config
    network: dict[str, Any] = dict(
        decoder=dc.kind,
        embed_dim=dc.embed_dim,
        hidden_dim=dc.hidden_dim,
        attention_dim=dc.attention_dim,
        rnn=dc.rnn,
        num_layers=dc.num_layers,
        dropout=dc.dropout,
        feature_proj=dc.feature_proj,
        positions=bool(dc.positions),
        encoder=base.encoder.name,
        grid=base.encoder.grid,
    )
    settings: dict[str, Any] = {**asdict(opts), "name": opts.name or "fine-tuned on my captions"}
    return TrainConfig(**settings, **network, log_every=5)


def finetune(
    model: str | os.PathLike | Captioner,
    dataset: CaptionDataset,
    opts: FinetuneOptions | None = None,
    control: TrainControl | None = None,
    resume: bool = False,
) -> Generator[TrainEvent, None, TrainResult | None]:
    """Fine-tune ``model`` on ``dataset`` (train split; val split for early stopping)."""
    opts = opts or FinetuneOptions()
    train_caps = [c for r in dataset.split("train") for c in r.captions]
    if not train_caps:
        raise ValueError("no captions to fine-tune on (the training split is empty)")
    base = grow_base(model, train_caps, opts.min_count, device="cpu")
    lift_new_words(base.decoder, len(base.vocab) - len(base.new_words))
    yield TrainEvent(
        "info",
        message=f"base model {base.model_id}: vocabulary {len(base.vocab)} "
        f"(+{len(base.new_words)} new words: {', '.join(base.new_words[:12])}"
        f"{' ...' if len(base.new_words) > 12 else ''})",
    )
    cfg = finetune_config(base, opts)
    return (
        yield from train(
            cfg,
            dataset,
            control,
            resume=resume,
            base=base,
            provenance={"parent_model_id": base.model_id, "new_words": base.new_words, "finetuned_on": dataset.name},
        )
    )


def finetune_library(
    library_path: str | os.PathLike,
    model: str | os.PathLike,
    opts: FinetuneOptions | None = None,
    control: TrainControl | None = None,
    resume: bool = False,
    register: bool = True,
) -> Iterator[TrainEvent]:
    """Fine-tune on the library's user captions, recording the run in the library and registering the
    best model as a new (inactive) model version. ``register=False`` leaves the library untouched."""
    opts = opts or FinetuneOptions()
    dataset = load_library(library_path)
    yield TrainEvent("info", message=dataset.summary())
    lib = _LibraryLink(library_path) if register else None
    run_id = None
    if lib is not None:
        from photocap.model.captioner import model_file_id

        base_id = model_file_id(model)
        params = {k: v for k, v in asdict(opts).items() if k != "feature_cache"}
        n_examples = dataset.num_pairs("train")
        run_id = lib.with_library(
            "start_training_run",
            lambda library: library.start_training_run(base_model_id=base_id, params=params, n_examples=n_examples),
        )
    status, result_id, metrics, error = "failed", None, {}, None
    try:
        last = None
        for ev in finetune(model, dataset, opts, control, resume):
            last = ev
            yield ev
        if last is not None and last.kind == "cancelled":
            status = "cancelled"
        elif last is not None and last.kind == "done":
            status, metrics = "done", _numbers(last.metrics)
            if lib is not None and last.path is not None and Path(last.path).is_file():
                ev, result_id = lib.register(last.path, metrics, opts)
                yield ev
    except GeneratorExit:
        status = "cancelled"
        raise
    except Exception as exc:
        error = f"{exc.__class__.__name__}: {exc}"
        raise
    finally:
        if lib is not None and run_id is not None:
            lib.finish_run(run_id, status, result_id, metrics, error)


def _numbers(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


class _LibraryLink:
    """Thin and defensive: the library is opened for each call and closed again, and a failure
    there never loses the trained model (it is reported, the file stays on disk)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = path
        self.errors: list[str] = []

    def with_library(self, what: str, fn: Callable[[Library], R]) -> R | None:
        """``fn(library)`` on the library opened for it; ``what`` names it in :attr:`errors`."""
        try:
            from photocap.library import open_library

            lib = open_library(self.path)
            try:
                return fn(lib)
            finally:
                lib.close()
        except Exception as exc:
            self.errors.append(f"{what}: {exc}")
            return None

    def finish_run(
        self, run_id: int, status: str, model_id: str | None, metrics: dict, error: str | None = None
    ) -> None:
        self.with_library(
            "finish_training_run",
            lambda library: library.finish_training_run(
                run_id=run_id, status=status, result_model_id=model_id, metrics=metrics, error=error
            ),
        )

    def register(self, model_path: str, metrics: dict, opts: FinetuneOptions) -> tuple[TrainEvent, str | None]:
        from photocap.model.captioner import model_file_id
        from photocap.model.checkpoint import read_meta

        meta = read_meta(model_path)
        model_id = model_file_id(model_path)
        n_errors = len(self.errors)
        name = meta.get("name") or opts.name
        parent = meta.get("provenance", {}).get("parent_model_id")
        self.with_library(
            "register_model_version",
            lambda library: library.register_model_version(
                model_id=model_id, path=str(model_path), name=name, parent_model_id=parent, metrics=metrics
            ),
        )
        if len(self.errors) > n_errors:
            return TrainEvent(
                "info",
                path=model_path,
                message=f"the model was saved but could not be registered with the library: {self.errors[-1]}",
            ), None
        return TrainEvent(
            "info",
            path=model_path,
            message="registered with the library as a new model version (not active until you choose it)",
        ), model_id


__all__ = [
    "BEST_FILE",
    "FinetuneOptions",
    "finetune",
    "finetune_config",
    "finetune_library",
    "grow_base",
    "lift_new_words",
]

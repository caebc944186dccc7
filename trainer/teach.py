"""Teach photocap the user's own words: from the library's captions to a new model version.

    for ev in teach("~/.local/share/photocap/library.sqlite"):
        print(ev)                     # the same TrainEvents as photocap-train
    # last event: "done" (.metrics["model_id"], .path) or "cancelled" (resume with resume=True)

With no active trained model, teaching builds an attention decoder from scratch on the
offline encoder's cached features; with one, it fine-tunes that model (its vocabulary grows
for the new words). Either way it runs :func:`trainer.train.train` (there is no second
training loop), then calibrates how sure the new model may be (see
:mod:`photocap.model.confidence`), writes the model file into the library's ``models/``
folder and registers it as a new, inactive version.

The settings follow the amount of data (see :func:`plan_training`), so the same defaults work
for 10 captions and for 100,000. The work happens in ``teaching/`` beside the library; an
interrupted teaching (cancelled, or the app quit) keeps its state there and
``teach(..., resume=True)`` continues it with the same captions and settings.

Held-out photos follow the one rule in :mod:`trainer.datasets.library` (also in the README);
when none is held out (under 20 captioned photos) the scores are measured on the taught photos.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trainer.datasets.base import CaptionDataset
from trainer.datasets.library import MIN_HELD_OUT, UserCaption, held_out_rule, user_caption_dataset
from trainer.finetune import _LibraryLink, _numbers
from trainer.train import BEST_FILE, TrainConfig, TrainControl, TrainEvent

TEACHING_DIR = "teaching"
RUN_DIR = "current"
PLAN_FILE = "teach.json"
MIN_PHOTOS = 2


@dataclass
class TeachOptions:
    minutes: float | None = None  # time budget; None = the default rule for the data size
    include_imported: bool = True  # captions with source 'imported' teach too
    device: str = "auto"
    seed: int = 0
    # TrainConfig fields to set over the size rule (tests and benchmarks: tiny networks, step limits)
    overrides: dict = field(default_factory=dict)


@dataclass
class TeachPlan:
    """Everything a teaching needs to run and to be resumed identically (written to teach.json)."""

    started: str
    library: str
    captions: list[list[Any]]  # [photo_id, path, text, split]
    base_model_id: str | None = None
    base_model_path: str | None = None
    config: dict = field(default_factory=dict)
    epoch: int = 0
    options: dict = field(default_factory=dict)

    @property
    def n_captions(self) -> int:
        return len(self.captions)


# ---- where things live -------------------------------------------------------------------------
def teaching_dir(library_path: str | os.PathLike) -> Path:
    return Path(library_path).expanduser().resolve().parent / TEACHING_DIR


def run_dir(library_path: str | os.PathLike) -> Path:
    return teaching_dir(library_path) / RUN_DIR


def _read_plan(library_path) -> TeachPlan | None:
    f = run_dir(library_path) / PLAN_FILE
    try:
        return TeachPlan(**json.loads(f.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _write_plan(library_path, plan: TeachPlan) -> None:
    d = run_dir(library_path)
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / (PLAN_FILE + ".tmp")
    tmp.write_text(json.dumps(asdict(plan)))
    os.replace(tmp, d / PLAN_FILE)


def interrupted_teaching(library_path: str | os.PathLike) -> dict | None:
    """What an interrupted teaching left to resume: {"started", "epoch", "captions",
    "base_model_id"}; None when there is nothing to resume. Reads one small JSON file."""
    from trainer.state import STATE_FILE

    plan = _read_plan(library_path)
    if plan is None or not (run_dir(library_path) / STATE_FILE).is_file():
        return None
    return {
        "started": plan.started,
        "epoch": plan.epoch,
        "captions": plan.n_captions,
        "base_model_id": plan.base_model_id,
    }


def discard_interrupted(library_path: str | os.PathLike) -> None:
    """Forget an interrupted teaching (its state and partial models)."""
    shutil.rmtree(run_dir(library_path), ignore_errors=True)


# ---- settings that follow the data -------------------------------------------------------------
def default_minutes(n_captions: int) -> float:
    """Time budget: 3 minutes for a few dozen captions, a minute more per 250, at most an hour.

    (A first rule, 3 minutes + 1 per 2,000 captions, left 800 captions 177 steps on a loaded
    2-core machine and a worse model than 400 captions got: bench/teach_curve.py.)"""
    return round(min(60.0, 3.0 + n_captions / 250), 1)


def plan_training(
    n_train: int, n_val: int, out_dir: str, minutes: float | None, device: str = "auto", seed: int = 0
) -> TrainConfig:
    """Training settings for ``n_train`` captions (from scratch).

    * batch 8 below 200 captions, 16 below 2,000, 32 below 20,000, else 64: small data
      needs many small steps;
    * epochs: enough for about 600 steps (at least 3, at most 200), stopped earlier by the
      time budget;
    * early stopping only when an epoch has 25 steps or more: with one or a few steps per epoch
      the held-out score is noise and stopping on it stops before anything is learnt
      (measured: FACTS.md, "Teaching from a user's own captions");
    * the best epoch is chosen by held-out CIDEr from 20 held-out photos, by held-out loss below;
    * a smaller network below 2,000 captions (it learns faster and overfits less), dropout 0.3
      and a light attention regulariser (0.1), the settings measured on 27 captions.
    """
    batch = 8 if n_train < 200 else 16 if n_train < 2000 else 32 if n_train < 20000 else 64
    steps = max(1, math.ceil(n_train / batch))
    epochs = int(min(200, max(3, math.ceil(600 / steps))))
    small = n_train < 2000
    return TrainConfig(
        out_dir=out_dir,
        decoder="attention",
        embed_dim=128 if small else 256,
        hidden_dim=256 if small else 512,
        attention_dim=128,
        feature_proj=128 if small else 256,
        dropout=0.3,
        min_count=1,
        batch_size=batch,
        by_image=False,
        epochs=epochs,
        lr=1e-3,
        attention_lambda=0.1,
        early_stop=0 if steps < 25 else 5,
        lr_patience=1 if steps >= 25 else 3,
        monitor="cider" if n_val >= 20 else "loss",  # CIDEr on a handful of photos is noise
        max_minutes=minutes if minutes is not None else default_minutes(n_train),
        val_images=min(200, max(1, n_val)),
        log_every=max(1, min(20, steps)),
        device=device,
        seed=seed,
        name="taught on my captions",
    )


def _dataset(plan: TeachPlan) -> CaptionDataset:
    rows = [UserCaption(pid, path, text, split) for pid, path, text, split in plan.captions]
    return user_caption_dataset(rows, name="library")


# ---- teaching ---------------------------------------------------------------------------------
def _new_plan(library_path, opts: TeachOptions) -> TeachPlan:
    from photocap.library import open_library
    from photocap.library.values import SETTING_TEACH_IMPORTED

    lib = open_library(library_path)
    try:  # imported descriptions teach unless this run or the library's setting leaves them out
        rows = lib.user_captions(include_imported=opts.include_imported and lib.get_setting(SETTING_TEACH_IMPORTED))
        active = lib.active_model()
    finally:
        lib.close()
    caps = held_out_rule([UserCaption(str(r.photo_id), r.path, r.text, r.split) for r in rows])
    photos = {c.photo_id for c in caps}
    if len(photos) < MIN_PHOTOS:
        raise ValueError(
            f"write captions for at least {MIN_PHOTOS} photos first ({len(photos)} so far): "
            "teaching learns from the captions you wrote"
        )
    base_path = active.path if active is not None and active.path and Path(active.path).is_file() else None
    n_train = sum(1 for c in caps if c.split == "train")
    n_val = len({c.photo_id for c in caps if c.split == "val"})
    cfg = plan_training(n_train, n_val, str(run_dir(library_path)), opts.minutes, opts.device, opts.seed)
    for key, value in opts.overrides.items():
        if not hasattr(cfg, key):
            raise ValueError(f"unknown training setting {key!r}")
        setattr(cfg, key, value)
    return TeachPlan(
        started=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        library=str(library_path),
        captions=[[c.photo_id, c.path, c.text, c.split] for c in caps],
        base_model_id=active.model_id if active is not None and base_path else None,
        base_model_path=base_path,
        config=cfg.to_dict(),
        options=asdict(opts),
    )


def teach(
    library_path: str | os.PathLike,
    opts: TeachOptions | None = None,
    control: TrainControl | None = None,
    resume: bool = False,
) -> Iterator[TrainEvent]:
    """Teach from the library's user captions; yields :class:`trainer.train.TrainEvent` (see module doc).

    The last event is ``done`` (``.metrics["model_id"]`` of the newly registered, inactive
    version, ``.path`` its file) or ``cancelled`` (the state is kept: ``resume=True``
    continues it). Raises ValueError when there is nothing to teach from or to resume.
    """
    library_path = Path(library_path).expanduser().resolve()
    if resume:
        plan = _read_plan(library_path)
        if plan is None:
            raise ValueError("there is no interrupted teaching to continue")
    else:
        discard_interrupted(library_path)
        plan = _new_plan(library_path, opts or TeachOptions())
        _write_plan(library_path, plan)
    cfg = TrainConfig.from_dict(plan.config)
    cfg.out_dir = str(run_dir(library_path))
    if resume and opts is not None and opts.minutes is not None:
        cfg.max_minutes = opts.minutes  # a longer budget may be given to a resumed teaching
    dataset = _dataset(plan)
    counts = dataset.counts()
    how = f"fine-tuning {plan.base_model_id}" if plan.base_model_path else "a new model from scratch"
    yield TrainEvent(
        "info",
        message=f"teaching {how} from {plan.n_captions} of your captions "
        f"({counts['train']} photos to learn from, {counts['val']} held out)",
    )
    lib = _LibraryRecorder(library_path)
    run_id = lib.start(plan)
    status, last, error = "failed", None, None
    events = _train_events(plan, cfg, dataset, control, resume)
    try:
        for ev in events:
            if ev.kind == "validation":
                plan.epoch = ev.epoch + 1
                _write_plan(library_path, plan)
            if ev.kind == "done":
                last = ev  # the model is registered below; our own "done" comes last
                continue
            if ev.kind == "cancelled":
                status = "cancelled"
            yield ev
        if last is not None:
            yield TrainEvent("info", message="calibrating how sure the new model may be")
            info = _finish(library_path, plan, cfg, dataset, last)
            status = "done"
            lib.finish(run_id, "done", info.model_id, last.metrics)
            run_id = None
            discard_interrupted(library_path)
            yield TrainEvent(
                "done",
                step=last.step,
                epoch=last.epoch,
                total_steps=last.total_steps,
                metrics={**last.metrics, "model_id": info.model_id},
                path=info.path,
                message=f"registered as {info.name!r} ({info.model_id}); not in use until you choose it",
            )
    except GeneratorExit:
        status = "cancelled"
        raise
    except Exception as exc:
        error = f"{exc.__class__.__name__}: {exc}"
        raise
    finally:
        events.close()  # a consumer that stops early: the training state is saved now, not at GC
        if run_id is not None:
            lib.finish(run_id, status, None, {}, error)


def _train_events(plan: TeachPlan, cfg: TrainConfig, dataset: CaptionDataset, control, resume: bool):
    from trainer.train import train

    if plan.base_model_path:
        from trainer.finetune import FinetuneOptions, finetune

        opts = FinetuneOptions.from_config(cfg, lr=2e-4)
        return finetune(plan.base_model_path, dataset, opts, control, resume=resume)
    return train(cfg, dataset, control, resume=resume, provenance={"taught_from": "library"})


def _finish(library_path: Path, plan: TeachPlan, cfg: TrainConfig, dataset: CaptionDataset, done: TrainEvent):
    """Calibrate the best model, write it into the library's models folder, register it."""
    import torch

    from photocap.library import open_library
    from photocap.model import Captioner, decode, save_model
    from photocap.model import confidence as conf
    from trainer.features import ensure_features

    best = Path(done.path or Path(cfg.out_dir) / BEST_FILE)
    cap = Captioner.load(best, device="cpu")
    if cap.decoder is None or cap.vocab is None:
        raise ValueError(f"{best} has no caption decoder")
    paths = [r.path for r in dataset.images]
    cache = ensure_features(paths, cap.encoder, dataset.name, cfg.feature_cache)
    usable = [i for i, p in enumerate(paths) if cache.has(p)]
    train_rows = [i for i in usable if dataset.images[i].split == "train"]
    val_rows = [i for i in usable if dataset.images[i].split == "val"]

    def feats(rows, pooled):
        return cache.get([cache.row_of[paths[i]] for i in rows], pooled=pooled)

    taught = feats(train_rows, True)
    prototypes = conf.choose_prototypes(taught, seed=cfg.seed)
    # familiar distances: held-out photos to the taught ones, and each taught photo to its nearest
    # *other* taught photo (leave-one-out: as many examples as taught photos, not just the held-out few)
    distances = conf.nearest_distance(feats(val_rows, True), prototypes.float()).tolist() if val_rows else []
    if len(train_rows) > 1:
        distances += conf.nearest_distance(taught[:2000], taught[:2000], exclude_self=True).tolist()
    lp_rows = val_rows if len(val_rows) >= MIN_HELD_OUT else (val_rows + train_rows)[:500]
    mean_lp = []
    with torch.inference_mode():
        for start in range(0, len(lp_rows), 64):
            chunk = lp_rows[start : start + 64]
            out = decode(cap.decoder, feats(chunk, not cap.decoder.has_attention), beam=3, max_len=cfg.max_len)
            mean_lp += [lp / max(n, 1) for lp, n in zip(out.logprob, out.lengths)]
    calibration = conf.calibrate(distances, mean_lp)
    lib = open_library(library_path)
    try:
        folder = lib.models_folder
        model_id = uuid.uuid4().hex[:12]
        n = plan.n_captions
        name = f"Taught {_dt.date.today().isoformat()} · {n} caption{'s' * (n != 1)}"
        prov = dict(cap.meta.get("provenance") or {})
        prov.update(
            taught_from="library",
            captions=n,
            held_out=len(val_rows),
            base_model_id=plan.base_model_id,
            parent_model_id=plan.base_model_id,
            started=plan.started,
        )
        path = save_model(
            folder / f"{model_id}.safetensors",
            cap.encoder,
            cap.decoder,
            cap.vocab,
            model_id=model_id,
            name=name,
            provenance=prov,
            calibration=calibration,
            taught=prototypes,
        )
        metrics = {**_numbers(done.metrics), "captions": n, "held_out": len(val_rows)}
        return lib.register_model_version(
            model_id, path, name=name, parent_model_id=plan.base_model_id, metrics=metrics
        )
    finally:
        lib.close()


class _LibraryRecorder(_LibraryLink):
    """Training runs in the library; a failure to record one never loses the teaching."""

    def start(self, plan: TeachPlan) -> int | None:
        params = {"teach": True, **{k: plan.config.get(k) for k in ("batch_size", "epochs", "lr", "max_minutes")}}
        return self.with_library(
            "start_training_run",
            lambda library: library.start_training_run(
                base_model_id=plan.base_model_id, params=params, n_examples=plan.n_captions
            ),
        )

    def finish(
        self, run_id: int | None, status: str, model_id: str | None, metrics: dict, error: str | None = None
    ) -> None:
        if run_id is not None:
            self.finish_run(run_id, status, model_id, _numbers(metrics), error)


# ---- compare, import ------------------------------------------------------------------------------
@dataclass
class CompareRow:
    photo_id: int
    path: str
    reference: str | None  # the user's caption (held-out photos), or None
    current: str | None  # what the active model (or the tagger) says / the photo's current caption
    candidate: str  # what the new model says
    candidate_confidence: float | None


@dataclass
class Comparison:
    held_out: list[CompareRow]
    unedited: list[CompareRow]
    scores: dict[str, dict[str, float]]  # {"current": {"bleu4", "cider"}, "candidate": {...}} on held_out


def compare(library_path: str | os.PathLike, model_id: str, limit: int = 12, device: str = "cpu") -> Comparison:
    """The new model next to the active one: on held-out photos the user captioned (with BLEU-4 /
    CIDEr against the user's captions) and on some photos nobody edited (today's caption vs new)."""
    from photocap.engine import CaptionEngine
    from photocap.library import open_library
    from photocap.library.search import PhotoFilter
    from photocap.library.values import AUTOMATIC_SOURCES
    from trainer.metrics import score_captions

    lib = open_library(library_path)
    try:
        versions = {v.model_id: v for v in lib.model_versions()}
        if model_id not in versions or not versions[model_id].path:
            raise KeyError(f"unknown model {model_id!r}")
        active = lib.active_model()
        rows = lib.user_captions(include_imported=True)
        ids = lib.list_photo_ids(PhotoFilter(sources=AUTOMATIC_SOURCES), order="-added", limit=limit)
        unedited = lib.photos_by_ids(ids)
    finally:
        lib.close()
    # the photos teaching held out (the same rule); small libraries hold none out: the taught ones then
    split = {
        r.photo_id: r.split
        for r in held_out_rule([UserCaption(str(r.photo_id), r.path, r.text, r.split) for r in rows])
    }
    held = [r for r in rows if split[str(r.photo_id)] == "val"] or rows
    held = held[:limit]
    new = CaptionEngine.create(versions[model_id].path, device=device)
    cur_path = active.path if active is not None and active.path and Path(active.path).is_file() else None
    current = CaptionEngine.create(cur_path, device=device) if active is None or active.model_id != model_id else new

    def describe(engine, paths):
        out = {}
        for item in engine.caption_paths(paths):
            out[item.path] = item.description
        return out

    held_paths = [str(Path(r.path)) for r in held]
    new_held = describe(new, held_paths)
    cur_held = describe(current, held_paths)
    compared = []
    for r, p in zip(held, held_paths):
        nd, cd = new_held.get(p), cur_held.get(p)
        if nd is None:
            continue
        compared.append(CompareRow(r.photo_id, r.path, r.text, cd.text if cd else None, nd.text, nd.confidence))
    un_paths = [str(Path(p.path)) for p in unedited]
    new_un = describe(new, un_paths)
    un_rows = [
        CompareRow(p.id, p.path, None, p.caption, new_un[q].text, new_un[q].confidence)
        for p, q in zip(unedited, un_paths)
        if q in new_un
    ]
    scores: dict[str, dict[str, float]] = {}
    if compared:
        refs = {str(i): [r.reference] for i, r in enumerate(compared)}
        for key in ("current", "candidate"):
            hyps = {str(i): getattr(r, key) or "" for i, r in enumerate(compared)}
            s = score_captions(refs, hyps, tokenizer="simple", meteor=False)
            scores[key] = {"bleu4": float(s["BLEU-4"]), "cider": float(s["CIDEr"])}
    return Comparison(compared, un_rows, scores)


class ImportRefused(ValueError):
    """A model file that cannot be brought into the library; the message says why in one line."""


def import_model(library_path: str | os.PathLike, file: str | os.PathLike):
    """Validate a model file, copy it into the library's models folder and register it
    (inactive). Returns its ModelVersionInfo; raises :class:`ImportRefused` with the reason."""
    from photocap.library import open_library
    from photocap.model import Captioner, CheckpointError, EncoderWeightsError

    src = Path(file).expanduser()
    if not src.is_file():
        raise ImportRefused(f"{src}: no such file")
    try:
        cap = Captioner.load(src, device="cpu")
    except (CheckpointError, EncoderWeightsError) as exc:
        raise ImportRefused(_one_line(str(exc))) from exc
    except Exception as exc:
        raise ImportRefused(_one_line(f"{src} cannot be loaded as a photocap model: {exc}")) from exc
    if cap.decoder is None:
        raise ImportRefused(f"{src} has no caption decoder")
    model_id = cap.model_id
    meta = cap.meta
    lib = open_library(library_path)
    try:
        known = {v.model_id: v for v in lib.model_versions()}
        old_path = known[model_id].path if model_id in known else None
        if old_path and Path(old_path).is_file():
            raise ImportRefused(f"{src.name} is already in the library as {known[model_id].name or model_id!r}")
        folder = lib.models_folder
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / f"{model_id}.safetensors"
        tmp = folder / f".{model_id}.importing"
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
        prov = meta.get("provenance") or {}
        metrics = {
            k: v
            for k, v in (prov.get("metrics") or {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        return lib.register_model_version(
            model_id,
            dest,
            name=meta.get("name") or src.stem,
            parent_model_id=prov.get("parent_model_id"),
            metrics=metrics,
        )
    finally:
        lib.close()


def _one_line(text: str) -> str:
    return " ".join(text.split())


__all__ = [
    "CompareRow",
    "Comparison",
    "ImportRefused",
    "TeachOptions",
    "compare",
    "default_minutes",
    "discard_interrupted",
    "held_out_rule",
    "import_model",
    "interrupted_teaching",
    "plan_training",
    "teach",
]

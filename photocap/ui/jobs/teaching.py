"""The GUI-side front of teaching: the ``teach`` lane follows the trainer's generators (the
same ones as ``photocap teach`` / ``photocap-train``: there is no second training loop), run
in a child process by :mod:`trainer.process` so that training never holds the window's GIL;
the ``teach-side`` lane compares a new model with the active one and validates imported files.

Training events become plain :class:`TeachProgress` values, throttled here to ~10 per second
(every loss point and held-out score is kept for the plot; the rest is the newest). Pause,
resume and cancel reach the child between steps; a wish made before the child exists is
kept and applied when it does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from photocap.progress import RateMeter
from photocap.ui.jobs.lanes import Job, JobContext, Lane

if TYPE_CHECKING:
    from trainer.process import TrainingProcess
    from trainer.teach import Comparison

UPDATES_PER_S = 10
# Trainer events that are shown at once, not merged into the next throttled update.
_PROMPT = ("start", "validation", "checkpoint", "paused", "cancelled", "done", "info")


@dataclass
class TeachProgress:
    """What the Teach tab shows; ``losses``/``scores`` hold only the points new since the last one."""

    phase: str = "starting"  # starting | features | training | paused | validating | done | cancelled
    step: int = 0
    total_steps: int | None = None
    epoch: int = 0
    eta_s: float | None = None
    steps_per_s: float = 0.0
    features_done: int = 0
    features_total: int = 0
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, training loss)
    scores: list[tuple[int, float]] = field(default_factory=list)  # (step, held-out CIDEr)
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TeachOutcome:
    kind: str  # "done" | "cancelled"
    model_id: str | None = None  # registered (inactive) when done
    path: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    message: str = ""


@dataclass(frozen=True)
class ImportOutcome:
    file: str
    info: Any = None  # ModelVersionInfo when accepted
    refused: str | None = None  # photocap's one-line reason when not


class ControlHolder:
    """The pause/cancel wish from the GUI, applied to the trainer's control once it exists."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._control: TrainingProcess | None = None
        self.paused = False
        self.cancelled = False

    def attach(self, control: TrainingProcess) -> None:  # the lane's thread
        with self._lock:
            self._control = control
            if self.cancelled:
                control.cancel()
            elif self.paused:
                control.pause()

    def set_paused(self, paused: bool) -> None:  # the GUI thread
        with self._lock:
            self.paused = paused
            if self._control is not None:
                self._control.pause() if paused else self._control.resume()

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            if self._control is not None:
                self._control.cancel()


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def follow(
    events: Iterable[Any], now: Callable[[], float] = time.monotonic
) -> Generator[TeachProgress, None, TeachOutcome]:
    """Turn trainer events into throttled :class:`TeachProgress` values (a generator whose
    return value is the :class:`TeachOutcome`). Losses and scores are never dropped."""
    p = TeachProgress()
    rate = RateMeter(window=20.0, min_span=1.0, clock=now)
    last_emit = -1e9
    outcome = TeachOutcome("cancelled", message="stopped")
    for ev in events:
        kind = ev.kind
        if kind == "features":
            p.phase, p.features_done, p.features_total, p.eta_s = "features", ev.step, ev.total_steps or 0, ev.eta_s
        elif kind == "start":
            p.phase, p.step, p.total_steps, p.epoch = "training", ev.step, ev.total_steps, ev.epoch
            rate.restart(ev.step)
            if ev.message:
                p.messages.append(ev.message)
        elif kind == "step":
            if p.phase == "paused":  # resumed: the pause is not part of the speed
                rate.restart(p.step)
            p.phase, p.step, p.total_steps, p.epoch, p.eta_s = "training", ev.step, ev.total_steps, ev.epoch, ev.eta_s
            rate.update(ev.step)
            p.steps_per_s = rate.rate
            if ev.loss is not None:
                p.losses.append((ev.step, float(ev.loss)))
        elif kind == "validation":
            score = ev.metrics.get("CIDEr")
            if isinstance(score, (int, float)):
                p.scores.append((ev.step, float(score)))
            p.phase = "training"
        elif kind == "paused":
            p.phase = "paused"
        elif kind == "info" and ev.message:
            p.messages.append(ev.message)
        elif kind == "cancelled":
            p.phase = "cancelled"
            outcome = TeachOutcome("cancelled", path=ev.path, message=ev.message or "stopped")
        elif kind == "done":
            p.phase = "done"
            metrics = dict(ev.metrics or {})
            outcome = TeachOutcome("done", metrics.get("model_id"), ev.path, _numbers(metrics), ev.message)
        t = now()
        if kind in _PROMPT or t - last_emit >= 1.0 / UPDATES_PER_S:
            last_emit = t
            yield p
            p = TeachProgress(
                p.phase, p.step, p.total_steps, p.epoch, p.eta_s, p.steps_per_s, p.features_done, p.features_total
            )
    if p.losses or p.scores or p.messages:
        yield p
    return outcome


# ---- jobs (run on the teach lanes) ------------------------------------------------------------
def _in_process(
    ctx: JobContext, holder: ControlHolder, recipe: str, *args: object
) -> Generator[TeachProgress, None, TeachOutcome]:
    """Run a training recipe in a child process (:mod:`trainer.process`: it shares no GIL with
    the window) and follow its events; returns the :class:`TeachOutcome`."""
    from trainer.process import TrainingFailed, TrainingProcess

    run = TrainingProcess(recipe, *args)
    run.start()
    holder.attach(run)
    try:
        return (yield from follow(run.events(should_stop=ctx.stop_requested)))
    except TrainingFailed as exc:
        raise ValueError(str(exc)) from None
    finally:
        run.close()  # a run stopped early (the app quits) saves its state first


def teach_job(
    ctx: JobContext, library_path: str, holder: ControlHolder, resume: bool, options: dict[str, Any]
) -> Generator[TeachProgress, None, TeachOutcome]:
    """``trainer.teach.teach`` on the library's user captions (the same generator as ``photocap teach``)."""
    return (yield from _in_process(ctx, holder, "teach", library_path, options, resume))


def dataset_job(
    ctx: JobContext,
    library_path: str,
    holder: ControlHolder,
    annotations: str,
    images: str | None,
    fmt: str,
    minutes: float | None,
    name: str,
    config: dict[str, Any],
) -> Generator[TeachProgress, None, TeachOutcome]:
    """``trainer.train.train`` on a COCO / Flickr / Karpathy dataset, the result imported as a version."""
    return (
        yield from _in_process(ctx, holder, "dataset", library_path, annotations, images, fmt, minutes, name, config)
    )


def compare_job(ctx: JobContext, library_path: str, model_id: str, limit: int, device: str) -> Comparison:
    from trainer.teach import compare

    return compare(library_path, model_id, limit=limit, device=device)


def import_job(ctx: JobContext, library_path: str, file: str) -> ImportOutcome:
    from trainer.teach import import_model

    try:
        return ImportOutcome(file, info=import_model(library_path, file))
    except ValueError as exc:  # the refusals: photocap's own one-line reason
        return ImportOutcome(file, refused=str(exc))


def interrupted_job(ctx: JobContext, library_path: str) -> dict[str, Any] | None:
    from trainer.teach import interrupted_teaching

    return interrupted_teaching(library_path)


def discard_job(ctx: JobContext, library_path: str) -> None:
    from trainer.teach import discard_interrupted

    discard_interrupted(library_path)


# ---- the service ------------------------------------------------------------------------------
class TeachService(QObject):
    started = Signal(str)  # "teach" | "dataset"
    progress = Signal(object)  # TeachProgress (throttled)
    paused_changed = Signal(bool)
    finished = Signal(object)  # TeachOutcome (also when cancelled)
    failed = Signal(str)  # a run could not start or failed: a one-line reason
    error = Signal(str)  # a side job (interrupted runs, discard) failed
    interrupted = Signal(object)  # {"started", "epoch", "captions"} or None
    compared = Signal(object)  # trainer.teach.Comparison
    compare_failed = Signal(str)
    imported = Signal(object)  # ImportOutcome

    def __init__(self, library_path: str, lane: Lane | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.library_path = library_path
        self.lane = lane or Lane("teach", self, nice=5)  # training runs (a paused run waits here)
        self.side = Lane("teach-side", self, nice=5)  # compare, import, interrupted runs: never behind a run
        self.options: dict = {}  # TeachOptions fields for the next run (tests make runs tiny)
        self.dataset_config: dict = {}  # TrainConfig fields for "Train from a dataset…"
        self._run: Job | None = None
        self._holder: ControlHolder | None = None
        self.kind = ""

    @property
    def running(self) -> bool:
        return self._run is not None

    @property
    def paused(self) -> bool:
        return self._holder is not None and self._holder.paused

    # ---- runs -------------------------------------------------------------------------------
    def teach(self, resume: bool = False) -> Job | None:
        return self._start("teach", teach_job, resume, dict(self.options))

    def train_dataset(
        self, annotations: str, images: str | None, fmt: str, minutes: float | None, name: str
    ) -> Job | None:
        return self._start("dataset", dataset_job, annotations, images, fmt, minutes, name, dict(self.dataset_config))

    def _start(
        self, kind: str, fn: Callable[..., Generator[TeachProgress, None, TeachOutcome]], *args: object
    ) -> Job | None:
        if self._run is not None or self.lane.stopped:
            return None
        self._holder = ControlHolder()
        self.kind = kind
        job = Job(kind, fn, self.library_path, self._holder, *args, throttle=0.0)
        job.progress.connect(self.progress)
        job.result.connect(self.finished)
        job.failed.connect(self._on_failed)
        job.finished.connect(self._on_finished)
        self._run = job
        self.lane.submit(job)
        self.started.emit(kind)
        return job

    def _on_failed(self, message: str) -> None:
        self._run = None  # before anyone hears of it: a new run may start at once
        self.failed.emit(message)

    def _on_finished(self) -> None:
        job, self._run = self._run, None
        if job is not None and job.aborted:
            self.finished.emit(TeachOutcome("cancelled", message="stopped"))

    def set_paused(self, paused: bool) -> None:
        if self._holder is not None and self._run is not None:
            self._holder.set_paused(paused)
            self.paused_changed.emit(paused)

    def cancel(self) -> None:
        if self._holder is not None:
            self._holder.cancel()

    # ---- the rest ---------------------------------------------------------------------------
    def check_interrupted(self) -> None:
        self._submit("interrupted", interrupted_job, self.interrupted.emit)

    def discard_interrupted(self) -> None:
        self._submit("discard", discard_job, lambda _r: self.interrupted.emit(None))

    def compare(self, model_id: str, limit: int = 12, device: str = "cpu") -> None:
        job = self._submit("compare", compare_job, self.compared.emit, model_id, limit, device)
        if job is not None:
            job.failed.connect(self.compare_failed)

    def import_model(self, file: str) -> None:
        self._submit("import", import_job, self.imported.emit, file)

    def _submit(self, name: str, fn: Callable[..., Any], on_result: Callable[[Any], None], *args: object) -> Job | None:
        if self.side.stopped:
            return None
        job = Job(name, fn, self.library_path, *args)
        job.result.connect(on_result)
        if name != "compare":
            job.failed.connect(self.error)
        return self.side.submit(job)

    def shutdown(self) -> bool:
        """Quitting mid-run: the trainer stops at its next step and keeps its state for resuming."""
        if self._holder is not None:
            self._holder.cancel()
        ok = self.side.shutdown()
        return self.lane.shutdown(timeout_ms=90_000) and ok  # the run writes its state first

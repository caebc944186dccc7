"""Run a training generator in a child process and stream its events back, as plain dicts.

The app's Teach tab teaches this way. In a thread of the app's own process, training holds
up the window: the first optimiser a process builds imports ``torch._dynamo`` (triton and
inductor with it: seconds of imports that keep the GIL), and every step takes the GIL in
short bursts. A child process shares no GIL with the window; it runs at a lower priority.

    run = TrainingProcess("teach", library_path, {"minutes": 3}, False)
    run.start()
    for event in run.events():        # SimpleNamespace(kind=..., step=..., loss=..., ...)
        ...
    run.pause(); run.resume(); run.cancel()   # from any thread; applied between steps

A recipe's error ends the stream with :class:`TrainingFailed` carrying its one-line message
(``ValueError`` messages are photocap's own words: "write captions for at least 2 photos").
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import queue
import threading
from collections.abc import Callable, Iterator
from types import SimpleNamespace

NICE = 5  # the child yields the CPU to the window (and to nothing else of ours: captioning is held)


class TrainingFailed(RuntimeError):
    """The recipe raised in the child, or the child died; ``str()`` is a one-line reason."""


# ---- recipes (run in the child) ------------------------------------------------------------------
def _teach(control, library_path: str, options: dict, resume: bool):
    from trainer.teach import TeachOptions, teach

    return teach(library_path, TeachOptions(**options), control=control, resume=resume)


def _dataset(
    control,
    library_path: str,
    annotations: str,
    images: str | None,
    fmt: str,
    minutes: float | None,
    name: str,
    config: dict,
):
    """Train on a COCO / Flickr / Karpathy dataset (the run folder beside the library's teaching);
    the best model is imported into the library as a new, inactive version (``done`` carries its id)."""
    import datetime as _dt

    from trainer.datasets import load_dataset
    from trainer.teach import import_model, teaching_dir
    from trainer.train import TrainConfig, TrainEvent, train

    dataset = load_dataset(annotations, images or None, fmt)
    out_dir = teaching_dir(library_path) / "datasets" / f"{_dt.datetime.now():%Y%m%d-%H%M%S}"
    cfg = TrainConfig(out_dir=str(out_dir), max_minutes=minutes, name=name, **config)
    for ev in train(cfg, dataset, control):
        if ev.kind != "done":
            yield ev
            continue
        if ev.path is None:
            raise ValueError("the training run ended without a model file")
        info = import_model(library_path, ev.path)
        yield TrainEvent(
            "done",
            step=ev.step,
            epoch=ev.epoch,
            total_steps=ev.total_steps,
            metrics={**ev.metrics, "model_id": info.model_id},
            path=info.path,
            message=ev.message,
        )


RECIPES: dict[str, Callable] = {"teach": _teach, "dataset": _dataset}


def _listen(commands, control) -> None:
    while True:
        cmd = commands.get()
        if cmd == "pause":
            control.pause()
        elif cmd == "resume":
            control.resume()
        elif cmd == "cancel":
            control.cancel()
        else:  # "quit"
            return


def _child(recipe: str, args: tuple, events, commands) -> None:
    if os.environ.get("OMP_WAIT_POLICY") == "PASSIVE":  # the caption engine's setting; training spins
        del os.environ["OMP_WAIT_POLICY"]
    try:
        os.nice(NICE)
    except (AttributeError, OSError):
        pass
    try:
        from trainer.train import TrainControl

        control = TrainControl()
        threading.Thread(target=_listen, args=(commands, control), daemon=True).start()
        for ev in RECIPES[recipe](control, *args):
            events.put(("event", dataclasses.asdict(ev)))
        events.put(("end", None))
    except Exception as exc:
        events.put(("error", " ".join(str(exc).split()) or exc.__class__.__name__))


# ---- the parent's side ---------------------------------------------------------------------------
class TrainingProcess:
    def __init__(self, recipe: str, *args):
        if recipe not in RECIPES:
            raise ValueError(f"unknown training recipe {recipe!r}")
        ctx = mp.get_context("spawn")  # never fork a process with Qt and torch threads in it
        self._events = ctx.Queue()
        self._commands = ctx.Queue()
        self.process = ctx.Process(
            target=_child, args=(recipe, args, self._events, self._commands), name=f"photocap-{recipe}", daemon=True
        )
        self._cancelled = False

    def start(self) -> None:
        self.process.start()

    # control: the same names as trainer.train.TrainControl, from any thread
    def pause(self) -> None:
        self._commands.put("pause")

    def resume(self) -> None:
        self._commands.put("resume")

    def cancel(self) -> None:
        if not self._cancelled:
            self._cancelled = True
            self._commands.put("cancel")

    def events(
        self, should_stop: Callable[[], bool] | None = None, poll: float = 0.2, grace: float = 40.0
    ) -> Iterator[SimpleNamespace]:
        """The child's events until it ends. ``should_stop()`` true: cancel (the child saves its
        state at its next step and ends with a ``cancelled`` event); after ``grace`` seconds
        without an end (the child is still loading, say) the stream stops anyway."""
        import time

        deadline = None
        while True:
            if should_stop is not None and should_stop() and deadline is None:
                self.cancel()
                deadline = time.monotonic() + grace
            if deadline is not None and time.monotonic() > deadline:
                return
            try:
                what, payload = self._events.get(timeout=poll)
            except queue.Empty:
                if not self.process.is_alive():
                    raise TrainingFailed(
                        f"the training process stopped unexpectedly (exit code {self.process.exitcode})"
                    ) from None
                continue
            if what == "event":
                yield SimpleNamespace(**payload)
            elif what == "error":
                raise TrainingFailed(payload)
            else:
                return

    def close(self, timeout: float = 30.0) -> None:
        """Let the child finish (cancelling it if it still runs: it saves its state), then reap it.
        Its last events are read and dropped meanwhile, so it never blocks on a full pipe."""
        import time

        end = time.monotonic() + timeout
        if self.process.is_alive():
            self.cancel()
        while self.process.is_alive() and time.monotonic() < end:
            try:
                self._events.get(timeout=0.2)
            except queue.Empty:
                pass
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(5)

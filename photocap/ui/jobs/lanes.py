"""The one way photocap runs background work: generator jobs on lanes.

A *job* is a function ``fn(ctx, *args)``. A plain function runs as one step; a generator
function yields progress values and is stepped one ``next()`` at a time, so it can be
paused, resumed and aborted between yields (between photo batches, for captioning).

A *lane* is one dedicated ``QThread`` with a runner object living on it. The runner
interleaves its jobs cooperatively (one step of each runnable job in turn, returning to
the thread's event loop in between), so a short job submitted to a busy lane — the
attention maps for the shown caption while a captioning pass runs on the model lane —
waits at most one step. Everything a lane owns (the loaded model on the model lane) is
kept in ``ctx.state`` and only ever touched on that lane's thread.

Jobs never touch widgets: views connect to a job's signals, which Qt queues into the GUI
thread. Progress is throttled (``throttle`` seconds, ~10/s by default); values yielded
between two emissions are merged with ``coalesce(old, new)`` (default: keep the newest),
and whatever is pending is flushed before ``result``/``finished``.
"""

from __future__ import annotations

import inspect
import logging
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QThread, Signal

log = logging.getLogger(__name__)


class Refused(Exception):
    """A job that could not do its work for a reason the user reads (a missing model file, say):
    logged as that one line, not as a traceback, which is kept for bugs."""


class JobContext:
    """What a running job sees: its stop/pause flags and the lane's private state."""

    def __init__(self, job: Job, state: dict[str, Any]):
        self._job = job
        self.state = state

    @property
    def should_stop(self) -> bool:
        return self._job.aborted

    def stop_requested(self) -> bool:  # a callable for APIs that take ``should_stop``
        return self._job.aborted

    def report(self, value: Any) -> None:
        """Progress from inside one long step (a callback of a blocking call); throttled."""
        self._job.offer_progress(value)


class Job(QObject):
    """One unit of background work. Create it, connect its signals, *then* ``lane.submit(job)``:
    a queued signal only reaches the slots connected when it is emitted."""

    progress = Signal(object)  # throttled yielded values (coalesced)
    result = Signal(object)  # the function's return value (not sent when aborted or failed)
    failed = Signal(str)  # a short message; the traceback goes to the log
    paused = Signal()  # emitted when the runner has actually parked the job
    resumed = Signal()
    finished = Signal()  # always last, whatever happened

    def __init__(
        self,
        name: str,
        fn: Callable[..., Any],
        *args: Any,
        throttle: float = 0.1,
        coalesce: Callable[[Any, Any], Any] | None = None,
        essential: bool = False,
        **kwargs: Any,
    ):
        super().__init__()
        self.name = name
        self.essential = essential  # a write the user asked for: finished, not aborted, at shutdown
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self.throttle = throttle
        self._coalesce = coalesce
        self._gen: Generator[Any, Any, Any] | None = None
        self._started = False
        self._pending: Any = None
        self._has_pending = False
        self._last_emit = 0.0
        self.aborted = False
        self.pause_requested = False
        self.is_parked = False
        self.done = False
        self.lane: Lane | None = None

    # ---- control (any thread) ------------------------------------------------------------
    def pause(self) -> None:
        self.pause_requested = True

    def resume(self) -> None:
        self.pause_requested = False
        if self.lane is not None:
            self.lane.wake()

    def abort(self) -> None:
        self.aborted = True
        if self.lane is not None:
            self.lane.wake()

    # ---- runner side (the lane's thread; public for the lane's runner and JobContext, not for callers) ----
    def step(self, state: dict[str, Any]) -> bool:
        """Run one step; True while the job has more to do."""
        try:
            if not self._started:
                self._started = True
                out = self._fn(JobContext(self, state), *self._args, **self._kwargs)
                if not inspect.isgenerator(out):
                    self._finish(out)
                    return False
                self._gen = out
            if self._gen is None:  # (a plain function: it finished in its one step)
                return False
            value = next(self._gen)
        except StopIteration as stop:
            self._finish(stop.value)
            return False
        except Exception as exc:
            if isinstance(exc, Refused):
                log.warning("job %s: %s", self.name, exc)
            else:
                log.error("job %s failed:\n%s", self.name, traceback.format_exc())
            self.flush_progress()
            self.done = True
            self.failed.emit(_describe(exc))
            self.finished.emit()
            return False
        self.offer_progress(value)
        return True

    def offer_progress(self, value: Any) -> None:
        if self._has_pending and self._coalesce is not None:
            value = self._coalesce(self._pending, value)
        self._pending, self._has_pending = value, True
        now = time.monotonic()
        if now - self._last_emit >= self.throttle:
            self.flush_progress(now)

    def flush_progress(self, now: float | None = None) -> None:
        if self._has_pending:
            value, self._pending, self._has_pending = self._pending, None, False
            self._last_emit = now if now is not None else time.monotonic()
            self.progress.emit(value)

    def _finish(self, value: Any) -> None:
        self.flush_progress()
        self.done = True
        self.result.emit(value)
        self.finished.emit()

    def close_aborted(self) -> None:
        """Aborted: close the generator here, on the lane's thread (its ``finally`` runs)."""
        try:
            if self._gen is not None:
                self._gen.close()
        except Exception:
            log.error("job %s failed while stopping:\n%s", self.name, traceback.format_exc())
        self.flush_progress()
        self.done = True
        self.finished.emit()


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return reason or str(exc) or exc.__class__.__name__


_WAKE = QEvent.Type(QEvent.registerEventType())


class _Runner(QObject):
    """Lives on the lane's thread; steps the jobs.

    Other threads never emit its signals (PySide6 is not safe with one signal emitted from
    two threads at once): they put jobs in a thread-safe inbox and post a plain wake-up
    event, which Qt delivers on the lane's thread."""

    def __init__(self) -> None:
        super().__init__()
        self.state: dict[str, Any] = {}
        self._jobs: list[Job] = []
        self._inbox: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._draining = False
        self._poked = False

    def wake(self) -> None:  # any thread
        if not self._poked:
            self._poked = True
            QCoreApplication.postEvent(self, QEvent(_WAKE))

    def post(self, job: Job) -> None:  # any thread
        self._inbox.put(job)
        self._poked = False  # make sure this one posts
        self.wake()

    def request_drain(self) -> None:  # any thread
        self._draining = True
        self._poked = False
        self.wake()

    def event(self, event: QEvent) -> bool:
        if event.type() == _WAKE:
            self._poked = False
            while True:
                try:
                    self._jobs.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            if self._draining:
                self._drain()
            else:
                self._tick()
            return True
        return super().event(event)

    def _tick(self) -> None:
        for job in list(self._jobs):
            if job.aborted:
                self._jobs.remove(job)
                job.close_aborted()
            elif job.pause_requested and not job.is_parked:
                job.is_parked = True
                job.flush_progress()
                job.paused.emit()
            elif not job.pause_requested and job.is_parked:
                job.is_parked = False
                job.resumed.emit()
        runnable = [j for j in self._jobs if not j.is_parked]
        if not runnable:
            return  # idle until a job arrives, resumes or is aborted
        job = runnable[0]
        self._jobs.remove(job)
        if job.step(self.state):
            self._jobs.append(job)  # round robin: the others go first next time
        else:
            job.flush_progress()
        self.wake()

    def _drain(self) -> None:
        for job in self._jobs:
            if job.essential and not job.aborted:
                while not job.done and job.step(self.state):
                    pass
            else:
                job.aborted = True
                job.close_aborted()
        self._jobs.clear()
        closer = self.state.pop("on_shutdown", None)
        if closer is not None:
            try:
                closer()
            except Exception:
                log.error("lane shutdown hook failed:\n%s", traceback.format_exc())
        self.state.clear()
        QThread.currentThread().quit()


def _lower_priority(nice: int) -> None:
    """Runs first on a lane's thread: make it (and the threads it starts: torch's OpenMP
    pool, the photo decoders) yield the CPU to the GUI thread when cores are scarce."""
    if not nice:
        return
    try:  # Linux: nice is per thread and inherited by threads created from it
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except (AttributeError, OSError):
        QThread.currentThread().setPriority(QThread.Priority.LowPriority)  # macOS, Windows


class Lane(QObject):
    """A dedicated worker thread. Keep a reference; call :meth:`shutdown` before exit.

    ``nice`` > 0 lowers the thread's priority (background work: captioning, thumbnails,
    scans), so the GUI thread wins when the machine has fewer cores than busy threads."""

    def __init__(self, name: str, parent: QObject | None = None, nice: int = 0):
        super().__init__(parent)
        self.name = name
        self._thread = QThread()
        self._thread.setObjectName(f"photocap-{name}")
        self._thread.started.connect(lambda n=nice: _lower_priority(n), Qt.ConnectionType.DirectConnection)
        self._runner = _Runner()
        self._runner.moveToThread(self._thread)
        self._live: set[Job] = set()  # GUI-side references until each job has finished
        self._stopped = False
        self._thread.start()

    def submit(self, job: Job) -> Job:
        if self._stopped:
            raise RuntimeError(f"lane {self.name} is shut down")
        job.lane = self
        self._live.add(job)
        job.finished.connect(lambda j=job: self._live.discard(j))
        self._runner.post(job)
        return job

    def wake(self) -> None:
        self._runner.wake()

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def busy(self) -> bool:
        return bool(self._live)

    @property
    def thread_finished(self) -> bool:
        """The lane's thread has ended (after :meth:`shutdown`): nothing of it runs any more."""
        return self._thread.isFinished()

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Abort every job but essential ones (each stops at its next yield; essential jobs
        run to the end), close them on the lane's thread,
        run the lane's ``on_shutdown`` hook there, stop the thread and wait for it."""
        if self._stopped:
            return True
        self._stopped = True
        for job in list(self._live):
            if not job.essential:
                job.aborted = True
        self._runner.request_drain()
        ok = self._thread.wait(timeout_ms)
        if not ok:
            log.error("lane %s did not stop within %d ms", self.name, timeout_ms)
        return bool(ok)

"""The one background-work pattern: generator jobs on a lane (a dedicated QThread)."""

from __future__ import annotations

import functools
import operator
import threading

import pytest

from photocap.ui.jobs.lanes import Job, Lane


@pytest.fixture
def lane(qapp):
    lane = Lane("test")
    yield lane
    assert lane.shutdown(10_000)
    assert lane.thread_finished


def counting(ctx, n, seen, gate=None):
    seen.append(threading.get_ident())
    for i in range(n):
        if gate is not None:
            gate.wait(5)
        yield i
    return n * 10


def test_job_runs_on_the_lane_thread_and_returns(qtbot, lane):
    seen: list[int] = []
    job = Job("count", counting, 5, seen, throttle=0.0)
    got = []
    job.progress.connect(got.append)
    with qtbot.waitSignal(job.result, timeout=5000) as blocker:
        lane.submit(job)
    assert blocker.args == [50]
    assert got == [0, 1, 2, 3, 4]
    assert seen and seen[0] != threading.get_ident()


def test_progress_is_throttled_but_coalesced_values_are_kept(qtbot, lane):
    job = Job(
        "many", lambda ctx: (yield from ([i] for i in range(2000))), throttle=10.0, coalesce=lambda old, new: old + new
    )
    batches = []
    job.progress.connect(batches.append)
    with qtbot.waitSignal(job.finished, timeout=5000):
        lane.submit(job)
    assert len(batches) <= 2  # the first at once, the rest flushed at the end
    assert functools.reduce(operator.iadd, batches, []) == list(range(2000))


def test_plain_function_job_and_failure_keep_the_lane_alive(qtbot, lane):
    bad = Job("bad", lambda ctx: 1 / 0)
    with qtbot.waitSignal(bad.failed, timeout=5000) as blocker:
        lane.submit(bad)
    assert "division by zero" in blocker.args[0]
    good = Job("good", lambda ctx, x: x + 1, 41)
    with qtbot.waitSignal(good.result, timeout=5000) as blocker:
        lane.submit(good)
    assert blocker.args == [42]


def test_pause_parks_the_job_and_other_jobs_still_run(qtbot, lane):
    """(Signals of a running job are connected before submit and waited on through flags:
    PySide6 is not safe connecting/disconnecting a signal while another thread emits it.)"""
    steps, parked = [], []
    reached, asked = threading.Event(), threading.Event()

    def slow(ctx):
        for i in range(1000):
            steps.append(i)
            if i == 10:  # step 10 is running when the GUI asks for the pause
                reached.set()
                asked.wait(5)
            yield i

    job = Job("slow", slow, throttle=0.0)
    job.paused.connect(lambda: parked.append(len(steps)))
    job.pause()  # parked before its first step
    lane.submit(job)
    qtbot.waitUntil(lambda: len(parked) == 1, timeout=5000)
    other = Job("other", lambda ctx: "ran")
    with qtbot.waitSignal(other.result, timeout=5000):
        lane.submit(other)
    assert steps == []  # parked: not stepped while the other job ran
    job.resume()
    qtbot.waitUntil(reached.is_set, timeout=5000)
    job.pause()
    asked.set()
    qtbot.waitUntil(lambda: len(parked) == 2, timeout=5000)
    n = len(steps)
    assert n == 11 and parked[1] == n  # it stopped at the step's yield, before step 11
    probe = Job("probe", lambda ctx: len(steps))
    with qtbot.waitSignal(probe.result, timeout=5000) as blocker:
        lane.submit(probe)
    assert blocker.args == [n]  # nothing moved while paused
    done = []
    job.result.connect(done.append)  # safe: the job is parked, nothing emits
    job.resume()
    qtbot.waitUntil(lambda: done == [None], timeout=5000)
    assert len(steps) == 1000


def test_abort_closes_the_generator_on_the_lane_thread(qtbot, lane):
    closed_on = []

    def forever(ctx):
        try:
            while True:
                yield 1
        finally:
            closed_on.append(threading.get_ident())

    job = Job("forever", forever, throttle=0.0)
    got_result, progressed = [], []
    job.result.connect(got_result.append)
    job.progress.connect(progressed.append)
    lane.submit(job)
    qtbot.waitUntil(lambda: len(progressed) > 0, timeout=5000)
    with qtbot.waitSignal(job.finished, timeout=5000):
        job.abort()
    assert closed_on and closed_on[0] != threading.get_ident()
    assert got_result == []


def test_shutdown_aborts_running_work_but_finishes_essential_writes(qapp):
    lane = Lane("shutdown")
    done = []
    gate = threading.Event()

    def forever(ctx):
        while True:
            yield None

    lane.submit(Job("forever", forever))
    lane.submit(Job("write", lambda ctx: done.append("written"), essential=True))
    gate.set()
    assert lane.shutdown(10_000)
    assert done == ["written"]
    with pytest.raises(RuntimeError):
        lane.submit(Job("late", lambda ctx: None))


def test_the_installed_pyside6_keeps_its_references(qapp):
    """PySide6 6.12.0 on Python < 3.12 took no reference to the ``True`` each ``emit()`` returns
    nor to the ``None`` of each void Qt call, and the app aborted ("none_dealloc") after a few
    thousand (pyproject.toml excludes that release). This fails on any release that does it."""
    import sys

    from PySide6.QtCore import QObject, Signal

    class Probe(QObject):
        fired = Signal()

    probe = Probe()
    probe.fired.connect(lambda: None)
    for obj, call in ((True, probe.fired.emit), (None, lambda: probe.setObjectName("x"))):
        before = sys.getrefcount(obj)
        for _ in range(1000):
            call()
        assert sys.getrefcount(obj) - before > -500, f"PySide6 leaks references to {obj}"

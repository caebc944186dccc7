"""The one rate/ETA meter (photocap.progress.RateMeter), on a clock the test moves by hand."""

from __future__ import annotations

import pytest

from photocap.progress import RateMeter


class Clock:
    def __init__(self, t: float = 0.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_the_warm_up_is_ignored_and_old_speed_forgotten():
    clock = Clock()
    r = RateMeter(window=30.0, min_span=2.0, min_count=16, clock=clock)
    clock.t = 3.0
    r.update(8)  # the first batch pays for start-up
    assert r.rate == 0.0 and r.eta(100) is None
    clock.t = 4.0
    r.update(16)
    assert r.rate == 4.0  # 16 photos in 4 s since the pass began
    for k in range(3, 200):  # a steady 16 photos/s for 100 s: the warm-up leaves the window
        clock.t = 4.0 + (k - 2) * 0.5
        r.update(8 * k)
    assert r.rate == pytest.approx(16.0) and r.eta(160) == pytest.approx(10.0)


def test_without_a_window_it_is_the_whole_runs_average():
    clock = Clock(100.0)
    r = RateMeter(clock=clock)
    assert r.rate == 0.0 and r.eta(5) is None and r.count == 0
    clock.t = 101.0
    r.add(10)  # a fast start...
    clock.t = 110.0
    r.add(10)  # ...and a slow end
    assert r.count == 20 and r.rate == pytest.approx(2.0) and r.elapsed == pytest.approx(10.0)
    assert r.eta(30) == pytest.approx(15.0) and r.eta(0) == 0.0


def test_restart_leaves_a_pause_out_of_the_speed():
    clock = Clock()
    r = RateMeter(window=20.0, min_span=1.0, clock=clock)
    clock.t = 10.0
    r.update(50)
    assert r.rate == pytest.approx(5.0)
    clock.t = 400.0  # paused for minutes
    r.restart(50)
    assert r.rate == 0.0 and r.elapsed == 0.0
    clock.t = 402.0
    r.update(60)
    assert r.rate == pytest.approx(5.0)  # not 10 steps in 392 s


def test_skip_leaves_a_pause_out_and_keeps_the_run_before_it():
    clock = Clock()
    r = RateMeter(clock=clock)
    r.restart(0, elapsed=60.0)  # resumed: 60 s of an earlier session are part of the run
    clock.t = 60.0
    r.update(240)  # 120 steps then, 120 now
    assert r.rate == pytest.approx(2.0) and r.elapsed == pytest.approx(120.0)
    clock.t = 360.0
    r.skip(300.0)  # paused for five minutes
    clock.t = 420.0
    r.update(360)
    assert r.rate == pytest.approx(2.0) and r.eta(40) == pytest.approx(20.0)
    assert len(r.marks) == 2  # a whole-run average keeps no history

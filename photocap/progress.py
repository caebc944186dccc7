"""How fast work goes and when it will be done: the one rate/ETA meter.

Captioning (the app's status bar, ``photocap index``, ``photocap caption``), the trainer's
feature pass and the Teach tab all measure their speed with :class:`RateMeter`. No Qt, no
torch: plain numbers in, plain numbers out. The clock is injected (``clock=``), so tests
drive it by hand.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class RateMeter:
    """Items per second over the last ``window`` seconds (from the start while the run is
    younger than that), and the time left at that speed.

    The first items of a captioning pass pay for the decoders filling up and later ones
    arrive in bursts, so only a span of several batches gives an honest rate: ``min_span``
    seconds and ``min_count`` items must be covered before any rate is given (0 until then).
    ``window=math.inf`` (the default) is the whole run's average.

    ``update(count)`` takes the running total; ``add(n)`` counts ``n`` more.
    """

    def __init__(
        self,
        window: float = math.inf,
        min_span: float = 0.0,
        min_count: int = 0,
        clock: Callable[[], float] = time.monotonic,
        start: int = 0,
    ):
        self.window, self.min_span, self.min_count = window, min_span, min_count
        self.clock = clock
        self.marks: deque[tuple[float, int]] = deque()
        self.restart(start)

    def restart(self, count: int = 0, elapsed: float = 0.0) -> None:
        """Measure from now on, from ``count`` already done (after a pause, say: the pause
        is no part of the speed); ``elapsed``: as if started that many seconds ago (a run
        resumed from its saved state)."""
        self.started = self.clock() - elapsed
        self.marks.clear()
        self.marks.append((self.started, count))

    def skip(self, seconds: float) -> None:
        """Leave ``seconds`` just spent (a pause) out of the speed, keeping what was measured."""
        self.started += seconds
        self.marks = deque((t + seconds, n) for t, n in self.marks)

    def update(self, count: int) -> None:
        now = self.clock()
        self.marks.append((now, count))
        if len(self.marks) > 2 and self.window == math.inf:
            del self.marks[1]  # the whole run's average needs only its two ends
        while len(self.marks) > 2 and now - self.marks[1][0] > self.window:
            self.marks.popleft()

    def add(self, n: int = 1) -> None:
        self.update(self.count + n)

    @property
    def count(self) -> int:
        return self.marks[-1][1]

    @property
    def elapsed(self) -> float:
        """Seconds since the start (or the last ``restart``), by the meter's clock."""
        return self.clock() - self.started

    @property
    def rate(self) -> float:
        (t0, n0), (t1, n1) = self.marks[0], self.marks[-1]
        if t1 - t0 <= 0 or t1 - t0 < self.min_span or n1 < self.min_count or n1 <= n0:
            return 0.0
        return (n1 - n0) / (t1 - t0)

    def eta(self, remaining: int) -> float | None:
        """Seconds left for ``remaining`` more items at the current rate; None while unknown."""
        rate = self.rate
        return max(0, remaining) / rate if rate > 0 else None

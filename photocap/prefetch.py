"""The prefetching decoder: photos decoded on a thread pool while the model runs.

Pillow releases the GIL while it decodes and resizes, so a pool of decoding threads keeps
the cores busy while the network describes (or encodes) the previous batch. The caption
engine (:meth:`photocap.engine.CaptionEngine.caption_paths`) and the trainer's feature pass
and live encoder (:mod:`trainer.features`) all decode through :class:`Prefetcher`.

No Pillow, no torch here: ``load`` is whatever turns one path into a decoded photo
(:func:`photocap.imaging.load_for_model`, or the engine's version-checking wrapper of it).
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Loaded(Generic[T, R]):
    """One input and what ``load`` made of it, or the exception it raised instead."""

    item: T
    value: R | None = None
    error: BaseException | None = None


def default_workers() -> int:
    return max(2, os.cpu_count() or 2)


class Prefetcher(Generic[T, R]):
    """Runs ``load(item)`` on ``workers`` threads, up to ``ahead`` items in front of the
    consumer; results come back in input order. Use it as a context manager (or call
    :meth:`close`): the pool's threads end with it."""

    def __init__(self, load: Callable[[T], R], workers: int | None = None, name: str = "photocap-decode"):
        self.load = load
        self.workers = workers or default_workers()
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix=name)

    def __enter__(self) -> Prefetcher[T, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, item: T) -> Loaded[T, R]:
        try:
            return Loaded(item, self.load(item))
        except Exception as exc:
            return Loaded(item, error=exc)

    def map(self, items: Iterable[T], ahead: int | None = None) -> Generator[Loaded[T, R], None, None]:
        """One :class:`Loaded` per item, in order, decoding up to ``ahead`` items (default:
        twice the workers) beyond the one handed out. ``items`` is read lazily, on the
        consumer's thread, as room frees up. Closing the iterator cancels what has not
        started."""
        todo = iter(items)
        ahead = max(1, ahead if ahead is not None else 2 * self.workers)
        pending: deque[Future[Loaded[T, R]]] = deque()

        def refill() -> None:
            for item in itertools.islice(todo, max(0, ahead - len(pending))):
                pending.append(self._pool.submit(self._run, item))

        try:
            while True:
                refill()
                if not pending:
                    return
                loaded = pending.popleft().result()
                refill()  # keep the decoders busy while the consumer works on this one
                yield loaded
        finally:
            for fut in pending:
                fut.cancel()

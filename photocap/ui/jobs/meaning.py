"""The GUI-side front of search by meaning: a ``meaning`` lane owning the sentence model.

The lane loads all-MiniLM-L6-v2 once (after the window is up), embeds every photo's
caption and tags in the background (a chunk per step, so a query waits at most one
chunk), and embeds the queries the grid sends. The GUI thread never waits: until the
model is ready (or if it cannot load) searches run on words alone; photos whose vectors
are not made yet are found by their words.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from photocap.ui.jobs.lanes import Job, JobContext, Lane, Refused

if TYPE_CHECKING:
    import numpy as np

    from photocap.library.library import Library
    from photocap.model.sentence import SentenceEmbedder


def load_sentence_model() -> SentenceEmbedder:
    from photocap.model.sentence import SentenceEmbedder

    return SentenceEmbedder.load()


def _load(ctx: JobContext, loader: Callable[[], Any]) -> str:
    from photocap.model.sentence import SentenceModelError

    try:
        ctx.state["embedder"] = loader()
    except SentenceModelError as exc:  # not installed, or its files damaged: words only, said in one line
        raise Refused(f"search by meaning is off: {exc}") from None
    return ctx.state["embedder"].model_id


def _embed_pass(ctx: JobContext, library: Library) -> Generator[tuple[int, int], None, int]:
    from photocap.meaning import embed_pending

    return (yield from embed_pending(library, ctx.state["embedder"], should_stop=ctx.stop_requested, chunk=16))


def _embed_query(ctx: JobContext, text: str) -> np.ndarray | None:
    from photocap.meaning import embed_query

    return embed_query(ctx.state["embedder"], text)


class MeaningService(QObject):
    ready = Signal(str)  # the sentence model's id
    failed = Signal(str)
    progress = Signal(object)  # (vectors stored by this pass, photos still waiting)
    pass_done = Signal(int)  # vectors stored by the pass that just ended

    def __init__(
        self, lane: Lane | None = None, parent: QObject | None = None, loader: Callable[[], Any] = load_sentence_model
    ):
        super().__init__(parent)
        self.lane = lane or Lane("meaning", self, nice=10)
        self._loader = loader  # made and used on the lane's thread only
        self.library: Library | None = None
        self.model_id: str | None = None
        self.loading = False  # the sentence model is being made: searches by meaning follow when it is ready
        self._pass: Job | None = None
        self._again = False

    def load(self) -> Job | None:
        if self.lane.stopped:
            return None
        job = Job("load sentence model", _load, self._loader)
        job.result.connect(self._on_ready)
        job.failed.connect(self._on_failed)
        self.loading = True
        return self.lane.submit(job)

    def _on_failed(self, why: str) -> None:
        self.loading = False
        self.failed.emit(why)

    def _on_ready(self, model_id: str) -> None:
        self.model_id = model_id
        self.loading = False
        self.ready.emit(model_id)
        self.kick()

    def set_library(self, library: Library | None) -> None:
        self.library = library
        self.kick()

    def kick(self) -> None:
        """Words changed somewhere (captions landed, an edit): embed what has no vector."""
        if self.library is None or self.model_id is None or self.lane.stopped:
            return
        if self._pass is not None:
            self._again = True
            return
        self._again = False
        job = Job("embed captions", _embed_pass, self.library)
        job.progress.connect(self.progress)
        job.result.connect(lambda n: self.pass_done.emit(int(n or 0)))
        job.failed.connect(self.failed)
        job.finished.connect(self._on_pass_finished)
        self._pass = job
        self.lane.submit(job)

    def _on_pass_finished(self) -> None:
        self._pass = None
        if self._again:
            self.kick()

    def embed_query(self, text: str, on_result: Callable[[Any], None]) -> Job | None:
        """The query's vector to ``on_result`` (None for no words); None here when not ready."""
        if self.model_id is None or self.lane.stopped:
            return None
        job = Job("embed query", _embed_query, text)
        job.result.connect(on_result)
        job.failed.connect(lambda _msg: on_result(None))
        return self.lane.submit(job)

    def shutdown(self) -> bool:
        if self._pass is not None:
            self._pass.abort()
        return self.lane.shutdown()

"""The GUI-side front of the model lane: load the engine, run captioning passes, pause,
resume, and ask for attention maps. Views connect to its signals; it never touches widgets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from photocap.ui.jobs import model_work
from photocap.ui.jobs.lanes import Job, Lane

if TYPE_CHECKING:
    from photocap.library.library import Library


class CaptionService(QObject):
    engine_loading = Signal()
    engine_ready = Signal(object)  # EngineInfo
    engine_failed = Signal(str)
    started = Signal()
    progress = Signal(object)  # CaptionProgress (throttled; .landed has every new caption)
    landed = Signal(list)  # [Landed] as they arrive
    paused_changed = Signal(bool)  # the user's wish
    pass_parked = Signal()  # the running pass has actually stopped between photos
    idle = Signal(object)  # CaptionSummary of the pass that just ended (None if it failed)
    failed = Signal(str)
    attention_ready = Signal(object)  # AttentionMaps or None

    def __init__(self, lane: Lane | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.lane = lane or Lane("model", self, nice=10)
        self.library: Library | None = None
        self.info: model_work.EngineInfo | None = None
        self.paused = False  # the user's wish
        self.held = False  # teaching runs: captioning yields the CPU until it ends
        self.auto = True
        self._visible: tuple[int, ...] = ()
        self._pass: Job | None = None
        self._again = False
        self._loading: Job | None = None

    # ---- engine -----------------------------------------------------------------------
    def load_engine(self, model_path: str | None, device: str, beam: int, max_len: int) -> Job:
        """(Re)load the engine on the model lane; a running pass is stopped first."""
        self.stop_pass()
        self.info = None
        job = Job("load engine", model_work.load_engine, model_path, device, beam, max_len)
        job.result.connect(self._on_engine)
        job.failed.connect(self.engine_failed)
        self._loading = job
        self.engine_loading.emit()
        return self.lane.submit(job)

    def _on_engine(self, info: model_work.EngineInfo) -> None:
        self._loading = None
        self.info = info
        self.engine_ready.emit(info)
        if self.auto:
            self.kick()

    # ---- captioning passes --------------------------------------------------------------
    def set_library(self, library: Library | None) -> None:
        self.library = library
        if self.auto:
            self.kick()

    def set_visible(self, ids: Sequence[int]) -> None:
        """Photos on screen now: captioned first (read by the pass on the model thread)."""
        self._visible = tuple(ids)

    @property
    def running(self) -> bool:
        return self._pass is not None

    def maybe_kick(self) -> None:
        """Automatic triggers (new photos arrived): a pass only when captioning is automatic."""
        if self.auto:
            self.kick()

    def kick(self) -> None:
        """Something may need captions (new photos, a new model): start a pass, or run
        another one when the current ends."""
        if self.library is None or self.info is None or self.lane.stopped:
            return
        if self._pass is not None:
            self._again = True
            return
        self._again = False
        job = Job(
            "caption pass",
            model_work.caption_pass,
            self.library,
            lambda: self._visible,
            coalesce=model_work.merge_progress,
        )
        job.progress.connect(self._on_progress)
        job.result.connect(self._on_pass_done)
        job.failed.connect(self._on_pass_failed)
        job.finished.connect(self._on_pass_finished)
        job.paused.connect(self.pass_parked)
        if self.paused or self.held:
            job.pause()
        self._pass = job
        self.lane.submit(job)
        self.started.emit()

    def _on_progress(self, p: model_work.CaptionProgress) -> None:
        self.progress.emit(p)
        if p.landed:
            self.landed.emit(p.landed)

    def _on_pass_done(self, summary: model_work.CaptionSummary) -> None:
        self.idle.emit(summary)

    def _on_pass_failed(self, message: str) -> None:
        self.failed.emit(message)
        self.idle.emit(None)

    def _on_pass_finished(self) -> None:
        job, self._pass = self._pass, None
        if job is not None and job.aborted:
            self.idle.emit(model_work.CaptionSummary(0, 0, 0.0, True))
        if self._again:
            self.kick()

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self._apply_pause()
        self.paused_changed.emit(paused)

    def set_held(self, held: bool) -> None:
        """Hold captioning while something heavier runs (teaching), whatever the user's pause."""
        self.held = held
        self._apply_pause()

    def _apply_pause(self) -> None:
        if self._pass is not None:
            self._pass.pause() if self.paused or self.held else self._pass.resume()

    def stop_pass(self) -> None:
        if self._pass is not None:
            self._again = False
            self._pass.abort()

    # ---- attention ------------------------------------------------------------------------
    def request_attention(self, photo_id: int, path: str, text: str) -> Job | None:
        if self.info is None or not self.info.has_attention or self.lane.stopped:
            return None
        job = Job("attention", model_work.attention_for, photo_id, path, text)
        job.result.connect(self.attention_ready)
        job.failed.connect(lambda _msg: self.attention_ready.emit(None))
        return self.lane.submit(job)

    def shutdown(self) -> bool:
        """Stop the pass at its next photo (everything before it is written) and the thread."""
        self.auto = False
        return self.lane.shutdown()

"""The caption engine: photo files in, descriptions out, as fast as the machine allows.

It joins :mod:`photocap.imaging` (Pillow) and :mod:`photocap.model` (torch). Photos are
decoded by a pool of threads (Pillow releases the GIL while decoding and resizing) while
the model runs the previous batch, so neither the CPU cores nor the GPU wait on JPEG
decoding. No Qt and no database here: the CLI and the app's worker both drive it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

# Before torch loads (photocap.model imports it): OpenMP worker threads sleep at barriers
# instead of spinning. The engine decodes JPEGs on other threads while the model runs;
# spinning OpenMP threads fight the decoders for the cores and every small decoder op then
# waits for a descheduled thread (2 cores: the full pipeline went from ~10 to ~28 photos/s,
# bench/caption_throughput.py). Only for processes that caption: training has no decoder
# threads and its many small ops run 10-25 % faster with spinning threads. Import this
# module before torch for it to take effect.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from photocap import imaging
from photocap.model import Captioner, Description
from photocap.model.encoders import DEFAULT_ENCODER
from photocap.prefetch import Prefetcher

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

log = logging.getLogger(__name__)


@dataclass
class CaptionItem:
    """One photo's outcome: a description, or the reason it could not be read."""

    path: str
    description: Description | None = None
    error: imaging.ImageError | None = None
    # (size, mtime_ns) of the file as it was decoded; (-1, -1) if it changed while being read.
    # A library writes the caption only if it still has this version (record_caption).
    version: tuple[int, int] | None = None

    @property
    def ok(self) -> bool:
        return self.description is not None


class CaptionEngine:
    def __init__(
        self,
        captioner: Captioner,
        beam: int = 3,
        max_len: int = 20,
        batch_size: int = 16,
        decode_workers: int | None = None,
        memory_budget: imaging.MemoryBudget | None = None,
    ):
        self.captioner = captioner
        self.beam = beam
        self.max_len = max_len
        self.batch_size = max(1, batch_size)
        self.decode_workers = decode_workers or (os.cpu_count() or 2)
        # The decoders' full-size pixels are paid for from one budget, however many decoders
        # run (by default the process-wide one, shared with thumbnails): a big photo waits
        # its turn, a photo bigger than the whole budget is refused with its reason.
        self.memory_budget = memory_budget or imaging.DECODE_BUDGET

    @classmethod
    def create(
        cls,
        model_path: str | os.PathLike[str] | None = None,
        device: str = "auto",
        beam: int = 3,
        max_len: int = 20,
        batch_size: int = 16,
        encoder: str = DEFAULT_ENCODER,
        encoder_weights: str | os.PathLike[str] | None = "default",
    ) -> CaptionEngine:
        """With ``model_path`` a trained captioner; without, a tagger that describes photos by tags."""
        if model_path:
            captioner = Captioner.load(model_path, device=device, encoder_weights=encoder_weights)
        else:
            captioner = Captioner.tags_only(encoder, device=device, encoder_weights=encoder_weights)
        return cls(captioner, beam=beam, max_len=max_len, batch_size=batch_size)

    @property
    def model_id(self) -> str:
        return self.captioner.model_id

    def _load(self, path: str) -> Image.Image:
        pre = self.captioner.preprocess
        return imaging.load_for_model(path, pre.size, pre.resize, budget=self.memory_budget)

    def _load_version(self, path: str) -> tuple[Image.Image, tuple[int, int]]:
        """The decoded photo and the file version it came from (stat before and after decoding)."""
        try:
            before = os.stat(path)
        except OSError as exc:
            raise imaging.UnreadableFile(
                path, "the file is gone" if isinstance(exc, FileNotFoundError) else (exc.strerror or type(exc).__name__)
            ) from exc
        image = self._load(path)
        try:
            after = os.stat(path)
        except OSError:
            after = None
        same = after is not None and (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns)
        return image, (before.st_size, before.st_mtime_ns) if same else (-1, -1)

    def warm_up(self) -> None:
        """Run one blank photo through the model: kernels initialise and the ImageNet labels
        load now, not in the middle of the first real batch."""
        from PIL import Image

        size = self.captioner.preprocess.size
        self.describe_images([Image.new("RGB", (size, size), (128, 128, 128))])

    def attention(self, path: str | os.PathLike[str], text: str) -> tuple[list[str], np.ndarray] | None:
        """Per-word attention maps of ``text`` over the photo at ``path`` (attention models only).

        Returns (words, maps ``(n_words, grid_h, grid_w)``) or None; raises ImageError for a bad file.
        """
        if not self.captioner.has_attention:
            return None
        return self.captioner.attend(self._load(str(path)), text, self.max_len)

    def describe_images(self, images: Sequence[Image.Image]) -> list[Description]:
        """Describe already-loaded, already-sized RGB images (one batch)."""
        return self.captioner.describe(images, beam=self.beam, max_len=self.max_len)

    def caption_paths(
        self, paths: Iterable[str | os.PathLike[str]], should_stop: Callable[[], bool] | None = None
    ) -> Generator[CaptionItem, None, None]:
        """Yield one :class:`CaptionItem` per path, in input order.

        Decoding runs ahead by about two batches on a thread pool; the model describes
        one batch at a time on the calling thread. Stopping (``should_stop`` returning
        True, or closing the generator) takes effect between batches.
        """
        lookahead = 2 * self.batch_size + self.decode_workers
        with Prefetcher(self._load_version, self.decode_workers) as decoder:
            decoded = decoder.map((str(Path(p)) for p in paths), ahead=lookahead)
            try:
                while True:
                    batch: list[tuple[str, Image.Image, tuple[int, int]]] = []
                    failed: list[CaptionItem] = []
                    for loaded in decoded:
                        if loaded.error is not None:
                            failed.append(CaptionItem(loaded.item, error=self._reason(loaded.item, loaded.error)))
                        elif loaded.value is not None:  # (always, when loading did not fail)
                            image, version = loaded.value
                            batch.append((loaded.item, image, version))
                        if len(batch) >= self.batch_size:
                            break
                    else:
                        if not batch and not failed:
                            return
                    yield from failed
                    if batch:
                        descriptions = self.describe_images([image for _, image, _ in batch])
                        for (path, _, version), desc in zip(batch, descriptions):
                            yield CaptionItem(path, description=desc, version=version)
                    if should_stop is not None and should_stop():
                        return
            finally:
                decoded.close()

    @staticmethod
    def _reason(path: str, exc: BaseException) -> imaging.ImageError:
        """Why a photo could not be decoded, in photocap's words (an unexpected error is logged)."""
        if isinstance(exc, imaging.ImageError):
            return exc
        log.warning("decoding %s failed", path, exc_info=exc)  # an odd file must not stop the run
        return imaging.CorruptImage(path, imaging.reason_for(exc))

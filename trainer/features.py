"""Encoder features computed once and kept on disk, so training epochs never run the CNN.

A cache is a folder ``<cache_dir>/features/<name>-<key16>/`` holding ``spatial.f16``
``(N, L, C)`` and ``pooled.f16`` ``(N, C)`` as float16 memory maps, and ``index.json``
(written last: a folder without it is an unfinished pass and is ignored). The key is a
hash of everything that changes the numbers: the image files (path, size, mtime), the
encoder (name, weights identity, grid) and the preprocessing. A new folder is built under a
temporary name and renamed into place, so a crash or a cancel never leaves a half cache
that looks whole. Images that cannot be read are listed in the index and skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from photocap import imaging
from photocap.model import Captioner, Encoder
from photocap.prefetch import Loaded, Prefetcher, default_workers
from photocap.progress import RateMeter

CACHE_VERSION = 1


def cache_root() -> Path:
    from photocap.paths import cache_dir

    return cache_dir() / "features"


def cache_key(paths: Sequence[str], encoder: Encoder) -> str:
    h = hashlib.sha256()
    ident = {"v": CACHE_VERSION, "encoder": encoder.spec(), "preprocess": encoder.preprocess.to_dict()}
    h.update(json.dumps(ident, sort_keys=True).encode())
    for p in paths:
        try:
            st = os.stat(p)
            h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{p}\0missing\n".encode())
    return h.hexdigest()


@dataclass
class FeatureProgress:
    done: int
    total: int
    images_per_s: float
    eta_s: float


class FeatureCache:
    """Read side: rows by image path, float32 tensors out."""

    def __init__(self, directory: str | os.PathLike):
        self.dir = Path(directory)
        self.index = json.loads((self.dir / "index.json").read_text())
        n, grid_l, c = self.index["n"], self.index["locations"], self.index["dim"]
        self.spatial = np.memmap(self.dir / "spatial.f16", np.float16, "r", shape=(n, grid_l, c))
        self.pooled = np.memmap(self.dir / "pooled.f16", np.float16, "r", shape=(n, c))
        self.row_of = {p: i for i, p in enumerate(self.index["paths"])}
        self.failed = set(self.index.get("failed", {}))

    @property
    def grid(self) -> tuple[int, int]:
        return tuple(self.index["grid"])

    def __len__(self) -> int:
        return self.index["n"]

    def has(self, path: str) -> bool:
        return path in self.row_of and path not in self.failed

    def get(self, rows: np.ndarray | Sequence[int], pooled: bool = False) -> torch.Tensor:
        rows = np.asarray(rows, dtype=np.int64)
        src = self.pooled if pooled else self.spatial
        return torch.from_numpy(np.ascontiguousarray(src[rows], dtype=np.float32))


def _decoder(encoder: Encoder, name: str) -> Prefetcher[str, Any]:
    """Decodes photos for ``encoder`` on a pool of threads (:mod:`photocap.prefetch`)."""
    pre = encoder.preprocess
    return Prefetcher(lambda path: imaging.load_for_model(path, pre.size, pre.resize), default_workers(), name)


def _image_or_reason(loaded: Loaded[str, Any]) -> tuple[Any, str | None]:
    """(image, None), or (None, why) for a photo that cannot be read; anything else is raised."""
    if loaded.error is None:
        return loaded.value, None
    if isinstance(loaded.error, imaging.ImageError):
        return None, loaded.error.reason
    raise loaded.error


def compute_features(
    paths: Sequence[str],
    encoder: Encoder,
    name: str = "dataset",
    root: str | os.PathLike | None = None,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
    should_stop: Callable[[], bool] | None = None,
) -> Generator[FeatureProgress, None, FeatureCache | None]:
    """Yield progress while building (or ``return`` at once when found); returns the cache.

    Returns ``None`` when ``should_stop`` says so before the end (nothing is left behind).
    Use ``cache = yield from compute_features(...)`` inside another generator, or
    :func:`ensure_features` to just get the cache.
    """
    paths = [str(p) for p in paths]
    key = cache_key(paths, encoder)
    root = Path(root) if root is not None else cache_root()
    final = root / f"{name}-{encoder.name}-{key[:16]}"
    if (final / "index.json").is_file():
        return FeatureCache(final)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{final.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    captioner = Captioner(encoder, device=device)
    pre = encoder.preprocess
    with torch.inference_mode():
        probe = captioner.encode(torch.zeros(1, 3, pre.size, pre.size, dtype=torch.uint8))
    n, (_, grid_l, c) = len(paths), probe.spatial.shape
    spatial = np.memmap(tmp / "spatial.f16", np.float16, "w+", shape=(max(n, 1), grid_l, c))
    pooled = np.memmap(tmp / "pooled.f16", np.float16, "w+", shape=(max(n, 1), c))
    failed: dict[str, str] = {}
    t0 = time.perf_counter()
    speed = RateMeter(clock=time.perf_counter)
    try:
        with _decoder(encoder, "photocap-features") as decoder:
            # decode the next batch while the encoder runs this one
            decoded = decoder.map(paths, ahead=2 * batch_size)
            for start in range(0, n, batch_size):
                end = min(n, start + batch_size)
                loaded = [_image_or_reason(next(decoded)) for _ in range(start, end)]
                good = [i for i, (im, _) in enumerate(loaded) if im is not None]
                for i, (_, err) in enumerate(loaded):
                    if err is not None:
                        failed[paths[start + i]] = err
                if good:
                    enc = captioner.encode([loaded[i][0] for i in good])
                    rows = [start + i for i in good]
                    spatial[rows] = enc.spatial.cpu().numpy().astype(np.float16)
                    pooled[rows] = enc.pooled.cpu().numpy().astype(np.float16)
                speed.update(end)
                yield FeatureProgress(end, n, speed.rate, speed.eta(n - end) or 0.0)
                if should_stop is not None and should_stop() and end < n:
                    decoded.close()
                    raise _Stopped
        spatial.flush()
        pooled.flush()
        del spatial, pooled
        index = {
            "version": CACHE_VERSION,
            "key": key,
            "name": name,
            "n": max(n, 1),
            "locations": grid_l,
            "dim": c,
            "grid": list(probe.grid),
            "encoder": encoder.spec(),
            "preprocess": pre.to_dict(),
            "paths": paths,
            "failed": failed,
            "seconds": round(time.perf_counter() - t0, 2),
        }
        (tmp / "index.json").write_text(json.dumps(index))
        try:
            os.replace(tmp, final)
        except OSError:  # another process finished the same cache first: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
        return FeatureCache(final)
    except _Stopped:
        shutil.rmtree(tmp, ignore_errors=True)
        return None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class _Stopped(Exception):
    pass


def ensure_features(
    paths: Sequence[str],
    encoder: Encoder,
    name: str = "dataset",
    root=None,
    batch_size: int = 32,
    device="cpu",
    progress: Callable[[FeatureProgress], None] | None = None,
) -> FeatureCache:
    gen = compute_features(paths, encoder, name, root, batch_size, device)
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            return stop.value
        if progress is not None:
            progress(p)


class FeatureSource:
    """Encoder features for rows of ``paths``: read from a cache, or computed live.

    Live computation is for fine-tuning the encoder (its last blocks get gradients) and
    for measuring what the cache saves; images are decoded on a thread pool.
    """

    def __init__(
        self,
        paths: Sequence[str],
        encoder: Encoder,
        cache: FeatureCache | None = None,
        pooled: bool = False,
        device: str | torch.device = "cpu",
    ):
        self.paths = list(paths)
        self.encoder = encoder
        self.cache = cache
        self.pooled = pooled
        self.device = torch.device(device)
        self.encoder_calls = 0
        if cache is not None:
            missing = [p for p in self.paths if p not in cache.row_of]
            if missing:
                raise ValueError(f"{len(missing)} images are not in the feature cache (first: {missing[0]})")
            self._rows = np.asarray([cache.row_of[p] for p in self.paths], dtype=np.int64)
        else:
            self._captioner = Captioner(encoder, device=self.device)
            self._decoder = _decoder(encoder, "photocap-images")

    @property
    def cached(self) -> bool:
        return self.cache is not None

    def __call__(self, rows: np.ndarray, grad: bool = False) -> torch.Tensor:
        if self.cache is not None:
            return self.cache.get(self._rows[np.asarray(rows)], self.pooled).to(self.device, non_blocking=True)
        images = []
        for loaded in self._decoder.map([self.paths[i] for i in rows], ahead=len(rows)):
            image, reason = _image_or_reason(loaded)
            if reason is not None:
                raise ValueError(f"cannot read {loaded.item}: {reason}")
            images.append(image)
        x = self._captioner.to_batch(images)
        self.encoder_calls += 1
        from photocap.model.device import autocast

        with torch.set_grad_enabled(grad), autocast(self.device):
            out = self._captioner.encoder(x)
        return (out.pooled if self.pooled else out.spatial).float()

"""The cache folder kept under a size limit: the least recently used thumbnails and feature
caches go first.

Everything in :func:`photocap.paths.cache_dir` can be made again, but thumbnails (one per photo
and size, and a new one each time a photo is edited) and the trainer's feature caches (one
folder per set of photos and encoder, ~125 KB a photo) would otherwise grow without bound.
:func:`prune` removes whole entries, a thumbnail file or a feature cache folder, oldest use
first, until the two together fit in the limit; what is in use is passed as ``keep``. Using an
entry marks it (:func:`touch`). The sentence model's weights and the style files beside them
are small and always needed: they are never pruned.

The limit is the app's setting "cache size" (``AppSettings.cache_limit_mb``), handed to the
command line and the trainer's processes through ``PHOTOCAP_CACHE_LIMIT_MB``; 4 GB by default.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ENV_LIMIT = "PHOTOCAP_CACHE_LIMIT_MB"
DEFAULT_LIMIT_MB = 4096
MIN_LIMIT_MB = 64
THUMBS, FEATURES = "thumbs", "features"
MB = 1024 * 1024


def limit_mb() -> int:
    """The limit in force: ``PHOTOCAP_CACHE_LIMIT_MB`` (at least 64), else 4096."""
    try:
        return max(MIN_LIMIT_MB, int(os.environ.get(ENV_LIMIT, DEFAULT_LIMIT_MB)))
    except ValueError:
        return DEFAULT_LIMIT_MB


def set_limit_mb(mb: int) -> None:
    """The app's setting, for this process and those it starts (teaching)."""
    os.environ[ENV_LIMIT] = str(max(MIN_LIMIT_MB, int(mb)))


def touch(path: str | os.PathLike) -> None:
    """Mark a cache entry as just used."""
    try:
        os.utime(path)
    except OSError:
        pass


@dataclass
class Entry:
    path: Path
    size: int
    used: float  # the latest modification or use (mtime)


def _thumbnails(root: Path) -> Iterable[Entry]:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith(".tmp"):  # being written
                continue
            try:
                st = os.stat(os.path.join(dirpath, name))
            except OSError:
                continue
            yield Entry(Path(dirpath, name), st.st_size, st.st_mtime)


def _feature_caches(root: Path) -> Iterable[Entry]:
    try:
        folders = [e for e in os.scandir(root) if e.is_dir(follow_symlinks=False) and not e.name.endswith(".tmp")]
    except OSError:
        return
    for folder in folders:
        size, used = 0, 0.0
        try:
            used = folder.stat().st_mtime
            for f in os.scandir(folder.path):
                st = f.stat(follow_symlinks=False)
                size, used = size + st.st_size, max(used, st.st_mtime)
        except OSError:
            continue
        yield Entry(Path(folder.path), size, used)


def entries(root: str | os.PathLike | None = None) -> list[Entry]:
    """Every prunable entry under the cache folder, least recently used first."""
    from photocap.paths import cache_dir

    base = Path(root) if root is not None else cache_dir()
    found = [*_thumbnails(base / THUMBS), *_feature_caches(base / FEATURES)]
    return sorted(found, key=lambda e: e.used)


@dataclass
class Pruned:
    removed: int
    freed: int  # bytes
    size: int  # bytes left in thumbnails and feature caches


def prune(
    limit: int | None = None, root: str | os.PathLike | None = None, keep: Iterable[str | os.PathLike] = ()
) -> Pruned:
    """Remove the least recently used entries until they fit in ``limit`` bytes (default: the
    setting); entries in ``keep`` stay whatever their age. Safe while another process reads an
    entry (an open memory map keeps its file) or writes one (it is made again)."""
    limit = limit_mb() * MB if limit is None else limit
    kept = {Path(k).resolve() for k in keep}
    found = entries(root)
    total = sum(e.size for e in found)
    removed = freed = 0
    for e in found:
        if total <= limit:
            break
        if e.path.resolve() in kept:
            continue
        if e.path.is_dir():
            shutil.rmtree(e.path, ignore_errors=True)
        else:
            try:
                e.path.unlink()
            except OSError:
                continue
        total -= e.size
        removed, freed = removed + 1, freed + e.size
    return Pruned(removed, freed, total)

"""The cache folder stays under its size limit: least recently used thumbnails and feature caches go first."""

from __future__ import annotations

import os
import time

import pytest

from photocap import cache_limit
from photocap.cache_limit import MB, entries, prune

KB = 1024


def _file(path, size, age_s):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    t = time.time() - age_s
    os.utime(path, (t, t))
    return path


def _feature_cache(root, name, size, age_s):
    folder = root / "features" / name
    _file(folder / "spatial.f16", size - 100, age_s)
    _file(folder / "index.json", 100, age_s)
    t = time.time() - age_s
    os.utime(folder, (t, t))
    return folder


def test_prune_keeps_the_cache_under_the_limit_oldest_use_first(tmp_path):
    thumbs = [_file(tmp_path / "thumbs" / "256" / f"{i:02x}" / f"t{i}.jpg", 30 * KB, age_s=1000 - i) for i in range(40)]
    old_features = _feature_cache(tmp_path, "old-0123", 800 * KB, age_s=5000)
    in_use = _feature_cache(tmp_path, "teaching-4567", 900 * KB, age_s=6000)  # oldest, but this run's
    model = _file(tmp_path / "sentence-model.safetensors", 2 * MB, age_s=9000)  # never pruned
    cache_limit.touch(thumbs[0])  # the oldest thumbnail was just shown again
    assert sum(e.size for e in entries(tmp_path)) == 40 * 30 * KB + 1700 * KB

    done = prune(limit=1500 * KB, root=tmp_path, keep=[in_use])
    left = entries(tmp_path)
    assert done.size == sum(e.size for e in left) <= 1500 * KB
    assert done.freed == 40 * 30 * KB + 1700 * KB - done.size
    assert not old_features.exists() and in_use.is_dir() and model.is_file()
    assert thumbs[0].is_file()  # used lately: kept
    gone = [t for t in thumbs if not t.exists()]
    assert gone == thumbs[1 : 1 + len(gone)]  # the least recently used went, in order
    assert done.removed == len(gone) + 1

    assert prune(limit=1500 * KB, root=tmp_path, keep=[in_use]).removed == 0  # already within: nothing goes


def test_a_file_being_written_is_left_alone(tmp_path):
    part = _file(tmp_path / "thumbs" / "256" / "aa" / "x.tmp", 100 * KB, age_s=100)
    building = tmp_path / "features" / "new-89ab.tmp"
    _file(building / "spatial.f16", 100 * KB, age_s=100)
    assert prune(limit=0, root=tmp_path).removed == 0
    assert part.is_file() and building.is_dir()


@pytest.mark.parametrize("env, mb", [(None, 4096), ("512", 512), ("1", 64), ("lots", 4096)])
def test_the_limit_setting(monkeypatch, env, mb):
    if env is None:
        monkeypatch.delenv(cache_limit.ENV_LIMIT, raising=False)
    else:
        monkeypatch.setenv(cache_limit.ENV_LIMIT, env)
    assert cache_limit.limit_mb() == mb


def test_the_app_setting_reaches_the_limit(monkeypatch, tmp_path):
    pytest.importorskip("PySide6")
    from PySide6.QtCore import QSettings

    from photocap.ui.settings import AppSettings

    monkeypatch.setenv(cache_limit.ENV_LIMIT, "1")  # restored after the test, set_limit_mb included
    monkeypatch.delenv(cache_limit.ENV_LIMIT)
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert AppSettings.load(store).cache_limit_mb == 4096
    AppSettings(cache_limit_mb=300).save(store)
    loaded = AppSettings.load(store)
    cache_limit.set_limit_mb(loaded.cache_limit_mb)
    assert cache_limit.limit_mb() == 300


def test_the_thumbnail_loader_prunes_as_it_goes(qtbot, tmp_path, monkeypatch):
    from photocap.ui.jobs import thumbnails
    from photocap.ui.jobs.lanes import Lane
    from tests.library.conftest import make_photo

    monkeypatch.setattr(thumbnails, "FIRST_PRUNE_AFTER", 4)
    monkeypatch.setattr(cache_limit, "limit_mb", lambda: 0)  # everything not in use goes at each prune
    photos = [str(make_photo(tmp_path / f"p{i}.jpg", seed=i)) for i in range(4)]
    lane = Lane("thumbs-prune-test")
    try:
        loader = thumbnails.ThumbnailLoader(lane, size=256)
        for key, path in enumerate(photos):
            with qtbot.waitSignal(loader.ready, timeout=10_000):
                loader.request(key, path)
        cached = [thumbnails.cache_file(p, 256) for p in photos]
        assert [c.exists() for c in cached] == [False, False, False, True]  # pruned before the 4th was made
    finally:
        assert lane.shutdown()

from __future__ import annotations

import numpy as np
import pytest
import torch

from photocap.model import Captioner
from trainer.datasets import load_karpathy
from trainer.features import FeatureCache, FeatureSource, compute_features, ensure_features


def _count_calls(encoder):
    calls = []
    handle = encoder.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    return calls, handle


def test_second_run_hits_the_cache_and_never_calls_the_encoder(tmp_path, synth_json, lite0):
    paths = [r.path for r in load_karpathy(synth_json).images][:10]
    calls, handle = _count_calls(lite0)
    try:
        first = ensure_features(paths, lite0, "t", tmp_path, batch_size=4)
        n_first = sum(calls)
        second = ensure_features(paths, lite0, "t", tmp_path, batch_size=4)
    finally:
        handle.remove()
    assert n_first >= 10  # (plus a one-image probe)
    assert sum(calls) == n_first  # nothing encoded the second time
    assert first.dir == second.dir
    assert first.spatial.dtype == np.float16 and first.spatial.shape == (10, 49, 1280)
    # the cache holds what the captioner computes at inference (float16-rounded)
    with torch.inference_mode():
        direct = Captioner(lite0).encode([__import__("photocap.imaging", fromlist=["x"]).load_for_model(paths[3])])
    got = second.get([3])
    assert torch.allclose(got, direct.spatial, atol=2e-2, rtol=1e-2)
    assert torch.allclose(second.get([3], pooled=True), direct.pooled, atol=2e-2, rtol=1e-2)


def test_key_changes_with_files_and_encoder(tmp_path, synth_json, lite0):
    paths = [r.path for r in load_karpathy(synth_json).images][:3]
    a = ensure_features(paths, lite0, "t", tmp_path)
    b = ensure_features(paths[:2], lite0, "t", tmp_path)
    old = lite0.weights_id
    lite0.weights_id = "other-weights"
    try:
        c = ensure_features(paths, lite0, "t", tmp_path)
    finally:
        lite0.weights_id = old
    assert len({a.dir, b.dir, c.dir}) == 3


def test_unreadable_images_are_listed_and_skipped(tmp_path, synth_json, lite0):
    paths = [r.path for r in load_karpathy(synth_json).images][:3]
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    cache = ensure_features([*paths, str(bad)], lite0, "t", tmp_path / "c")
    assert not cache.has(str(bad)) and cache.has(paths[0])
    assert str(bad) in cache.index["failed"]


def test_cancel_leaves_nothing_that_looks_finished(tmp_path, synth_json, lite0):
    paths = [r.path for r in load_karpathy(synth_json).images][:12]
    gen = compute_features(paths, lite0, "t", tmp_path, batch_size=4, should_stop=lambda: True)
    progress = list(_drain(gen))
    assert progress[-1] is None  # returned None: cancelled
    assert not any(p.name.endswith(".tmp") or (p / "index.json").exists() for p in tmp_path.iterdir())


def _drain(gen):
    while True:
        try:
            yield next(gen)
        except StopIteration as stop:
            yield stop.value
            return


def test_live_source_matches_cached_source(tmp_path, synth_json, lite0, feature_root):
    ds = load_karpathy(synth_json)
    paths = [r.path for r in ds.images]
    cache = ensure_features(paths, lite0, ds.name, feature_root)
    cached = FeatureSource(paths, lite0, cache)
    live = FeatureSource(paths, lite0, None)
    rows = np.array([5, 1])
    assert torch.allclose(cached(rows), live(rows), atol=2e-2, rtol=1e-2)
    assert live.encoder_calls == 1 and not live.cached
    with pytest.raises(ValueError, match="not in the feature cache"):
        FeatureSource([*paths, "/nope.png"], lite0, cache)
    assert isinstance(cache, FeatureCache) and len(cache) == len(paths)

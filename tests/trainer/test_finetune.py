"""Fine-tuning on new captions: the vocabulary grows without changing what the base model says."""

from __future__ import annotations

import types
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import torch

from photocap.ingest import scan
from photocap.model import Captioner, decode, save_model
from trainer.datasets import ImageRecord
from trainer.datasets.library import held_out_rule, read_user_captions
from trainer.evaluate import generate
from trainer.features import FeatureSource, ensure_features
from trainer.finetune import FinetuneOptions, finetune, finetune_config, finetune_library, grow_base, lift_new_words
from trainer.train import TrainConfig, run_to_end, train


@pytest.fixture(scope="module")
def base_model(synth_json, feature_root, tmp_path_factory):
    """A tiny captioner that knows the synthetic language (trained once for this module)."""
    from trainer.datasets import load_karpathy
    from trainer.train import TrainConfig

    out = tmp_path_factory.mktemp("base")
    cfg = TrainConfig(
        out_dir=str(out),
        embed_dim=32,
        hidden_dim=64,
        attention_dim=32,
        feature_proj=32,
        dropout=0.1,
        batch_size=20,
        epochs=10,
        lr=3e-3,
        val_images=12,
        early_stop=0,
        feature_cache=feature_root,
        device="cpu",
        seed=3,
    )
    run_to_end(train(cfg, load_karpathy(synth_json)))
    return out / "best.safetensors"


def _features(ds, lite0, feature_root):
    paths = [r.path for r in ds.images]
    return FeatureSource(paths, lite0, ensure_features(paths, lite0, ds.name, feature_root))


def test_growing_the_vocabulary_keeps_old_predictions(base_model, synth_ds, lite0, feature_root):
    before = Captioner.load(base_model, device="cpu")
    old_itos = list(before.vocab.itos)
    feats = _features(synth_ds, lite0, feature_root)(np.arange(10))
    ref = decode(before.decoder, feats, beam=1, max_len=20)
    ref_logp, _, _ = before.decoder.step(torch.full((10,), 1), before.decoder.init_state(feats))
    grown = grow_base(base_model, ["Rex and Grandma Ingrid at the lake", "Rex in Tromsø"], device="cpu")
    assert {"rex", "grandma", "ingrid", "tromsø"} <= set(grown.new_words)
    assert grown.vocab.itos[: len(old_itos)] == old_itos  # every old word keeps its id
    assert grown.decoder.vocab_size == len(grown.vocab) == len(old_itos) + len(grown.new_words)
    grown.decoder.eval()
    out = decode(grown.decoder, feats, beam=1, max_len=20)
    assert out.tokens == ref.tokens
    assert np.allclose(out.logprob, ref.logprob, atol=1e-5)
    logp, _, _ = grown.decoder.step(torch.full((10,), 1), grown.decoder.init_state(feats))
    assert torch.allclose(logp[:, : len(old_itos)], ref_logp, atol=1e-5)
    assert logp[:, len(old_itos) :].exp().max() < 1e-6  # new words are never said before fine-tuning
    # made learnable for fine-tuning: the old words' ranking still holds
    lift_new_words(grown.decoder, len(old_itos))
    assert decode(grown.decoder, feats, beam=1, max_len=20).tokens == ref.tokens
    assert grown.decoder.fc.bias[len(old_itos) :].min() > grown.decoder.fc.bias[4 : len(old_itos)].min() - 1e-6


def test_finetune_learns_a_new_name(base_model, synth_ds, lite0, feature_root, tmp_path):
    for rec in synth_ds.images:  # the user calls every shape picture "rex's drawing of ..."
        rec.captions = [f"rex drew {c}" for c in rec.captions[:2]]
    opts = FinetuneOptions(
        out_dir=str(tmp_path / "ft"), epochs=8, lr=3e-3, batch_size=20, device="cpu", feature_cache=feature_root
    )
    events = []
    last, _result = run_to_end(finetune(base_model, synth_ds, opts), events.append)
    assert last.kind == "done"
    assert "rex" in events[0].message
    model = Captioner.load(last.path, device="cpu")
    base = Captioner.load(base_model, device="cpu")
    assert model.vocab.itos[: len(base.vocab)] == base.vocab.itos
    prov = model.meta["provenance"]
    assert prov["parent_model_id"] == base.model_id and "rex" in prov["new_words"]
    val = [i for i, r in enumerate(synth_ds.images) if r.split == "val"]
    hyps = generate(model.decoder, model.vocab, _features(synth_ds, lite0, feature_root), val)
    assert sum(h.startswith("rex drew") for h in hyps) >= len(hyps) // 2


def test_finetune_on_a_real_library(base_model, synth_json, feature_root, tmp_path):
    """The whole way: photos scanned into a photocap library, user captions, fine-tune, a new inactive version."""
    from photocap.library import open_library

    images = Path(synth_json).parent / "images"
    lib_path = tmp_path / "library.sqlite"
    with open_library(lib_path) as lib:
        scan(lib, lib.add_folder(images).id)
        for n, path in enumerate(sorted(images.glob("*.png"))[:40]):
            lib.set_user_caption(lib.photo_by_path(path).id, f"Mio the cat drew picture {n % 4}")
    opts = FinetuneOptions(
        out_dir=str(tmp_path / "ft"), epochs=1, batch_size=20, device="cpu", feature_cache=feature_root
    )
    events = list(finetune_library(lib_path, base_model, opts))
    split = held_out_rule(read_user_captions(lib_path))
    n_train = sum(r.split == "train" for r in split)
    assert 0 < n_train < 40 and sum(r.split == "val" for r in split) >= 3
    assert events[0].message.startswith(f"library: train {n_train} images")
    assert "registered" in events[-1].message
    with open_library(lib_path) as lib:
        versions = {v.model_id: v for v in lib.model_versions()}
        runs = lib.training_runs()
    new = Captioner.load(events[-1].path, device="cpu")
    assert new.model_id in versions and not versions[new.model_id].active
    assert versions[new.model_id].parent_model_id == Captioner.load(base_model, device="cpu").model_id
    assert "mio" in new.vocab
    assert runs[-1].status == "done" and runs[-1].result_model_id == new.model_id and runs[-1].n_examples == n_train


def test_grow_base_refuses_a_tags_only_model(tmp_path):
    cap = types.SimpleNamespace(decoder=None)
    with pytest.raises(ValueError, match="no caption decoder"):
        grow_base(cap if isinstance(cap, Captioner) else _TagsOnly(), ["x"])


class _TagsOnly(Captioner):
    def __init__(self):
        self.decoder = None


# keep the import used (ImageRecord/save_model are part of the public API this module exercises)
assert ImageRecord and save_model


def test_finetune_options_are_train_config_settings(base_model, tmp_path):
    assert {f.name for f in fields(FinetuneOptions)} <= {f.name for f in fields(TrainConfig)}
    cfg = TrainConfig(out_dir="x", epochs=7, lr=0.5, early_stop=9, max_minutes=3.0, seed=4, feature_cache="c")
    opts = FinetuneOptions.from_config(cfg, lr=2e-4)
    assert (opts.out_dir, opts.epochs, opts.lr, opts.early_stop, opts.max_minutes, opts.seed, opts.feature_cache) == (
        "x",
        7,
        2e-4,
        9,
        3.0,
        4,
        "c",
    )
    base = grow_base(base_model, ["a red circle"])
    made = finetune_config(base, opts)
    assert all(getattr(made, f.name) == getattr(opts, f.name) for f in fields(FinetuneOptions) if f.name != "name")
    assert made.name == "fine-tuned on my captions"
    assert (made.decoder, made.hidden_dim, made.encoder) == (
        base.decoder.config.kind,
        base.decoder.config.hidden_dim,
        base.encoder.name,
    )

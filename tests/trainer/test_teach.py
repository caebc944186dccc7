"""Teaching from a library's captions: end to end on a tiny library (tiny network, seconds),
resume after a cancel, compare, import refusals, the fall-back rule, `photocap teach` and `photocap model`."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from photocap.cli import main as photocap_main
from photocap.ingest import scan
from photocap.library import open_library
from photocap.model import Captioner
from photocap.model import confidence as conf
from photocap.model.checkpoint import load_checkpoint
from trainer.datasets import load_karpathy
from trainer.datasets.library import UserCaption
from trainer.synthetic import make_synthetic
from trainer.teach import (
    ImportRefused,
    TeachOptions,
    compare,
    discard_interrupted,
    held_out_rule,
    import_model,
    interrupted_teaching,
    plan_training,
    teach,
)
from trainer.train import TrainControl, run_to_end

TINY = dict(embed_dim=32, hidden_dim=64, attention_dim=32, feature_proj=32, epochs=3, lr=3e-3, log_every=1)


def tiny_opts(**kw) -> TeachOptions:
    return TeachOptions(device="cpu", overrides={**TINY, **kw})


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    d = tmp_path_factory.mktemp("teach-photos")
    return load_karpathy(make_synthetic(d, n_train=14, n_val=0, n_test=4, seed=5, image_size=96))


def make_library(root: Path, synth, n_user: int = 12) -> Path:
    db = root / "library.sqlite"
    root.mkdir(parents=True, exist_ok=True)  # photocap never creates a missing library folder
    with open_library(db) as lib:
        folder = lib.add_folder(Path(synth.images[0].path).parent)
        scan(lib, folder.id)
        for k, rec in enumerate(synth.images):
            pid = lib.photo_by_path(rec.path).id
            if k < n_user:
                lib.set_user_caption(pid, rec.captions[0])
            else:
                lib.record_caption(
                    pid, "envelope or web site", "tags", "tags:efficientnet_lite0", tags=[("envelope", 0.5)]
                )
    return db


@pytest.fixture(scope="module")
def taught(tmp_path_factory, synth):
    """One tiny teaching, shared by the tests that only read its result."""
    db = make_library(tmp_path_factory.mktemp("lib"), synth)
    events = list(teach(db, tiny_opts()))
    return db, events


def test_teach_from_scratch_registers_a_new_inactive_version(taught):
    db, events = taught
    kinds = [e.kind for e in events]
    assert kinds[0] == "info" and "from scratch" in events[0].message
    assert kinds[-1] == "done" and kinds.count("done") == 1
    assert {"features", "start", "step", "validation"} <= set(kinds)
    done = events[-1]
    with open_library(db) as lib:
        versions = lib.model_versions()
        runs = lib.training_runs()
        stats = lib.teaching_stats()
        assert lib.active_model() is None
    assert [v.model_id for v in versions] == [done.metrics["model_id"]]
    v = versions[0]
    assert not v.active and v.path == done.path
    assert Path(v.path).parent == db.parent / "models"
    assert v.metrics["captions"] == 12
    assert runs[-1].status == "done" and runs[-1].result_model_id == v.model_id
    assert stats["since_last"] == 0 and stats["user"] == 12
    ck = load_checkpoint(v.path)
    cal = conf.Calibration.from_meta(ck.meta)
    assert cal is not None and cal.calibrated_on > 0
    assert ck.extra_state[conf.PROTOTYPES_KEY].shape == (12, 1280)  # 12 taught photos (< 20: none held out)
    assert interrupted_teaching(db) is None  # nothing left to resume
    assert not (db.parent / "teaching" / "current").exists()


def test_nothing_to_teach_from_says_so(tmp_path, synth):
    db = make_library(tmp_path, synth, n_user=1)
    with pytest.raises(ValueError, match="at least 2 photos"):
        next(teach(db, tiny_opts()))


def test_cancel_keeps_the_state_and_resume_finishes(tmp_path, synth):
    db = make_library(tmp_path, synth)
    control = TrainControl()
    seen = []
    for ev in teach(db, tiny_opts(epochs=4), control):
        seen.append(ev)
        if ev.kind == "validation" and ev.epoch == 1:
            control.cancel()
    assert seen[-1].kind == "cancelled"
    left = interrupted_teaching(db)
    assert left is not None and left["captions"] == 12 and left["epoch"] == 2
    with open_library(db) as lib:
        assert lib.model_versions() == []
        assert lib.training_runs()[-1].status == "cancelled"
    resumed = list(teach(db, resume=True))
    start = next(e for e in resumed if e.kind == "start")
    assert "resuming" in start.message and start.step > 0
    assert resumed[-1].kind == "done"
    assert interrupted_teaching(db) is None
    with open_library(db) as lib:
        assert [v.model_id for v in lib.model_versions()] == [resumed[-1].metrics["model_id"]]


def test_discard_interrupted(tmp_path, synth):
    db = make_library(tmp_path, synth)
    gen = teach(db, tiny_opts())
    for ev in gen:
        if ev.kind == "step":
            break
    gen.close()  # the consumer went away (the app quit): the state is saved
    assert interrupted_teaching(db) is not None
    discard_interrupted(db)
    assert interrupted_teaching(db) is None
    with pytest.raises(ValueError, match="no interrupted teaching"):
        next(teach(db, resume=True))


def test_second_teaching_fine_tunes_the_active_model(tmp_path, synth):
    db = make_library(tmp_path, synth)
    first = run_to_end(teach(db, tiny_opts()))[0]
    with open_library(db) as lib:
        lib.activate_model(first.metrics["model_id"])
        photo = lib.photo_by_path(synth.images[13].path)
        lib.set_user_caption(photo.id, "Grandma Ingrid with a small red star")
    events = list(teach(db, tiny_opts(epochs=2)))
    assert "fine-tuning " + first.metrics["model_id"] in events[0].message
    assert any("new words" in e.message and "ingrid" in e.message for e in events if e.kind == "info")
    with open_library(db) as lib:
        new = {v.model_id: v for v in lib.model_versions()}[events[-1].metrics["model_id"]]
    assert new.parent_model_id == first.metrics["model_id"]
    assert "ingrid" in Captioner.load(new.path, device="cpu").vocab.itos


def test_compare_shows_user_current_and_new_captions(taught):
    db, events = taught
    c = compare(db, events[-1].metrics["model_id"], limit=5)
    assert 0 < len(c.held_out) <= 5
    row = c.held_out[0]
    assert row.reference and row.current and row.candidate is not None
    assert row.candidate_confidence is not None and 0.0 <= row.candidate_confidence <= 1.0
    assert set(c.scores) == {"current", "candidate"} and set(c.scores["current"]) == {"bleu4", "cider"}
    assert len(c.unedited) == 5  # photos nobody captioned: today's tags description next to the new one
    assert all(r.current == "envelope or web site" and r.reference is None for r in c.unedited)


# ---- knows what it does not know -------------------------------------------------------------------
def test_calibration_score_is_one_half_at_the_stricter_threshold():
    cal = conf.Calibration(distance_max=0.3, distance_scale=0.05, logprob_min=-2.0, logprob_scale=0.5)
    assert cal.score(0.3, -1.0) == pytest.approx(0.5)  # distance at its edge, fluent caption
    assert cal.score(0.1, -2.0) == pytest.approx(0.5)  # familiar photo, caption at the fluency edge
    assert cal.score(0.1, -1.0) > 0.85  # both margins positive (the smaller one, 2 scales, counts)
    assert cal.score(0.6, -1.0) < 0.01  # unlike anything taught
    assert cal.score(0.1, -4.5) < 0.01  # garbled caption
    assert conf.Calibration.from_meta({"confidence": cal.to_meta()}) == cal
    assert conf.Calibration.from_meta({"confidence": {"version": 99}}) is None
    assert conf.Calibration.from_meta({}) is None


def test_calibrate_puts_thresholds_beyond_the_familiar_examples():
    d = np.array([0.05, 0.06, 0.08, 0.1, 0.07])
    lp = np.array([-0.4, -0.6, -0.5, -0.9, -0.7])
    cal = conf.calibrate(d, lp)
    assert cal.distance_max > d.max() and cal.logprob_min < lp.min()
    assert all(cal.score(x, y) > 0.5 for x, y in zip(d, lp))
    assert cal.calibrated_on == 5


def test_nearest_distance_excludes_self():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1]])
    assert conf.nearest_distance(x[:1], x).item() == pytest.approx(0.0, abs=1e-6)
    loo = conf.nearest_distance(x, x, exclude_self=True)
    assert loo[1].item() == pytest.approx(1 - 0.1 / np.hypot(1, 0.1), abs=1e-5)
    assert loo[0].item() < 0.01


def test_fall_back_to_tags_below_the_threshold(taught, synth):
    from photocap.engine import CaptionEngine

    _db, events = taught
    engine = CaptionEngine.create(events[-1].path, device="cpu")
    cap = engine.captioner
    assert cap.calibration is not None and cap.taught is not None
    path = synth.images[0].path
    cap.calibration = conf.Calibration(distance_max=5.0, distance_scale=1.0, logprob_min=-100.0, logprob_scale=1.0)
    sure = next(engine.caption_paths([path])).description
    assert sure.source == "model" and sure.confidence > 0.5 and sure.held_back is None
    cap.calibration = conf.Calibration(distance_max=-1.0, distance_scale=0.01, logprob_min=-100.0, logprob_scale=1.0)
    unsure = next(engine.caption_paths([path])).description
    assert unsure.source == "tags" and unsure.confidence < 0.5
    assert unsure.text != sure.text and unsure.held_back == sure.text
    assert unsure.text.split(",")[0].split(" or ")[0] == unsure.tags[0][0]  # the tags description
    assert unsure.model_id == sure.model_id
    cap.calibration = None  # a model without a calibration (trained elsewhere) is never overruled
    plain = next(engine.caption_paths([path])).description
    assert plain.source == "model" and plain.confidence is None


# ---- rules ---------------------------------------------------------------------------------------
def test_settings_follow_the_data_size(tmp_path):
    out = str(tmp_path)
    tiny, small, big = (
        plan_training(10, 0, out, None),
        plan_training(1500, 150, out, None),
        plan_training(100_000, 10_000, out, None),
    )
    assert (tiny.batch_size, small.batch_size, big.batch_size) == (8, 16, 64)
    assert tiny.early_stop == 0 and tiny.epochs >= 100  # 2 steps/epoch: no early stop, many epochs
    assert small.early_stop == 5 and big.early_stop == 5  # 94 and 1,563 steps per epoch
    assert big.epochs == 3 and big.hidden_dim == 512 and tiny.hidden_dim == 256
    assert tiny.max_minutes == 3.0 and small.max_minutes == 9.0 and big.max_minutes == 60.0
    assert plan_training(10, 0, out, 1.5).max_minutes == 1.5
    assert tiny.monitor == "loss" and big.monitor == "cider"


def test_held_out_rule():
    few = [UserCaption(str(i), f"/p/{i}.jpg", "x", "val" if i == 0 else "train") for i in range(12)]
    assert all(r.split == "train" for r in held_out_rule(few))  # under 20 photos: every one is taught
    many = [UserCaption(str(i), f"/p/{i}.jpg", "x", "val" if i == 0 else "train") for i in range(40)]
    out = held_out_rule(many)
    held = {r.photo_id for r in out if r.split == "val"}
    assert len(held) == 3 and "0" in held  # the library's own split, topped up to 3
    assert held == {r.photo_id for r in held_out_rule(many) if r.split == "val"}  # stable
    lots = [UserCaption(str(i), f"/p/{i}.jpg", "x", "val" if i % 10 == 0 else "train") for i in range(200)]
    assert sum(r.split == "val" for r in held_out_rule(lots)) == 20


# ---- import ----------------------------------------------------------------------------------------
def test_import_validates_copies_and_registers(taught, tmp_path, synth):
    _db, events = taught
    other = make_library(tmp_path / "other", synth, n_user=0)
    info = import_model(other, events[-1].path)
    assert not info.active and Path(info.path).parent == other.parent / "models"
    assert Path(info.path).read_bytes() == Path(events[-1].path).read_bytes()
    with pytest.raises(ImportRefused, match="already in the library"):
        import_model(other, events[-1].path)


@pytest.mark.parametrize("kind", ["pickle", "zip", "text", "missing", "foreign-safetensors"])
def test_import_refuses_bad_files_with_one_line(tmp_path, synth, kind):
    db = make_library(tmp_path, synth, n_user=0)
    bad = tmp_path / f"bad-{kind}.safetensors"
    if kind == "pickle":
        bad.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    elif kind == "zip":
        torch.save({"w": torch.zeros(2)}, bad)
    elif kind == "text":
        bad.write_text("not a model at all\n" * 10)
    elif kind == "foreign-safetensors":
        from safetensors.torch import save_file

        save_file({"w": torch.zeros(2)}, str(bad))
    with pytest.raises(ImportRefused) as err:
        import_model(db, bad)
    assert "\n" not in str(err.value) and str(err.value)
    with open_library(db) as lib:
        assert lib.model_versions() == []
    assert not (db.parent / "models").exists() or not any((db.parent / "models").iterdir())


# ---- command line ------------------------------------------------------------------------------------
@pytest.fixture
def tiny_plan(monkeypatch):
    import trainer.teach as teach_mod

    real = teach_mod.plan_training

    def plan(*a, **kw):
        cfg = real(*a, **kw)
        for k, v in TINY.items():
            setattr(cfg, k, v)
        return cfg

    monkeypatch.setattr(teach_mod, "plan_training", plan)


def test_cli_teach_use_then_model_commands(tmp_path, synth, capsys, tiny_plan):
    db = make_library(tmp_path, synth)
    lib_arg = ["--library", str(db)]
    assert photocap_main(["teach", "--use", "--device", "cpu", *lib_arg]) == 0
    out, err = capsys.readouterr()
    assert "[start]" in out and "[validation]" in out and "[done] registered as" in out
    assert "now describing with" in out and "6 automatic captions will be described again" in out
    with open_library(db) as lib:
        first = lib.active_model()
        assert first is not None and lib.count_needing_caption(first.model_id) == 6
    assert photocap_main(["model", "list", "--json", *lib_arg]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(m["model_id"], m["active"]) for m in listed] == [(first.model_id, True)]
    # describe the automatic captions again with the new model: user captions untouched
    assert photocap_main(["index", *lib_arg, "--device", "cpu"]) == 0
    capsys.readouterr()
    with open_library(db) as lib:
        assert lib.count_needing_caption(first.model_id) == 0
        details = [lib.photo_detail(pid) for pid in lib.list_photo_ids()]
        auto = [d for d in details if d.caption_source in ("model", "tags")]
        assert len(auto) == 6 and all(d.caption_model == first.model_id for d in auto)
        assert all(d.caption_confidence is not None for d in auto)
        assert sum(d.caption_source == "user" for d in details) == 12
    assert photocap_main(["show", auto[0].path, *lib_arg]) == 0
    assert f"model {first.model_id}, {auto[0].caption_confidence:.0%} sure" in capsys.readouterr().out
    assert photocap_main(["teach", *lib_arg, "--device", "cpu", "--quiet"]) == 0
    out = capsys.readouterr().out
    second = out.split("photocap model use ")[-1].strip()
    assert photocap_main(["model", "use", second, *lib_arg]) == 0
    assert photocap_main(["model", "rename", second, "Summer words", *lib_arg]) == 0
    assert photocap_main(["model", "list", *lib_arg]) == 0
    out = capsys.readouterr().out
    assert f"* {second}  Summer words" in out and f"  {first.model_id}  Taught" in out
    assert photocap_main(["model", "remove", second, *lib_arg]) == 1  # in use
    assert "in use" in capsys.readouterr().err
    assert photocap_main(["model", "rollback", *lib_arg]) == 0
    with open_library(db) as lib:
        assert lib.active_model().model_id == first.model_id
    assert photocap_main(["model", "remove", second, *lib_arg]) == 0
    assert photocap_main(["model", "use", "nope", *lib_arg]) == 1
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(pickle.dumps([1, 2]))
    capsys.readouterr()
    assert photocap_main(["model", "import", str(bad), *lib_arg]) == 1
    err = capsys.readouterr().err
    assert err.startswith("photocap: not imported:") and "pickle" in err and err.count("\n") == 1


def test_cli_teach_with_nothing_to_learn(tmp_path, synth, capsys):
    db = make_library(tmp_path, synth, n_user=0)
    assert photocap_main(["teach", "--library", str(db)]) == 2
    assert "write captions for at least 2 photos" in capsys.readouterr().err


def test_photocap_train_finetune_without_a_model_teaches_the_library(tmp_path, synth, capsys, tiny_plan):
    from trainer.cli import main as train_main

    db = make_library(tmp_path, synth)
    assert train_main(["finetune", "--library", str(db), "--device", "cpu", "--epochs", "2", "--quiet"]) == 0
    assert "[done] registered as" in capsys.readouterr().out
    with open_library(db) as lib:
        versions, runs = lib.model_versions(), lib.training_runs()
    assert len(versions) == 1 and versions[0].parent_model_id is None  # no active model: from scratch
    assert runs[-1].params["epochs"] == 2 and runs[-1].status == "done"
    assert train_main(["finetune", "--library", str(db), "--no-register"]) == 2
    assert "need --model" in capsys.readouterr().err


def test_imported_captions_teach_unless_the_library_setting_leaves_them_out(tmp_path, synth):
    from photocap.library.values import SETTING_TEACH_IMPORTED
    from trainer.teach import TeachOptions, _new_plan

    db = make_library(tmp_path / "lib", synth, n_user=12)
    with open_library(db) as lib:
        extra = lib.photo_by_path(synth.images[13].path)
        assert lib.record_caption(extra.id, "a caption written in digiKam", "imported", "XMP sidecar")
    texts = {c[2] for c in _new_plan(db, TeachOptions()).captions}
    assert "a caption written in digiKam" in texts
    with open_library(db) as lib:
        lib.set_setting(SETTING_TEACH_IMPORTED, False)
    texts = {c[2] for c in _new_plan(db, TeachOptions()).captions}
    assert "a caption written in digiKam" not in texts

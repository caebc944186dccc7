"""The training loop on a tiny synthetic set with cached Lite0 features."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from photocap.model import Captioner
from trainer.data import CaptionPairs
from trainer.evaluate import generate
from trainer.features import FeatureSource, ensure_features
from trainer.metrics import score_captions
from trainer.state import StateError
from trainer.train import LAST_FILE, STATE_FILE, TrainControl, make_decoder, run_to_end, train, validation_loss


def _val_scores(decoder, vocab, ds, feature_root, lite0, pooled=False):
    paths = [r.path for r in ds.images]
    src = FeatureSource(paths, lite0, ensure_features(paths, lite0, ds.name, feature_root), pooled=pooled)
    val = [i for i, r in enumerate(ds.images) if r.split == "val"]
    pairs = CaptionPairs([ds.images[i] for i in val], vocab, val)
    hyps = generate(decoder, vocab, src, val)
    bleu = score_captions({i: ds.images[i].captions for i in val}, dict(zip(val, hyps)), "simple", meteor=False)
    return validation_loss(decoder, pairs, src, 64), bleu["BLEU-4"]


@pytest.mark.parametrize("kind", ["attention", "show_tell"])
def test_tiny_run_lowers_val_loss_and_beats_untrained(kind, synth_ds, tiny_cfg, feature_root, lite0):
    cfg = tiny_cfg(decoder=kind, epochs=20)
    events = []
    last, result = run_to_end(train(cfg, synth_ds), events.append)
    assert last.kind == "done"
    kinds = [e.kind for e in events]
    start = kinds.index("start")  # once, before any step; only feature progress (when not cached yet) before it
    assert kinds.count("start") == 1 and set(kinds[:start]) <= {"features"} and "step" not in kinds[:start]
    assert kinds.count("validation") == cfg.epochs and "step" in kinds
    steps = [e for e in events if e.kind == "step"]
    assert all(e.lr > 0 and e.throughput > 0 and e.eta_s is not None for e in steps)
    torch.manual_seed(cfg.seed)
    untrained = make_decoder(cfg, len(result.vocab), 1280, 49)
    loss0, bleu0 = _val_scores(untrained, result.vocab, synth_ds, feature_root, lite0, kind == "show_tell")
    loss1, bleu1 = _val_scores(result.decoder, result.vocab, synth_ds, feature_root, lite0, kind == "show_tell")
    assert loss1 < 0.6 * loss0
    if kind == "attention":
        assert bleu1 > bleu0 + 0.1
    else:  # on 12 val images its short captions rarely share a whole 4-gram yet; CIDEr still shows it learned
        assert result.history[-1]["CIDEr"] > 3 * result.history[0]["CIDEr"] + 0.1
    # the run's models are engine files the app can load and use
    best = Captioner.load(Path(cfg.out_dir) / "best.safetensors", device="cpu")
    assert best.vocab == result.vocab and best.decoder.config.kind == kind
    assert best.meta["provenance"]["metrics"]["CIDEr"] == max(h["CIDEr"] for h in result.history)
    from photocap.imaging import load_for_model

    desc = best.describe([load_for_model(synth_ds.split("val")[0].path)], beam=2)
    assert desc[0].text and desc[0].source == "model"


def _weights(decoder):
    return {k: v.detach().clone() for k, v in decoder.state_dict().items()}


def test_cancel_then_resume_gives_the_same_weights(synth_ds, tiny_cfg, tmp_path):
    straight_cfg = tiny_cfg(out_dir=str(tmp_path / "straight"))
    _, straight = run_to_end(train(straight_cfg, synth_ds))
    cfg = tiny_cfg(out_dir=str(tmp_path / "stopped"))
    control = TrainControl()
    gen = train(cfg, synth_ds, control)
    for ev in gen:
        if ev.kind == "step" and ev.step == 17:  # mid-epoch (12 steps per epoch)
            control.cancel()
        if ev.kind == "cancelled":
            break
    assert ev.kind == "cancelled" and (Path(cfg.out_dir) / STATE_FILE).is_file()
    _, resumed = run_to_end(train(cfg, synth_ds, resume=True))
    a, b = _weights(straight.decoder), _weights(resumed.decoder)
    assert all(torch.equal(a[k], b[k]) for k in a)

    def without_clock(history):  # elapsed_s is wall-clock time: the one field a resume may change
        return [{k: v for k, v in h.items() if k != "elapsed_s"} for h in history]

    assert len(resumed.history) == straight_cfg.epochs
    assert without_clock(resumed.history) == without_clock(straight.history)


def test_closing_the_generator_saves_the_state(synth_ds, tiny_cfg):
    cfg = tiny_cfg(epochs=1)
    gen = train(cfg, synth_ds)
    for ev in gen:
        if ev.kind == "step" and ev.step == 3:
            break
    gen.close()  # what a GUI worker does when aborted
    from trainer.state import load_state

    state = load_state(Path(cfg.out_dir) / STATE_FILE)
    assert state["step"] == 3 and state["epoch"] == 0 and state["batch_in_epoch"] == 3


def test_pause_and_resume_between_steps(synth_ds, tiny_cfg):
    import threading

    control = TrainControl()
    cfg = tiny_cfg(epochs=1)
    seen = []
    for ev in train(cfg, synth_ds, control):
        seen.append(ev.kind)
        if ev.kind == "step" and ev.step == 2:
            control.pause()
            threading.Timer(0.3, control.resume).start()
    assert "paused" in seen and seen[-1] == "done"
    assert seen.index("paused") < len(seen) - 1


def test_resume_refuses_a_different_network(synth_ds, tiny_cfg):
    cfg = tiny_cfg(epochs=1, max_steps=2)
    run_to_end(train(cfg, synth_ds))
    cfg.hidden_dim = 48
    with pytest.raises(StateError, match="hidden_dim"):
        run_to_end(train(cfg, synth_ds, resume=True))


KILLED_RUN = textwrap.dedent("""
    import sys
    from trainer.datasets import load_karpathy
    from trainer.train import TrainConfig, train
    cfg = TrainConfig(**eval(sys.argv[2]))
    for ev in train(cfg, load_karpathy(sys.argv[1]), resume=True):
        print(ev.kind, ev.step, flush=True)
""")


@pytest.mark.slow
def test_kill_minus_9_then_resume_matches_an_uninterrupted_run(synth_ds, synth_json, tiny_cfg, tmp_path):
    """A real SIGKILL mid-epoch (no chance to clean up), then --resume: the same final weights."""
    cfg = tiny_cfg(out_dir=str(tmp_path / "killed"), save_every=2, epochs=2)
    script = tmp_path / "run.py"
    script.write_text(KILLED_RUN)
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")])
    )
    proc = subprocess.Popen(
        [sys.executable, str(script), str(synth_json), repr(cfg.to_dict())], stdout=subprocess.PIPE, text=True, env=env
    )
    killed_at = None
    for line in proc.stdout:
        kind, step = line.split()
        if kind == "step" and int(step) >= 15:  # epoch 1, after the state saved at step 14
            proc.send_signal(signal.SIGKILL)
            killed_at = int(step)
            break
    proc.wait(timeout=60)
    assert killed_at is not None and proc.returncode == -signal.SIGKILL
    from trainer.state import load_state

    assert 14 <= load_state(Path(cfg.out_dir) / STATE_FILE)["step"] < 24
    _, resumed = run_to_end(train(cfg, synth_ds, resume=True))
    _, straight = run_to_end(train(tiny_cfg(out_dir=str(tmp_path / "straight"), save_every=2, epochs=2), synth_ds))
    a, b = _weights(straight.decoder), _weights(resumed.decoder)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert Captioner.load(Path(cfg.out_dir) / LAST_FILE, device="cpu").decoder is not None


def test_time_budget_stops_and_still_saves_a_model(synth_ds, tiny_cfg):
    cfg = tiny_cfg(epochs=50, max_minutes=0.02)
    last, result = run_to_end(train(cfg, synth_ds))
    assert last.kind == "done" and "budget" in last.message
    assert result.history and Path(cfg.out_dir, "best.safetensors").is_file()
    assert last.step < 50 * 12


def test_plateau_halves_the_lr_and_early_stopping_ends_the_run(synth_ds, tiny_cfg):
    # a learning rate so small that nothing improves after the first epoch
    cfg = tiny_cfg(epochs=20, lr=1e-7, min_lr=1e-12, lr_patience=0, early_stop=2, monitor="bleu4")
    events = []
    last, result = run_to_end(train(cfg, synth_ds), events.append)
    assert last.kind == "done" and "no improvement in 2 epochs" in last.message
    assert len(result.history) == 3  # the first epoch, then two without improvement
    lrs = [h["lr"] for h in result.history]  # the rate each epoch ran with
    assert lrs[0] == lrs[1] == pytest.approx(1e-7) and lrs[2] == pytest.approx(5e-8)


def test_finetuning_the_encoders_last_block_bypasses_the_cache(synth_ds, tiny_cfg, lite0):
    cfg = tiny_cfg(epochs=1, max_steps=2, finetune_encoder_blocks=1, encoder_lr=1e-3, val_images=2)
    events = []
    _last, result = run_to_end(train(cfg, synth_ds), events.append)
    start = next(e for e in events if e.kind == "start")
    assert not start.metrics["cached_features"] and not any(e.kind == "features" for e in events)
    before, after = lite0.state_dict(), result.encoder.state_dict()
    head = {k for k in after if k.startswith(("backbone._conv_head", "backbone._bn1"))}
    changed = {k for k in after if after[k].dtype.is_floating_point and not torch.equal(before[k], after[k])}
    assert changed and changed <= head  # only the last block moved
    model = Captioner.load(Path(cfg.out_dir) / "best.safetensors", device="cpu")
    assert model.meta["provenance"]["encoder_finetuned"]
    assert torch.equal(model.encoder.state_dict()["backbone._conv_head.weight"], after["backbone._conv_head.weight"])

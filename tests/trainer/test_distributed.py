"""Two processes with gloo on the CPU: both ranks end with the same weights, only rank 0 writes."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, synth_json: str, cfg_dict: dict, out: str) -> None:
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        PHOTOCAP_THREADS="1",
    )
    import torch.distributed as dist
    from safetensors.torch import save_file

    from trainer.datasets import load_karpathy
    from trainer.train import TrainConfig, run_to_end, train

    cfg = TrainConfig(**{**cfg_dict, "out_dir": str(Path(out) / f"run{rank}")})
    kinds = []
    last, result = run_to_end(train(cfg, load_karpathy(synth_json)), lambda e: kinds.append(e.kind))
    assert last.kind == "done"
    # the test's own record of each rank's weights (not something the trainer writes)
    weights = {f"decoder.{k}": v for k, v in result.decoder.state_dict().items()}
    weights.update({f"encoder.{k}": v for k, v in result.encoder.state_dict().items()})
    save_file({k: v.contiguous() for k, v in weights.items()}, str(Path(out) / f"weights{rank}.st"))
    (Path(out) / f"kinds{rank}.txt").write_text(" ".join(kinds))
    dist.destroy_process_group()  # train() joined the group torchrun-style, from the environment


@pytest.mark.slow
def test_two_gloo_processes_agree_and_only_rank0_writes(tmp_path, synth_json, tiny_cfg):
    from safetensors.torch import load_file

    cfg = tiny_cfg(epochs=2)
    mp.start_processes(
        _worker,
        args=(2, _free_port(), str(synth_json), cfg.to_dict(), str(tmp_path)),
        nprocs=2,
        join=True,
        start_method="spawn",
    )
    w0, w1 = load_file(str(tmp_path / "weights0.st")), load_file(str(tmp_path / "weights1.st"))
    assert w0.keys() == w1.keys() and all(torch.equal(w0[k], w1[k]) for k in w0)
    written0 = sorted(p.name for p in (tmp_path / "run0").iterdir())
    assert {"best.safetensors", "last.safetensors", "train_state.pt"} <= set(written0)
    assert not (tmp_path / "run1").exists() or not any((tmp_path / "run1").iterdir())
    # both ranks went through the same epochs and validations
    k0, k1 = ((tmp_path / f"kinds{r}.txt").read_text().split() for r in (0, 1))
    assert k0.count("validation") == k1.count("validation") == 2
    # and each took half of the batches: 240 captions / 20 per step / 2 ranks = 6 steps per epoch
    from trainer.state import load_state

    assert load_state(tmp_path / "run0" / "train_state.pt")["step"] == 12
    # the weights moved away from the initial ones
    from photocap.model import Captioner

    best = Captioner.load(tmp_path / "run0" / "last.safetensors", device="cpu")
    assert all(torch.equal(v, w0[f"decoder.{k}"]) for k, v in best.decoder.state_dict().items())


@pytest.mark.slow
def test_two_gloo_processes_fine_tuning_the_encoder_keep_its_weights_equal(tmp_path, synth_json, tiny_cfg):
    from safetensors.torch import load_file

    from photocap.model import build_encoder

    cfg = tiny_cfg(epochs=1, finetune_encoder_blocks=1, encoder_lr=1e-3, val_images=4)
    mp.start_processes(
        _worker,
        args=(2, _free_port(), str(synth_json), cfg.to_dict(), str(tmp_path)),
        nprocs=2,
        join=True,
        start_method="spawn",
    )
    w0, w1 = load_file(str(tmp_path / "weights0.st")), load_file(str(tmp_path / "weights1.st"))
    assert w0.keys() == w1.keys() and all(torch.equal(w0[k], w1[k]) for k in w0)
    stock = build_encoder("efficientnet_lite0").state_dict()
    changed = [k for k, v in stock.items() if v.is_floating_point() and not torch.equal(v, w0[f"encoder.{k}"])]
    assert changed  # the encoder really was trained (and stayed equal on both ranks)

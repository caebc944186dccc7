"""Multi-GPU / multi-node training under ``torchrun`` (DistributedDataParallel).

``torchrun --nproc_per_node=N -m trainer.cli train ...`` sets RANK, WORLD_SIZE, LOCAL_RANK
and MASTER_ADDR/PORT; :func:`setup` reads them and joins the group: NCCL on GPUs, gloo on
CPU. Without them it is a single process and nothing here does anything. Every rank sees
the same batches list and takes its own share (see ``CaptionPairs.epoch_batches``); only
rank 0 writes files, and decisions (early stop, LR decay, cancel, time budget) are made on
rank 0's numbers and broadcast, so all ranks always take the same path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device: torch.device) -> DistInfo:
    """Join the process group if torchrun started us (idempotent); returns who we are."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(local)
        dist.init_process_group(backend=backend)
    return DistInfo(rank, world, local)


def device_for(info: DistInfo, device: torch.device) -> torch.device:
    """Each local rank gets its own GPU."""
    if info.enabled and device.type == "cuda":
        return torch.device("cuda", info.local_rank)
    return device


def wrap(model: torch.nn.Module, info: DistInfo, device: torch.device) -> torch.nn.Module:
    if not info.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [device.index] if device.type == "cuda" else None
    return DDP(model, device_ids=ids)


def average_grads(params: list[torch.nn.Parameter], info: DistInfo) -> None:
    """Average these parameters' gradients over all ranks (for parameters outside DDP)."""
    if not info.enabled or not params:
        return
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= info.world


def broadcast_floats(values: list[float], info: DistInfo, device: torch.device) -> list[float]:
    """Rank 0's values, on every rank."""
    if not info.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.broadcast(t, src=0)
    return t.tolist()


def any_rank(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True on every rank if it is true on any (cancel requests, time budget)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()

"""The training state for an exact resume: weights, optimiser, scheduler, RNG, position.

Written with ``torch.save`` of plain containers and tensors only (no pickled objects: the
numpy/Python values are converted to lists and numbers), atomically (temporary file +
rename), and read back with ``torch.load(weights_only=True)``, which refuses anything else.
The *models* a run produces are separate files in the engine's format (``save_model``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

STATE_FILE = "train_state.pt"
STATE_VERSION = 1


class StateError(RuntimeError):
    """A training state that cannot be resumed; the message says why and what to do."""


def save_state(path: str | os.PathLike, state: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save({"state_version": STATE_VERSION, **state}, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_state(path: str | os.PathLike) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise StateError(f"cannot resume from {path}: {exc}. Start again without --resume or delete the file.") from exc
    if not isinstance(state, dict) or state.get("state_version") != STATE_VERSION:
        raise StateError(f"{path} is not a photocap training state (version {STATE_VERSION})")
    return state


def rng_state() -> dict[str, Any]:
    out: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])

"""Pick the device (CUDA, then Apple MPS, then CPU), set threads, choose precision."""

from __future__ import annotations

import contextlib
import os

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
_threads_configured = False


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def pick_device(preference: str = "auto") -> torch.device:
    """``auto`` takes the best available; an explicit choice that is not there is an error."""
    pref = (preference or "auto").lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if pref.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError("CUDA was asked for but no CUDA GPU is available; use --device auto or cpu")
        return torch.device(pref)
    if pref == "mps":
        if not mps_available():
            raise RuntimeError("Apple MPS was asked for but is not available on this computer")
        return torch.device("mps")
    if pref == "cpu":
        return torch.device("cpu")
    raise ValueError(f"unknown device {preference!r}; choose one of {', '.join(DEVICE_CHOICES)}")


def device_label(device: torch.device) -> str:
    """Short human name: 'CUDA · NVIDIA H100', 'Apple MPS', 'CPU · 8 threads'."""
    if device.type == "cuda":
        return f"CUDA · {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU · {torch.get_num_threads()} threads"


def configure_threads(num_threads: int | None = None) -> None:
    """Intra-op threads = cores (or ``num_threads``); once, before any torch work."""
    global _threads_configured
    if _threads_configured:
        return
    n = num_threads or int(os.environ.get("PHOTOCAP_THREADS", 0)) or (os.cpu_count() or 1)
    torch.set_num_threads(max(1, n))
    _threads_configured = True


def autocast(device: torch.device) -> contextlib.AbstractContextManager[object]:
    """bf16 (or fp16) autocast on CUDA, where it pays; full precision elsewhere.

    On CPU, bf16 without AMX is slower than fp32, and MPS autocast has had gaps, so both run fp32.
    """
    if device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)
    return contextlib.nullcontext()

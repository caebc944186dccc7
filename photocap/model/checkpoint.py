"""One self-describing model file, without pickle.

A photocap model is a ``.safetensors`` file. Its tensors are the decoder's state dict
(``decoder.*``) and, when the encoder was fine-tuned, the encoder's (``encoder.*``). Its
header metadata holds one JSON document (key ``photocap``) with the format version, the
encoder (id, weights identity, grid), the decoder's hyper-parameters, the vocabulary, the
preprocessing and the provenance (who trained it, on what, when, with which scores).

safetensors never executes code while reading, and we check the first bytes before
parsing so a pickle or a zip (``torch.save``) file is refused with a clear message.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

FORMAT = "photocap-captioner"
FORMAT_VERSION = 1
META_KEY = "photocap"
SUFFIX = ".safetensors"


class CheckpointError(ValueError):
    """A model file that cannot be used; the message says why and what to do."""


@dataclass
class Checkpoint:
    meta: dict
    decoder_state: dict[str, torch.Tensor]
    encoder_state: dict[str, torch.Tensor] = field(default_factory=dict)
    extra_state: dict[str, torch.Tensor] = field(default_factory=dict)  # e.g. taught photos' features


def save_checkpoint(path: str | os.PathLike, meta: dict, decoder_state: dict[str, torch.Tensor],
                    encoder_state: dict[str, torch.Tensor] | None = None,
                    extra_state: dict[str, torch.Tensor] | None = None) -> Path:
    """Write atomically (temporary file + rename): a crash never leaves half a model."""
    from safetensors.torch import save_file

    for key in ("encoder", "decoder", "vocab", "preprocess"):
        if key not in meta:
            raise ValueError(f"checkpoint metadata needs {key!r}")
    full_meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta}
    tensors = {f"decoder.{k}": v.detach().cpu().contiguous() for k, v in decoder_state.items()}
    for k, v in (encoder_state or {}).items():
        tensors[f"encoder.{k}"] = v.detach().cpu().contiguous()
    for k, v in (extra_state or {}).items():
        tensors[f"extra.{k}"] = v.detach().cpu().contiguous()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={META_KEY: json.dumps(full_meta)})
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _sniff(path: Path) -> None:
    with open(path, "rb") as fh:
        head = fh.read(16)
    if len(head) < 8:
        raise CheckpointError(f"{path} is not a photocap model: the file is empty or truncated")
    if head[:2] == b"PK":
        raise CheckpointError(
            f"{path} is a torch.save (zip/pickle) file. photocap refuses pickled models because "
            "loading them can run code; convert it with `photocap-train export` or save a state "
            "dict with safetensors."
        )
    if head[0] == 0x80 and head[1] in range(2, 6):
        raise CheckpointError(f"{path} is a Python pickle. photocap does not load pickles: they can run code.")
    header_len = int.from_bytes(head[:8], "little")
    size = path.stat().st_size
    if header_len <= 1 or header_len > min(size - 8, 100_000_000) or head[8:9] != b"{":
        raise CheckpointError(f"{path} is not a photocap model (not a safetensors file, or truncated)")


def read_meta(path: str | os.PathLike) -> dict:
    """The JSON metadata only (no tensors read)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"model file not found: {path}")
    _sniff(path)
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            raw = (fh.metadata() or {}).get(META_KEY)
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for bad files
        raise CheckpointError(f"{path} is damaged or truncated: {exc}") from exc
    if raw is None:
        raise CheckpointError(f"{path} is a safetensors file but not a photocap model (no '{META_KEY}' metadata)")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: the model's metadata is not valid JSON ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a photocap captioner (format {meta.get('format')!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} uses model format {version}, newer than this photocap understands "
            f"({FORMAT_VERSION}); update photocap to use it."
        )
    return meta


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    path = Path(path)
    meta = read_meta(path)
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path), device="cpu")
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"{path} is damaged or truncated: {exc}") from exc
    dec = {k[len("decoder."):]: v for k, v in tensors.items() if k.startswith("decoder.")}
    enc = {k[len("encoder."):]: v for k, v in tensors.items() if k.startswith("encoder.")}
    extra = {k[len("extra."):]: v for k, v in tensors.items() if k.startswith("extra.")}
    if not dec:
        raise CheckpointError(f"{path} holds no decoder weights")
    return Checkpoint(meta, dec, enc, extra)

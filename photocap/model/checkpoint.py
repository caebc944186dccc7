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
import math
import os
import tempfile
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any, TypeGuard

import torch

FORMAT = "photocap-captioner"
FORMAT_VERSION = 1
META_KEY = "photocap"
SUFFIX = ".safetensors"


class CheckpointError(ValueError):
    """A model file that cannot be used; the message says why and what to do."""


@dataclass
class Checkpoint:
    meta: dict[str, Any]
    decoder_state: dict[str, torch.Tensor]
    encoder_state: dict[str, torch.Tensor] = field(default_factory=dict)
    extra_state: dict[str, torch.Tensor] = field(default_factory=dict)  # e.g. taught photos' features


def save_checkpoint(
    path: str | os.PathLike[str],
    meta: dict[str, Any],
    decoder_state: dict[str, torch.Tensor],
    encoder_state: dict[str, torch.Tensor] | None = None,
    extra_state: dict[str, torch.Tensor] | None = None,
) -> Path:
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


# The JSON header is read before anything else. A vocabulary of 100,000 words is ~1.5 MB.
MAX_HEADER_BYTES = 16 * 2**20
_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
_FLOAT_DTYPES = frozenset({"F64", "F32", "F16", "BF16"})
# What a sane captioner's settings look like; anything outside is refused before a byte is
# allocated for it (a header saying hidden_dim 16000 once cost 5 GB and 18 s to refuse).
_DIM = (1, 8192)
_DECODER_RANGES: dict[str, tuple[int, int]] = {
    "vocab_size": (5, 500_000),
    "feature_dim": _DIM,
    "embed_dim": _DIM,
    "hidden_dim": _DIM,
    "attention_dim": _DIM,
    "num_layers": (1, 8),
    "feature_proj": (0, 8192),
    "positions": (0, 4096),
}
_PREPROCESS_SIZE = (32, 1024)


@dataclass(frozen=True)
class TensorInfo:
    dtype: str
    shape: tuple[int, ...]


def _refuse(path: Path, why: str) -> CheckpointError:
    return CheckpointError(f"{path}: {why}")


def _sniff(path: Path) -> int:
    """Check the first bytes; returns the length of the safetensors JSON header."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    if len(head) < 8:
        raise CheckpointError(f"{path} is not a photocap model: the file is empty or truncated")
    if head[:2] == b"PK":
        raise CheckpointError(
            f"{path} is a torch.save (zip/pickle) file. photocap refuses pickled models because "
            "loading them can run code; save its state dict with safetensors instead "
            "(safetensors.torch.save_file)."
        )
    if head[0] == 0x80 and head[1] in range(2, 6):
        raise CheckpointError(f"{path} is a Python pickle. photocap does not load pickles: they can run code.")
    header_len = int.from_bytes(head[:8], "little")
    size = path.stat().st_size
    if header_len <= 1 or header_len > size - 8 or head[8:9] != b"{":
        raise CheckpointError(f"{path} is not a photocap model (not a safetensors file, or truncated)")
    if header_len > MAX_HEADER_BYTES:
        raise _refuse(
            path,
            f"the model's header is {header_len / 2**20:.0f} MB, more than photocap reads "
            f"({MAX_HEADER_BYTES // 2**20} MB)",
        )
    return header_len


def read_header(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, TensorInfo]]:
    """The photocap metadata and every tensor's dtype and shape, from the file's header
    alone (no tensor read), each checked: types, ranges, offsets within the file."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a model file")
    if not path.is_file():
        raise CheckpointError(f"model file not found: {path}")
    header_len = _sniff(path)
    with open(path, "rb") as fh:
        fh.seek(8)
        raw_header = fh.read(header_len)
    try:
        header = json.loads(raw_header)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"{path} is damaged or truncated (its header is not valid JSON)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} is not a photocap model (not a safetensors file)")
    metadata = header.pop("__metadata__", None) or {}
    tensors = _tensor_infos(path, header, path.stat().st_size - 8 - header_len)
    raw = metadata.get(META_KEY) if isinstance(metadata, dict) else None
    if raw is None:
        raise CheckpointError(f"{path} is a safetensors file but not a photocap model (no '{META_KEY}' metadata)")
    try:
        meta = json.loads(raw)
    except (json.JSONDecodeError, TypeError):
        raise _refuse(path, "the model's metadata is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise CheckpointError(f"{path} is not a photocap captioner (format {str(found)[:40]!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} uses model format {str(version)[:20]}, newer than this photocap understands "
            f"({FORMAT_VERSION}); update photocap to use it."
        )
    return meta, tensors


def _tensor_infos(path: Path, header: dict[str, Any], data_bytes: int) -> dict[str, TensorInfo]:
    out: dict[str, TensorInfo] = {}
    for name, entry in header.items():
        ok = (
            isinstance(entry, dict)
            and entry.get("dtype") in _DTYPE_BYTES
            and isinstance(entry.get("shape"), list)
            and isinstance(entry.get("data_offsets"), list)
            and len(entry["data_offsets"]) == 2
            and all(_is_int(v) and 0 <= v < 2**40 for v in entry["shape"] + entry["data_offsets"])
        )
        if not ok:
            raise _refuse(path, f"the header's entry for tensor {str(name)[:60]!r} is malformed")
        start, end = entry["data_offsets"]
        count = 1
        for d in entry["shape"]:
            count *= d
        if not start <= end <= data_bytes or end - start != count * _DTYPE_BYTES[entry["dtype"]]:
            raise _refuse(path, f"tensor {str(name)[:60]!r} does not fit the data in the file (damaged or truncated)")
        out[name] = TensorInfo(entry["dtype"], tuple(entry["shape"]))
    return out


def _is_int(v: object) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_int(path: Path, where: str, value: object, lo: int, hi: int) -> None:
    if not _is_int(value):
        raise _refuse(path, f"the model's {where} must be a whole number, not {json.dumps(value)[:40]}")
    if not lo <= value <= hi:
        raise _refuse(path, f"the model's {where} is {value}, outside what photocap accepts ({lo}-{hi})")


def validate_meta(path: str | os.PathLike[str], meta: dict[str, Any]) -> None:
    """Types and ranges of everything a captioner is built from; one line saying what is wrong."""
    from photocap.model.decoders import DECODER_KINDS, DecoderConfig
    from photocap.model.encoders import ENCODERS

    path = Path(path)
    for key in ("encoder", "decoder", "vocab", "preprocess"):
        if not isinstance(meta.get(key), dict):
            raise _refuse(path, f"the model's metadata has no valid {key!r} section")
    enc, dec, vocab, pre = meta["encoder"], meta["decoder"], meta["vocab"], meta["preprocess"]
    if enc.get("name") not in ENCODERS:
        raise _refuse(path, f"unknown encoder {str(enc.get('name'))[:40]!r} (photocap knows {', '.join(ENCODERS)})")
    if enc.get("grid") is not None:
        _check_int(path, "encoder grid", enc["grid"], 1, 64)
    if enc.get("feature_dim") is not None:
        _check_int(path, "encoder feature_dim", enc["feature_dim"], *_DIM)
    known = {f.name for f in dataclass_fields(DecoderConfig)}
    unknown = sorted(set(dec) - known)
    if unknown:
        raise _refuse(path, f"unknown decoder settings: {', '.join(str(u)[:30] for u in unknown[:5])}")
    if dec.get("kind") not in DECODER_KINDS:
        raise _refuse(path, f"unknown decoder kind {str(dec.get('kind'))[:40]!r}")
    if dec.get("rnn", "lstm") not in ("lstm", "gru"):
        raise _refuse(path, f"unknown decoder rnn {str(dec.get('rnn'))[:40]!r}")
    for key, (lo, hi) in _DECODER_RANGES.items():
        if key in dec:
            _check_int(path, f"decoder {key}", dec[key], lo, hi)
    dropout = dec.get("dropout", 0.0)
    if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0.0 <= dropout < 1.0:
        raise _refuse(path, f"the model's decoder dropout must be a number from 0 to 1, not {json.dumps(dropout)[:40]}")
    if enc.get("feature_dim") is not None and dec.get("feature_dim", enc["feature_dim"]) != enc["feature_dim"]:
        raise _refuse(
            path, f"the decoder expects {dec['feature_dim']} features but the encoder gives {enc['feature_dim']}"
        )
    itos = vocab.get("itos")
    if not isinstance(itos, list) or not all(isinstance(w, str) and 0 < len(w) <= 200 for w in itos):
        raise _refuse(path, "the model's vocabulary is not a list of words")
    if len(itos) != dec.get("vocab_size"):
        raise _refuse(path, f"the model's vocabulary has {len(itos)} words but its decoder {dec.get('vocab_size')}")
    _check_int(path, "input size", pre.get("size"), *_PREPROCESS_SIZE)
    if pre.get("resize") not in ("squash", "center_crop"):
        raise _refuse(path, f"unknown resize {str(pre.get('resize'))[:40]!r} (squash or center_crop)")
    for key in ("mean", "std"):
        values = pre.get(key)
        if (
            not isinstance(values, list)
            or len(values) != 3
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
            or (key == "std" and min(values) <= 0)
        ):
            raise _refuse(
                path,
                f"the model's preprocessing {key} must be three finite numbers" + (" above 0" if key == "std" else ""),
            )


def check_shapes(path: str | os.PathLike[str], meta: dict[str, Any], tensors: dict[str, TensorInfo]) -> None:
    """The decoder's tensors in the file are exactly the ones its settings describe (the
    network is built on torch's "meta" device: shapes only, no memory)."""
    from photocap.model.decoders import DecoderConfig, build_decoder

    path = Path(path)
    with torch.device("meta"):
        expected = {
            f"decoder.{k}": tuple(v.shape)
            for k, v in build_decoder(DecoderConfig.from_dict(meta["decoder"])).state_dict().items()
        }
    found = {k: v.shape for k, v in tensors.items() if k.startswith("decoder.")}
    for name, shape in expected.items():
        if name not in found:
            raise _refuse(path, f"the model file lacks the decoder's {name[len('decoder.') :]} weights")
        if found[name] != shape:
            raise _refuse(
                path,
                f"the decoder settings need {name[len('decoder.') :]} of shape "
                f"{'x'.join(map(str, shape))}, the file has {'x'.join(map(str, found[name]))}",
            )
    extra = sorted(set(found) - set(expected))
    if extra:
        raise _refuse(path, f"the model file has weights its settings do not use ({extra[0][len('decoder.') :]})")
    for name, info in tensors.items():
        if (
            name.startswith(("decoder.", "encoder."))
            and info.dtype not in _FLOAT_DTYPES
            and not name.endswith("num_batches_tracked")
        ):
            raise _refuse(path, f"weights {name} are {info.dtype}, not floating point")


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON metadata only (no tensors read), its format and version checked."""
    return read_header(path)[0]


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Header first (types, ranges, shapes against the settings), then the tensors, then a
    check that every weight is a finite number."""
    path = Path(path)
    meta, tensors = read_header(path)
    validate_meta(path, meta)
    check_shapes(path, meta, tensors)
    from safetensors.torch import load_file

    try:
        loaded = load_file(str(path), device="cpu")
    except Exception:
        raise CheckpointError(f"{path} is damaged or truncated") from None
    for name, t in loaded.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise _refuse(
                path,
                f"the weights {name} contain NaN or infinite values: the model is broken (did its training diverge?)",
            )
    dec = {k[len("decoder.") :]: v for k, v in loaded.items() if k.startswith("decoder.")}
    enc = {k[len("encoder.") :]: v for k, v in loaded.items() if k.startswith("encoder.")}
    extra = {k[len("extra.") :]: v for k, v in loaded.items() if k.startswith("extra.")}
    if not dec:
        raise CheckpointError(f"{path} holds no decoder weights")
    return Checkpoint(meta, dec, enc, extra)

"""Model files are input too: hostile headers are refused, in one line, before anything is allocated."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

from photocap.model import Captioner, CheckpointError, save_model
from photocap.model.checkpoint import META_KEY, load_checkpoint, read_header

from .conftest import make_decoder


@pytest.fixture
def model_file(tmp_path, lite0, vocab):
    return save_model(tmp_path / "good.safetensors", lite0, make_decoder("attention", vocab), vocab)


def _rewrite(src, dst, change_meta=None, change_tensors=None):
    """A copy of a model file with its metadata and/or tensors changed (as an attacker would)."""
    from safetensors import safe_open

    with safe_open(str(src), framework="pt") as fh:
        meta = json.loads(fh.metadata()[META_KEY])
    tensors = load_file(str(src))
    if change_meta:
        change_meta(meta)
    if change_tensors:
        change_tensors(tensors)
    save_file(tensors, str(dst), metadata={META_KEY: json.dumps(meta)})
    return dst


def _refusal(path) -> str:
    with pytest.raises(CheckpointError) as err:
        Captioner.load(path, device="cpu")
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def _set(section, key, value):
    def change(meta):
        meta[section][key] = value

    return change


@pytest.mark.parametrize(
    "section,key,value,expect",
    [
        ("decoder", "hidden_dim", 16000, "decoder hidden_dim is 16000, outside what photocap accepts"),
        ("decoder", "hidden_dim", 1_000_000, "decoder hidden_dim is 1000000, outside"),
        ("decoder", "hidden_dim", "48; rm -rf /", "decoder hidden_dim must be a whole number"),
        ("decoder", "hidden_dim", True, "decoder hidden_dim must be a whole number"),
        ("decoder", "hidden_dim", 48.5, "decoder hidden_dim must be a whole number"),
        ("decoder", "kind", "transformer", "unknown decoder kind 'transformer'"),
        ("decoder", "dropout", float("nan"), "dropout must be a number from 0 to 1"),
        ("decoder", "extra", 1, "unknown decoder settings: extra"),
        ("decoder", "vocab_size", 10**9, "decoder vocab_size is 1000000000, outside"),
        ("preprocess", "size", 100000, "input size is 100000, outside what photocap accepts (32-1024)"),
        ("preprocess", "std", [0.2, 0.0, 0.2], "std must be three finite numbers above 0"),
        ("preprocess", "resize", None, "unknown resize"),
        ("encoder", "name", "vgg16", "unknown encoder 'vgg16'"),
        ("encoder", "grid", -3, "encoder grid is -3, outside"),
        ("vocab", "itos", "not a list", "vocabulary is not a list of words"),
    ],
)
def test_bad_settings_are_refused_in_one_line(tmp_path, model_file, section, key, value, expect):
    bad = _rewrite(model_file, tmp_path / "bad.safetensors", _set(section, key, value))
    assert expect in _refusal(bad)


def test_settings_that_disagree_with_the_tensors_fail_before_allocating(tmp_path, model_file):
    """hidden_dim 4096 is in range but the tensors are 48 wide: refused from the header's
    shapes (the network is sized on torch's meta device), in a process that stays small."""
    bad = _rewrite(model_file, tmp_path / "wide.safetensors", _set("decoder", "hidden_dim", 4096))
    assert "the decoder settings need" in _refusal(bad) and "4096" in _refusal(bad)
    script = (
        "import resource, sys\n"
        "from photocap.model.checkpoint import load_checkpoint, CheckpointError\n"
        "import torch\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n    load_checkpoint(sys.argv[1])\nexcept CheckpointError as e:\n    print('refused', e)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(bad)], capture_output=True, text=True, timeout=300)
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("refused"), out.stderr
    assert int(lines[-1]) < 100  # MB; building that decoder for real takes ~350 MB


def test_missing_and_surplus_tensors_are_named(tmp_path, model_file):
    gone = _rewrite(model_file, tmp_path / "gone.safetensors", change_tensors=lambda t: t.pop("decoder.fc.bias"))
    assert "lacks the decoder's fc.bias weights" in _refusal(gone)
    more = _rewrite(
        model_file,
        tmp_path / "more.safetensors",
        change_tensors=lambda t: t.update({"decoder.backdoor": torch.zeros(3)}),
    )
    assert "weights its settings do not use (backdoor)" in _refusal(more)


def test_nan_and_infinite_weights_are_refused(tmp_path, model_file):
    def all_nan(tensors):
        for t in tensors.values():
            t.fill_(float("nan"))

    nan = _rewrite(model_file, tmp_path / "nan.safetensors", change_tensors=all_nan)
    assert "contain NaN or infinite values" in _refusal(nan)
    inf = _rewrite(
        model_file,
        tmp_path / "inf.safetensors",
        change_tensors=lambda t: t["decoder.fc.weight"].__setitem__((0, 0), float("inf")),
    )
    assert "decoder.fc.weight contain NaN or infinite values" in _refusal(inf)


def test_a_folder_is_not_a_model_file(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    assert _refusal(folder) == f"{folder} is a folder, not a model file"


def test_forged_tensor_offsets_and_huge_headers_are_refused(tmp_path, model_file):
    data = model_file.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    name = next(k for k in header if k != "__metadata__")
    header[name]["shape"] = [10**9, 10**3]  # claims a terabyte
    forged = json.dumps(header).encode()
    path = tmp_path / "forged.safetensors"
    path.write_bytes(len(forged).to_bytes(8, "little") + forged + data[8 + n :])
    assert "does not fit the data in the file" in _refusal(path)
    huge = tmp_path / "huge.safetensors"
    huge.write_bytes((10**9).to_bytes(8, "little") + b"{" + b" " * 100)
    assert "not a safetensors file, or truncated" in _refusal(huge)


def test_the_header_is_read_without_the_tensors(model_file):
    meta, tensors = read_header(model_file)
    assert meta["decoder"]["hidden_dim"] == 48
    assert tensors["decoder.fc.weight"].shape == (len(meta["vocab"]["itos"]), 48)
    assert load_checkpoint(model_file).decoder_state["fc.weight"].shape == (len(meta["vocab"]["itos"]), 48)

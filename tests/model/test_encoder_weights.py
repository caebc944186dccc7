"""torchvision's published weights: checked against the hash in their name, never unpickled."""

from __future__ import annotations

import hashlib
import pickle
import urllib.error

import pytest
import torch

from photocap.model.encoders import EncoderWeightsError, _load_state_dict, hub_weights_file


def _weights_file(folder, name_hash: str | None = None):
    """A small state dict saved the way torchvision's files are, named ``tiny-<hash>.pth``."""
    tmp = folder / "tiny.pth"
    torch.save({"w": torch.arange(6.0).reshape(2, 3)}, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    name = f"tiny-{name_hash or digest[:8]}.pth"
    (folder / "checkpoints").mkdir(exist_ok=True)
    path = folder / "checkpoints" / name
    tmp.rename(path)
    return f"https://download.invalid/models/{name}", path


def _no_network(monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)


def test_a_file_with_the_published_hash_loads_as_plain_tensors(tmp_path, monkeypatch):
    _no_network(monkeypatch)
    url, path = _weights_file(tmp_path)
    assert hub_weights_file(url, "tiny weights", tmp_path) == path
    state = _load_state_dict(path)
    assert torch.equal(state["w"], torch.arange(6.0).reshape(2, 3))


def test_a_swapped_file_is_refused(tmp_path, monkeypatch):
    _no_network(monkeypatch)
    url, _path = _weights_file(tmp_path, name_hash="00000000")
    with pytest.raises(EncoderWeightsError) as err:
        hub_weights_file(url, "tiny weights", tmp_path)
    msg = str(err.value)
    assert "not the file torchvision published" in msg and "not 00000000" in msg
    assert "--encoder-weights" in msg and "\n" not in msg


def test_offline_names_the_file_where_to_put_it_and_the_option(tmp_path, monkeypatch):
    _no_network(monkeypatch)
    with pytest.raises(EncoderWeightsError) as err:
        hub_weights_file(
            "https://download.invalid/models/resnet50-0676ba61.pth", "the ImageNet weights for resnet50", tmp_path
        )
    msg = str(err.value)
    assert "resnet50-0676ba61.pth" in msg and str(tmp_path / "checkpoints" / "resnet50-0676ba61.pth") in msg
    assert "--encoder-weights" in msg and "\n" not in msg


def test_a_download_is_checked_against_the_hash(tmp_path, monkeypatch):
    src_url, src = _weights_file(tmp_path)
    fetched = []

    def fake_download(url, dst, hash_prefix=None, progress=True):
        fetched.append((url, hash_prefix))
        with open(dst, "wb") as fh:
            fh.write(src.read_bytes())

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    other = tmp_path / "other"
    path = hub_weights_file(src_url, "tiny weights", other)
    assert path == other / "checkpoints" / src.name and fetched == [(src_url, src.name[5:13])]


def test_weights_that_would_run_code_are_refused_even_with_the_right_hash(tmp_path, monkeypatch):
    _no_network(monkeypatch)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    blob = tmp_path / "evil.pth"
    with open(blob, "wb") as fh:
        pickle.dump({"w": Evil()}, fh)
    digest = hashlib.sha256(blob.read_bytes()).hexdigest()
    (tmp_path / "checkpoints").mkdir()
    path = tmp_path / "checkpoints" / f"evil-{digest[:8]}.pth"
    blob.rename(path)
    assert hub_weights_file(f"https://download.invalid/{path.name}", "evil", tmp_path) == path
    with pytest.raises(EncoderWeightsError, match="would need to run code"):
        _load_state_dict(path)
    assert not marker.exists()

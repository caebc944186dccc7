import json
import pickle
from pathlib import Path

import pytest
import torch

from photocap.model import Captioner, CheckpointError, read_meta, save_model
from photocap.model.checkpoint import FORMAT_VERSION

from .conftest import make_decoder


@pytest.mark.parametrize("kind", ["show_tell", "attention"])
def test_save_load_round_trip_gives_identical_captions(tmp_path, lite0, vocab, photos_224, kind):
    dec = make_decoder(kind, vocab, rnn="gru" if kind == "show_tell" else "lstm")
    original = Captioner(lite0, dec, vocab, device="cpu")
    path = save_model(tmp_path / "m.safetensors", lite0, dec, vocab, name="test model", provenance={"dataset": "unit"})
    loaded = Captioner.load(path, device="cpu")
    assert loaded.meta["name"] == "test model" and loaded.meta["provenance"] == {"dataset": "unit"}
    assert loaded.vocab == vocab and loaded.model_id == read_meta(path)["model_id"]
    a = original.describe(photos_224, beam=3)
    b = loaded.describe(photos_224, beam=3)
    assert [d.text for d in a] == [d.text for d in b]
    assert [d.score for d in a] == pytest.approx([d.score for d in b], abs=1e-5)
    assert any(d.text for d in a)  # the test would be empty if every caption were ""


def test_a_pickle_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    for name, writer in [
        ("evil.pt", lambda f: torch.save({"x": Evil()}, f)),
        ("evil.pkl", lambda f: Path(f).write_bytes(pickle.dumps(Evil()))),
    ]:
        path = tmp_path / name
        writer(path)
        marker.unlink(missing_ok=True)
        with pytest.raises(CheckpointError, match="pickle"):
            Captioner.load(path, device="cpu")
        assert not marker.exists()


def test_truncated_and_garbage_files_are_refused(tmp_path, lite0, vocab):
    path = save_model(tmp_path / "m.safetensors", lite0, make_decoder("attention", vocab), vocab)
    data = path.read_bytes()
    for i, blob in enumerate([data[: len(data) // 2], data[:5], b"", b"\x00" * 64, b"hello world" * 10]):
        bad = tmp_path / f"bad{i}.safetensors"
        bad.write_bytes(blob)
        with pytest.raises(CheckpointError):
            Captioner.load(bad, device="cpu")
    with pytest.raises(CheckpointError, match="not found"):
        Captioner.load(tmp_path / "nope.safetensors")


def test_other_safetensors_and_newer_formats_are_refused(tmp_path):
    from safetensors.torch import save_file

    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, plain)
    with pytest.raises(CheckpointError, match="not a photocap model"):
        read_meta(plain)
    newer = tmp_path / "newer.safetensors"
    meta = {"format": "photocap-captioner", "format_version": FORMAT_VERSION + 1}
    save_file({"decoder.w": torch.zeros(2)}, newer, metadata={"photocap": json.dumps(meta)})
    with pytest.raises(CheckpointError, match="newer"):
        read_meta(newer)


def test_encoder_weight_mismatch_is_refused(tmp_path, vocab):
    from photocap.model import build_encoder

    random_enc = build_encoder("efficientnet_lite0", weights=None)  # weights_id "random"
    path = save_model(tmp_path / "m.safetensors", random_enc, make_decoder("show_tell", vocab), vocab)
    with pytest.raises(CheckpointError, match="trained on encoder weights"):
        Captioner.load(path, device="cpu")  # default weights differ from "random"


def test_fine_tuned_encoder_travels_in_the_file(tmp_path, vocab, photos_224):
    from photocap.model import build_encoder

    enc = build_encoder("efficientnet_lite0")
    with torch.no_grad():
        enc.backbone._conv_head.weight.mul_(1.5)  # as if fine-tuned
    dec = make_decoder("attention", vocab)
    path = save_model(tmp_path / "ft.safetensors", enc, dec, vocab, include_encoder=True)
    loaded = Captioner.load(path, device="cpu")
    assert torch.equal(loaded.encoder.backbone._conv_head.weight, enc.backbone._conv_head.weight)
    # tuned weights have an identity of their own (feature caches key on it) ...
    stock = build_encoder("efficientnet_lite0").weights_id
    assert loaded.encoder.weights_id.startswith(stock + "+tuned-")
    assert loaded.encoder.weights_id == read_meta(path)["encoder"]["weights_id"] == enc.weights_id
    # ... and a later decoder-only save (fine-tuning the decoder on top) still carries them
    again = save_model(tmp_path / "again.safetensors", loaded.encoder, loaded.decoder, vocab)
    reloaded = Captioner.load(again, device="cpu")
    assert torch.equal(reloaded.encoder.backbone._conv_head.weight, enc.backbone._conv_head.weight)
    assert reloaded.encoder.weights_id == loaded.encoder.weights_id

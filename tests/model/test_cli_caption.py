import json

import torch

from photocap.cli import main
from photocap.model import save_model

from .conftest import make_decoder, photo


def test_caption_folder_json(tmp_path, capsys):
    photo(1).save(tmp_path / "a.jpg")
    photo(2).save(tmp_path / "b.png")
    assert main(["caption", str(tmp_path), "--json", "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [p["path"].rsplit("/", 1)[1] for p in out["photos"]] == ["a.jpg", "b.png"]
    assert all(p["source"] == "tags" and p["caption"] and len(p["tags"]) == 3 for p in out["photos"])
    assert out["summary"]["captioned"] == 2 and out["summary"]["failed"] == 0
    assert out["summary"]["photos_per_second"] > 0


def test_bad_files_are_reported_and_exit_status_says_so(tmp_path, capsys):
    photo(1).save(tmp_path / "good.jpg")
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff garbage")
    assert main(["caption", str(tmp_path), str(tmp_path / "missing.jpg")]) == 1
    captured = capsys.readouterr()
    assert "good.jpg" in captured.out and "2 skipped" in captured.out
    assert "bad.jpg" in captured.err and "missing.jpg" in captured.err


def test_with_a_model_file_and_beam(tmp_path, capsys, lite0, vocab):
    model = save_model(tmp_path / "m.safetensors", lite0, make_decoder("attention", vocab), vocab)
    photo(3).save(tmp_path / "c.jpg")
    assert main(["caption", str(tmp_path / "c.jpg"), "--model", str(model), "--beam", "2", "--json"]) == 0
    [p] = json.loads(capsys.readouterr().out)["photos"]
    assert p["source"] == "model" and p["logprob"] < 0


def test_a_pickled_model_is_refused(tmp_path, capsys):
    bad = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(1)}, bad)
    photo(4).save(tmp_path / "d.jpg")
    assert main(["caption", str(tmp_path / "d.jpg"), "--model", str(bad)]) == 2
    assert "pickle" in capsys.readouterr().err

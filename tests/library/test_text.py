"""The shared text helpers: the stemmer agrees with the search index, one duration format."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from photocap.text import format_duration, stem, words
from photocap.ui.text import highlight_runs

TOKENIZER = "porter unicode61 remove_diacritics 2"  # as in the search index's migrations
HARD = (
    "dogs running ran caresses ponies ties caress cats agreed plastered bled motoring sing conflated "
    "hopping tanned falling fizzed failing filing happy sky relational conditional digitizer radically "
    "vietnamization predication operator feudalism decisiveness hopefulness formality sensitivity triplicate "
    "formalize electrical revival allowance airliner gyroscopic adjustable irritant adjustment adoption "
    "homologous communism effective bowdlerize probate cease controlling is as us a café naïve Æsir Ångström "
    "generalizations oscillators beaches seaside skiing children geese news bus this crisis analyses "
    "ÉCOLE straße fiancées niñas über garçons ρόδα собаки sœurs ǅemal ﬁsh ｆｕｌｌ x" + "y" * 70
)


def _fts5_terms(tokens: list[str]) -> list[str]:
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize='{TOKENIZER}')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
    db.executemany("INSERT INTO t(rowid, x) VALUES (?, ?)", enumerate(tokens, 1))
    got = dict(db.execute("SELECT doc, term FROM v"))
    return [got[i] for i in range(1, len(tokens) + 1)]


def test_stem_agrees_with_fts5_on_a_word_list():
    readme = Path(__file__).resolve().parents[2] / "README.md"
    tokens = sorted(
        {w for w in words(HARD + " " + readme.read_text(encoding="utf-8")) if w.isalnum()}
    )  # one unicode61 token each (no inner ' or -)
    assert len(tokens) > 1000
    expected = _fts5_terms(tokens)
    wrong = [(t, stem(t), e) for t, e in zip(tokens, expected) if stem(t) != e]
    assert not wrong, wrong[:20]
    assert stem("running") == "run" and stem("Café") == "cafe"


def test_highlight_follows_the_index_stems():
    # "runs" finds "running" (both index as "run"); the old hand-made stemmer missed this
    assert highlight_runs("a dog running home", ("runs",)) == [("a dog ", False), ("running", True), (" home", False)]
    assert highlight_runs("ponies", ("pony",)) == [("ponies", True)]
    assert highlight_runs("a cat", ("dog",)) == [("a cat", False)]


def test_format_duration():
    assert [format_duration(s) for s in (0, 4.4, 4.6, 65, 3599.4, 3600, 3723, -5)] == [
        "0:00",
        "0:04",
        "0:05",
        "1:05",
        "59:59",
        "1:00:00",
        "1:02:03",
        "0:00",
    ]

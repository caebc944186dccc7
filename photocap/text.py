"""Qt-free text helpers shared by the app, the command line and the trainer.

* :func:`words` / :data:`WORD`: a caption's words as the tokenizer and the highlighter see them;
* :func:`stem`: a word as the search index stores it (agrees with SQLite FTS5's
  ``porter unicode61 remove_diacritics 2`` tokenizer, checked against FTS5 in the tests);
* :func:`format_duration`: "4:05" or "1:02:03".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

# Words are runs of letters/digits, with inner apostrophes or hyphens kept ("dog's", "t-shirt").
WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*", re.UNICODE)

_PORTER = snowballstemmer.stemmer("porter")  # Martin Porter's original algorithm, as FTS5's
_FTS5_MIN, _FTS5_MAX = 3, 64  # FTS5's porter leaves tokens under 3 or over 64 bytes as they are


def words(text: str) -> list[str]:
    """The lower-case words of ``text``; punctuation is dropped."""
    return WORD.findall(text.lower())


def _fold_char(ch: str) -> str:
    base = unicodedata.normalize("NFD", ch)[0]
    return base if base.isascii() else ch


def _fold(token: str) -> str:
    """unicode61 with remove_diacritics 2: lower case, and accents dropped from Latin letters
    ("é" → "e"; Greek "ό" and ligatures like "œ" stay as they are)."""
    return "".join(_fold_char(ch) for ch in token.lower())


@lru_cache(maxsize=4096)
def stem(token: str) -> str:
    """``token`` (one alphanumeric run) as the search index stores it: "dogs" → "dog",
    "running" → "run", "café" → "cafe"."""
    folded = _fold(token)
    if not _FTS5_MIN <= len(folded.encode()) <= _FTS5_MAX:
        return folded
    if folded.isascii():
        return _PORTER.stemWord(folded)
    # FTS5 stems UTF-8 bytes: a letter like "ß" counts as two consonants. Stand each such letter
    # in as that many "Q"s (a consonant no rule names), then put the letters back: the rules only
    # ever change ASCII endings, after the last of them.
    pieces = [ch if ch.isascii() else "Q" * len(ch.encode()) for ch in folded]
    stood_in = "".join(pieces)
    out = _PORTER.stemWord(stood_in)
    kept = next((i for i, (a, b) in enumerate(zip(stood_in, out)) if a != b), min(len(stood_in), len(out)))
    head, n = [], 0
    for ch, piece in zip(folded, pieces):
        if n + len(piece) > kept:
            break
        head.append(ch)
        n += len(piece)
    return "".join(head) + out[n:]


def format_duration(seconds: float) -> str:
    """Whole seconds as "m:ss", or "h:mm:ss" from an hour up; negative counts as 0."""
    s = int(max(0.0, seconds) + 0.5)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"

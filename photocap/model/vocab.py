"""Tokenizer and vocabulary. Needs no download (no nltk punkt): a Unicode word regex.

The vocabulary round-trips through JSON and can grow (fine-tuning on names of people,
pets and places): new words are appended, so every old id keeps its meaning.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from photocap.text import words

PAD, START, END, UNK = "<pad>", "<start>", "<end>", "<unk>"
SPECIALS = (PAD, START, END, UNK)
PAD_ID, START_ID, END_ID, UNK_ID = 0, 1, 2, 3


def tokenize(text: str) -> list[str]:
    """Lower-case words of ``text``; punctuation is dropped."""
    return [w.replace("’", "'") for w in words(text)]


class Vocabulary:
    def __init__(self, words: Sequence[str] = ()):
        self.itos: list[str] = list(SPECIALS)
        self.stoi: dict[str, int] = {w: i for i, w in enumerate(self.itos)}
        for w in words:
            self.add(w)

    def add(self, word: str) -> int:
        idx = self.stoi.get(word)
        if idx is None:
            idx = len(self.itos)
            self.itos.append(word)
            self.stoi[word] = idx
        return idx

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: str) -> bool:
        return word in self.stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.itos == other.itos

    def id(self, word: str) -> int:
        return self.stoi.get(word, UNK_ID)

    @classmethod
    def build(cls, captions: Iterable[str], min_count: int = 1) -> Vocabulary:
        """Words seen at least ``min_count`` times, most frequent first (ties alphabetical)."""
        counts = Counter(w for c in captions for w in tokenize(c))
        keep = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
        return cls(keep)

    def extended(self, captions: Iterable[str], min_count: int = 1) -> tuple[Vocabulary, list[str]]:
        """A copy with the new words of ``captions`` appended; returns it and the added words."""
        counts = Counter(w for c in captions for w in tokenize(c) if w not in self.stoi)
        new = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
        grown = Vocabulary(self.itos[len(SPECIALS) :])
        for w in new:
            grown.add(w)
        return grown, new

    def encode(self, text: str, max_len: int | None = None) -> list[int]:
        """``<start> w1 .. wn <end>`` as ids; ``max_len`` caps the words (not the specials)."""
        words = tokenize(text)
        if max_len is not None:
            words = words[:max_len]
        return [START_ID, *(self.id(w) for w in words), END_ID]

    def decode(self, ids: Iterable[int]) -> str:
        """Words up to the first ``<end>``; specials other than ``<unk>`` are skipped."""
        out = []
        for i in ids:
            i = int(i)
            if i == END_ID:
                break
            if i in (PAD_ID, START_ID):
                continue
            out.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return " ".join(out)

    def to_json(self) -> str:
        return json.dumps({"itos": self.itos})

    @classmethod
    def from_json(cls, text: str | dict[str, Any]) -> Vocabulary:
        data = json.loads(text) if isinstance(text, str) else text
        itos = data["itos"]
        if list(itos[: len(SPECIALS)]) != list(SPECIALS):
            raise ValueError("vocabulary does not start with the special tokens " + " ".join(SPECIALS))
        if len(set(itos)) != len(itos):
            raise ValueError("vocabulary has duplicate words")
        return cls(itos[len(SPECIALS) :])

"""Search by meaning, the engine side: sentence vectors for photos' words and for queries.

Like :mod:`photocap.engine`, a layer between the app/CLI and the model: the library
stores and compares vectors (numpy) but never imports torch, and the model knows no
database, so the loop that reads photos' words from the library, embeds them and writes
the vectors back lives here. The app runs it on its ``meaning`` lane; ``photocap index``
runs it after captioning.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

import numpy as np

from photocap.library.fts import clean_text
from photocap.model.sentence import SentenceEmbedder

if TYPE_CHECKING:
    from photocap.library.library import Library

_OPERATORS = re.compile(r'(?:^|\s)-(?:"[^"]*"?|\S+)|\bOR\b|["*]')


def query_text(typed: str) -> str:
    """The words of a search to embed: without exclusions (``-truck``), ``OR``, quotes or ``*``; any
    ``str`` at all, read as the word search reads it (:func:`~photocap.library.fts.clean_text`: bytes
    that are not UTF-8 from a terminal, control characters)."""
    return " ".join(_OPERATORS.sub(" ", clean_text(typed or "")).split())


def embed_query(embedder: SentenceEmbedder, typed: str) -> np.ndarray | None:
    """The query's unit vector, or None when it has no words worth embedding."""
    text = query_text(typed)
    if not any(ch.isalnum() for ch in text):
        return None
    return embedder.embed([text])[0]


def embed_pending(
    library: Library, embedder: SentenceEmbedder, should_stop: Callable[[], bool] | None = None, chunk: int = 32
) -> Generator[tuple[int, int], None, int]:
    """Give every photo with words a sentence vector; yields (vectors stored, photos still waiting).

    One chunk per step, written before the yield: stopping at any yield loses nothing. A
    caption edited while its old words were being embedded is skipped by the library
    (its vector is made from the new words in a later chunk).
    """
    library.warm_vectors(embedder.model_id)  # here, not in the user's first search
    yield 0, library.count_needing_vectors(embedder.model_id)
    done = 0
    tried: set[tuple[int, str]] = set()
    while should_stop is None or not should_stop():
        todo = [
            (pid, text)
            for pid, text in library.texts_needing_vectors(embedder.model_id, chunk)
            if (pid, text) not in tried
        ]
        if not todo:
            return done
        tried.update(todo)
        vectors = embedder.embed([text for _, text in todo])
        done += library.store_text_vectors(embedder.model_id, [(pid, text, v) for (pid, text), v in zip(todo, vectors)])
        yield done, library.count_needing_vectors(embedder.model_id)
    return done

"""Broader words for a photo's tags, so general words find specific photos.

The tagger's labels are ImageNet classes, which are WordNet noun synsets; the table in
``resources/imagenet_hypernyms.json`` (built once by ``scripts/build_hypernyms.py``
from WordNet 3.0) gives each label its synonyms and hypernyms: "Egyptian cat" -> domestic
cat, cat, feline, carnivore, mammal, animal...; "canoe" -> small boat, boat, vessel,
watercraft. These go into ``photos.tags_broader``, an FTS column weighted below the tags
(see ``fts.BM25_WEIGHTS``), so "animal" finds the cat, after photos that say "animal".

Only tags the tagger was fairly sure of count (the top one, and others with at least
``MIN_SHARE`` of its probability): a 2% "lynx" guess should not make a cat photo "wild".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from functools import lru_cache

from photocap.paths import resource_path

log = logging.getLogger(__name__)
TABLE = "imagenet_hypernyms.json"
MIN_SHARE = 0.2


@lru_cache(maxsize=1)
def table() -> dict[str, tuple[str, ...]]:
    """ImageNet label -> broader words, nearest first (read once)."""
    try:
        doc = json.loads(resource_path(TABLE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("broader tag words unavailable (%s): search uses the tags themselves", exc)
        return {}  # a broken install: search still works on the direct words
    return {label: tuple(words) for label, words in doc.get("labels", {}).items()}


def broader_words(tags: Sequence[tuple[str, float]]) -> list[str]:
    """The broader words of the confident tags, nearest first, without repeats or the tags themselves."""
    if not tags:
        return []
    ranked = sorted(tags, key=lambda t: t[1], reverse=True)
    top = ranked[0][1]
    own = {label.lower() for label, _ in tags}
    words: dict[str, None] = {}
    for label, prob in ranked:
        if prob < MIN_SHARE * top:
            break
        for word in table().get(label, ()):
            if word not in own:
                words.setdefault(word)
    return list(words)


def broader_text(tags: Sequence[tuple[str, float]]) -> str:
    """What ``photos.tags_broader`` holds: the words separated by commas (multi-word names stay whole)."""
    return ", ".join(broader_words(tags))

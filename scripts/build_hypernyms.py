"""Build ``resources/imagenet_hypernyms.json``: for each ImageNet class, its broader words.

ImageNet-1k classes are WordNet 3.0 noun synsets (ids like ``n02124075``, the synset's
offset in ``data.noun``). For each class this walks every hypernym path up to the root
and keeps the words people search with (Egyptian cat -> cat, true cat, feline, felid,
carnivore, placental, mammal, vertebrate, animal; canoe -> small boat, boat, vessel,
watercraft, craft, vehicle), plus the class's own synonyms ("tabby" -> "tabby cat").
The abstract top of the tree ("entity", "whole", "artifact", "instrumentality") is left
out: it would make those words find every photo.

Run once, by hand; photocap needs no WordNet at run time::

    apt-get download wordnet-base && dpkg -x wordnet-base_*.deb /tmp/wn
    pip download timm --no-deps -d /tmp/timm && unzip -o /tmp/timm/timm-*.whl 'timm/data/_info/*' -d /tmp/timm
    python scripts/build_hypernyms.py /tmp/wn/usr/share/wordnet/data.noun \
        /tmp/timm/timm/data/_info/imagenet_synsets.txt

WordNet 3.0 is (c) 2006 Princeton University, used under the WordNet 3.0 licence
(permission to use, copy, modify and distribute, with the copyright notice kept; see
``resources/WORDNET-LICENSE``). timm's synset list is Apache-2.0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from photocap.model.tagger import imagenet_labels  # noqa: E402 (after the path)

IMAGENET_LABELS = imagenet_labels()

# Synsets too general to be worth a search word (every photo of a thing is one).
TOO_GENERAL = {
    "entity",
    "physical entity",
    "object",
    "physical object",
    "whole",
    "unit",
    "living thing",
    "animate thing",
    "organism",
    "being",
    "artifact",
    "artefact",
    "instrumentality",
    "instrumentation",
    "causal agent",
    "cause",
    "causal agency",
    "matter",
    "abstraction",
    "abstract entity",
    "thing",
    "part",
    "portion",
    "component part",
    "component",
    "constituent",
    "substance",
    "relation",
    "group",
    "grouping",
    "attribute",
    "psychological feature",
    "natural object",
    "commodity",
    "trade good",
    "good",
    "article",
    "material",
    "stuff",
    "solid",
    "measure",
    "quantity",
    "amount",
    "covering",
    "device",
    "implement",
    "container",
    "structure",
    "construction",
    "system",
    "equipment",
    "chordate",
    "craniate",
    "placental",
    "placental mammal",
    "eutherian",
    "eutherian mammal",
    "invertebrate",
    "plant organ",
    "plant part",
    "plant structure",
    "vascular plant",
    "tracheophyte",
    "creation",
    "decoration",
    "ornament",
    "ornamentation",
    "way",
    "area",
    "region",
    "location",
    "geological formation",
    "formation",
    "food",
    "nutrient",
    "solid food",
    "produce",
    "green goods",
    "green groceries",
    "garden truck",
    "edible fruit",
    "reproductive structure",
    "protective covering",
    "protection",
}


# ImageNet's "cup" (n07930864) is WordNet's punch served in a cup; its photos are cups
SENSE_FIXES = {"cup": ["mug", "teacup", "coffee cup", "crockery", "tableware", "drinking vessel", "vessel"]}


def read_synsets(data_noun: Path) -> dict[str, tuple[list[str], list[str]]]:
    """offset -> (lemmas with spaces, hypernym offsets) for every noun synset."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    for line in data_noun.read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue  # the licence header
        fields = line.split(" | ")[0].split()
        offset, n_words = fields[0], int(fields[3], 16)
        lemmas = [fields[4 + 2 * i] for i in range(n_words)]
        lemmas = [w.split("(")[0].replace("_", " ") for w in lemmas]  # "beaker(a)" markers
        at = 4 + 2 * n_words
        n_ptrs = int(fields[at])
        hypernyms = [fields[at + 1 + 4 * i + 1] for i in range(n_ptrs) if fields[at + 1 + 4 * i] in ("@", "@i")]
        out[offset] = (lemmas, hypernyms)
    return out


def broader(offset: str, synsets: dict[str, tuple[list[str], list[str]]]) -> list[str]:
    """The class's synonyms, then its hypernyms' words, nearest first (breadth-first)."""
    words: list[str] = []
    lemmas, parents = synsets[offset]
    words += lemmas
    seen, todo = {offset}, deque(parents)
    while todo:
        cur = todo.popleft()
        if cur in seen:
            continue
        seen.add(cur)
        cur_lemmas, cur_parents = synsets[cur]
        if not any(w.lower() in TOO_GENERAL for w in cur_lemmas):
            words += cur_lemmas
        todo.extend(cur_parents)
    return list(dict.fromkeys(w.lower() for w in words))


def build(data_noun: Path, synset_list: Path) -> dict[str, list[str]]:
    synsets = read_synsets(data_noun)
    ids = synset_list.read_text().split()
    if len(ids) != len(IMAGENET_LABELS):
        raise SystemExit(f"{synset_list}: {len(ids)} synsets, expected {len(IMAGENET_LABELS)}")
    table: dict[str, list[str]] = {}
    for wnid, label in zip(ids, IMAGENET_LABELS):
        words = broader(wnid.lstrip("n"), synsets)
        words = SENSE_FIXES.get(label, words)
        table[label] = [w for w in words if w != label.lower()]  # the label itself is the tag
    return table


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_noun", type=Path, help="WordNet 3.0 data.noun (Debian: wordnet-base)")
    ap.add_argument("synsets", type=Path, help="imagenet_synsets.txt (timm/data/_info), in class-index order")
    ap.add_argument("--out", type=Path, default=ROOT / "resources" / "imagenet_hypernyms.json")
    args = ap.parse_args(argv)
    table = build(args.data_noun, args.synsets)
    doc = {
        "about": "ImageNet-1k class name -> broader WordNet 3.0 words (synonyms, then hypernyms, nearest "
        "first). Made by scripts/build_hypernyms.py. WordNet 3.0 Copyright 2006 by Princeton "
        "University. All rights reserved. See WORDNET-LICENSE.",
        "labels": table,
    }
    args.out.write_text(
        json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"{len(table)} labels, {sum(map(len, table.values()))} words -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

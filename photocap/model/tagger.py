"""Top-k ImageNet labels from an encoder's classifier head, and a description made of them.

With no caption decoder installed, photocap still says something useful about a photo:
its tags, stored with source ``tags`` so the user (and search) can tell.
"""

from __future__ import annotations

import json
from functools import cache

import torch

from photocap.paths import resource_path

LABELS_FILE = "imagenet_labels.json"


@cache
def imagenet_labels() -> tuple[str, ...]:
    """The 1,000 ImageNet-1k class names in class-index order, as torchvision ships them (a test
    checks), read once from ``resources/imagenet_labels.json``: no download, no torchvision import."""
    with open(resource_path(LABELS_FILE), encoding="utf-8") as fh:
        return tuple(json.load(fh))


def top_tags(logits: torch.Tensor, k: int = 5) -> list[list[tuple[str, float]]]:
    """``(B, 1000)`` logits -> per image the ``k`` most likely (label, probability)."""
    labels = imagenet_labels()
    probs = torch.softmax(logits.float(), dim=-1)
    values, indices = probs.topk(min(k, probs.shape[-1]), dim=-1)
    return [
        [(labels[i], round(p, 4)) for p, i in zip(vs, ix)]
        for vs, ix in zip(values.cpu().tolist(), indices.cpu().tolist())
    ]


def describe_from_tags(tags: list[tuple[str, float]], max_names: int = 3, min_share: float = 0.1) -> str:
    """'Egyptian cat, tiger cat or tabby': the labels that carry a real share of the top one."""
    if not tags:
        return ""
    top_p = tags[0][1]
    names = [name for name, p in tags[:max_names] if p >= min_share * top_p and p >= 0.02] or [tags[0][0]]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]

"""Caption pairs (one image row + one caption, never captions joined) and their batches.

Batches are lists of pair indices, made afresh for every epoch from ``(seed, epoch)`` alone,
so a resumed run sees exactly the batches the interrupted one would have seen, and every
DDP rank can take its own share without talking to the others.

Two ways to batch:

* ``by_image`` (default for attention): all captions of a few images together. The
  decoder then does the per-image work (feature projection, attention keys) once per
  image instead of once per caption - about 5x less of it on COCO-like data.
* length buckets: shuffled pairs, sorted by length within pools of 50 batches, cut into
  batches and shuffled again, so little time goes to padding (Show-and-Tell runs the whole
  padded length).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from photocap.model.vocab import PAD_ID, Vocabulary
from trainer.datasets.base import ImageRecord

MAX_WORDS = 30


@dataclass
class Batch:
    image_rows: np.ndarray  # (I,) feature-cache rows (or indices into ``images``) of the distinct images
    image_index: torch.Tensor  # (B,) which of those each caption belongs to
    captions: torch.Tensor  # (B, T) <start> w.. <end> <pad>..
    pairs: np.ndarray  # (B,) pair indices

    @property
    def num_tokens(self) -> int:
        return int((self.captions[:, 1:] != PAD_ID).sum())


class CaptionPairs:
    """Every (image, caption) of some images, encoded with ``vocab``."""

    def __init__(
        self,
        images: list[ImageRecord],
        vocab: Vocabulary,
        image_rows: list[int] | None = None,
        max_words: int = MAX_WORDS,
    ):
        self.images = images
        rows = image_rows if image_rows is not None else list(range(len(images)))
        pair_img, pair_row, encoded = [], [], []
        for i, (rec, row) in enumerate(zip(images, rows)):
            for cap in rec.captions:
                ids = vocab.encode(cap, max_words)
                if len(ids) <= 2:  # nothing but <start> <end>
                    continue
                pair_img.append(i)
                pair_row.append(row)
                encoded.append(ids)
        self.pair_image = np.asarray(pair_img, dtype=np.int64)  # index into images
        self.pair_row = np.asarray(pair_row, dtype=np.int64)  # feature row
        self.lengths = np.asarray([len(e) for e in encoded], dtype=np.int64)
        width = int(self.lengths.max()) if len(encoded) else 2
        self.tokens = np.full((len(encoded), width), PAD_ID, dtype=np.int64)
        for k, ids in enumerate(encoded):
            self.tokens[k, : len(ids)] = ids

    def __len__(self) -> int:
        return len(self.lengths)

    def batch(self, pairs: np.ndarray) -> Batch:
        pairs = np.asarray(pairs, dtype=np.int64)
        uniq, inverse = np.unique(self.pair_row[pairs], return_inverse=True)
        width = int(self.lengths[pairs].max())
        caps = torch.from_numpy(self.tokens[pairs, :width].copy())
        return Batch(uniq, torch.from_numpy(inverse.reshape(-1).astype(np.int64)), caps, pairs)

    def epoch_batches(
        self, epoch: int, seed: int, batch_size: int, by_image: bool = False, rank: int = 0, world: int = 1
    ) -> list[np.ndarray]:
        """This rank's batches for ``epoch``; every rank gets the same number."""
        rng = np.random.default_rng([seed, epoch])
        if by_image:
            batches = self._by_image(rng, batch_size)
        else:
            batches = self._bucketed(rng, batch_size)
        if world > 1:
            per_rank = len(batches) // world
            batches = batches[rank : per_rank * world : world]
        return batches

    def _by_image(self, rng, batch_size):
        images = rng.permutation(len(self.images))
        pairs_of: dict[int, list[int]] = {}
        for k, i in enumerate(self.pair_image.tolist()):
            pairs_of.setdefault(i, []).append(k)
        batches: list[np.ndarray] = []
        cur: list[int] = []
        for i in images.tolist():
            cur.extend(pairs_of.get(i, ()))
            if len(cur) >= batch_size:
                batches.append(np.asarray(cur, dtype=np.int64))
                cur = []
        if cur:
            batches.append(np.asarray(cur, dtype=np.int64))
        return batches

    def _bucketed(self, rng, batch_size, pool_batches: int = 50):
        order = rng.permutation(len(self))
        batches: list[np.ndarray] = []
        pool = batch_size * pool_batches
        for start in range(0, len(order), pool):
            chunk = order[start : start + pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
        perm = rng.permutation(len(batches))
        return [batches[i] for i in perm]

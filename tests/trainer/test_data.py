from __future__ import annotations

import numpy as np

from photocap.model.vocab import END_ID, PAD_ID, START_ID, Vocabulary
from trainer.data import CaptionPairs
from trainer.datasets.base import ImageRecord


def _pairs(n_images=23, seed=0):
    rng = np.random.default_rng(seed)
    words = ["a", "red", "blue", "circle", "square", "left", "of", "right", "above", "below", "big", "small"]
    recs = [
        ImageRecord(
            f"/x/{i}.png",
            [" ".join(rng.choice(words, rng.integers(2, 12))) for _ in range(rng.integers(1, 6))],
            "train",
        )
        for i in range(n_images)
    ]
    vocab = Vocabulary.build(c for r in recs for c in r.captions)
    return recs, vocab, CaptionPairs(recs, vocab, [100 + i for i in range(n_images)])


def test_every_caption_is_its_own_pair():
    recs, vocab, pairs = _pairs()
    assert len(pairs) == sum(len(r.captions) for r in recs)
    for k in range(len(pairs)):
        rec = recs[pairs.pair_image[k]]
        ids = pairs.tokens[k, : pairs.lengths[k]].tolist()
        assert ids[0] == START_ID and ids[-1] == END_ID
        assert vocab.decode(ids) in [" ".join(c.split()) for c in rec.captions]
        assert pairs.pair_row[k] == 100 + pairs.pair_image[k]


def test_batch_padding_and_image_index():
    _, _, pairs = _pairs()
    b = pairs.batch(np.arange(0, 15))
    assert b.captions.shape[1] == pairs.lengths[:15].max()
    for k, p in enumerate(b.pairs):
        assert b.image_rows[b.image_index[k]] == pairs.pair_row[p]
        n = pairs.lengths[p]
        assert (b.captions[k, n:] == PAD_ID).all() and (b.captions[k, :n] != PAD_ID).all()
    assert len(set(b.image_rows.tolist())) == len(b.image_rows)


def test_epoch_batches_cover_all_once_and_repeat_for_same_epoch():
    _, _, pairs = _pairs()
    for by_image in (False, True):
        a = pairs.epoch_batches(3, 42, 8, by_image)
        again = pairs.epoch_batches(3, 42, 8, by_image)
        other = pairs.epoch_batches(4, 42, 8, by_image)
        assert sorted(np.concatenate(a).tolist()) == list(range(len(pairs)))
        assert all((x == y).all() for x, y in zip(a, again))
        assert any(len(x) != len(y) or (x != y).any() for x, y in zip(a, other))


def test_by_image_keeps_an_images_captions_together():
    _, _, pairs = _pairs()
    for batch in pairs.epoch_batches(0, 1, 10, by_image=True):
        imgs = set(pairs.pair_image[batch].tolist())
        for i in imgs:
            assert set(np.flatnonzero(pairs.pair_image == i).tolist()) <= set(batch.tolist())


def test_length_buckets_reduce_padding():
    _, _, pairs = _pairs(200)

    def waste(batches):
        return sum(pairs.lengths[b].max() * len(b) - pairs.lengths[b].sum() for b in batches)

    rng = np.random.default_rng(0)
    perm = rng.permutation(len(pairs))
    random_batches = [perm[i : i + 16] for i in range(0, len(perm), 16)]
    assert waste(pairs.epoch_batches(0, 0, 16)) < 0.5 * waste(random_batches)


def test_ranks_get_disjoint_equal_shares():
    _, _, pairs = _pairs(60)
    full = pairs.epoch_batches(2, 7, 8)
    r0 = pairs.epoch_batches(2, 7, 8, rank=0, world=2)
    r1 = pairs.epoch_batches(2, 7, 8, rank=1, world=2)
    assert len(r0) == len(r1) == len(full) // 2
    seen0 = set(np.concatenate(r0).tolist())
    seen1 = set(np.concatenate(r1).tolist())
    assert not seen0 & seen1

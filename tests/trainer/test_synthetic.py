from __future__ import annotations

import json
import random

import numpy as np
from PIL import Image

from trainer import synthetic
from trainer.synthetic import COLOURS, Shape, make_scene, make_synthetic, parse_caption, relation, score_captions


def test_same_seed_same_files(tmp_path):
    a = make_synthetic(tmp_path / "a", 6, 2, 2, seed=11, image_size=64)
    b = make_synthetic(tmp_path / "b", 6, 2, 2, seed=11, image_size=64)
    c = make_synthetic(tmp_path / "c", 6, 2, 2, seed=12, image_size=64)
    ja, jb, jc = (json.loads(p.read_text()) for p in (a, b, c))
    assert ja["images"] == jb["images"] and ja["images"] != jc["images"]
    for name in ("synth_000000.png", "synth_000009.png"):
        assert (tmp_path / "a/images" / name).read_bytes() == (tmp_path / "b/images" / name).read_bytes()
    assert [im["split"] for im in ja["images"]] == ["train"] * 6 + ["val"] * 2 + ["test"] * 2


def test_captions_describe_the_scene():
    rng = random.Random(5)
    counts = set()
    for i in range(200):
        scene = make_scene(rng, f"{i}.png")
        counts.add(len(scene.shapes))
        assert len(scene.captions) == 5 and len(set(scene.captions)) >= 4  # several phrasings
        for cap in scene.captions:
            mentions, _rels, count = parse_caption(cap)
            assert len(mentions) == len(scene.shapes)  # every object named, with colour and size
            assert all(m.colour and m.size for m in mentions)
            assert count in (None, len(scene.shapes))
        # every neighbouring pair in the chain captions has its true relation
        scores = score_captions(
            {str(k): c for k, c in enumerate(scene.captions)}, {str(k): scene.shapes for k in range(5)}
        )
        assert scores["object_precision"] == 1.0 and scores["colour_precision"] == 1.0
        if len(scene.shapes) > 1:
            assert scores["relation_accuracy"] == 1.0 and scores["relations_stated"] > 0
    assert counts == {1, 2, 3}


def test_pairs_are_unambiguous_and_apart():
    rng = random.Random(9)
    for _i in range(300):
        shapes = make_scene(rng, "x").shapes
        for a in shapes:
            for b in shapes:
                if a is not b:
                    dx, dy = abs(a.cx - b.cx), abs(a.cy - b.cy)
                    assert max(dx, dy) >= 1.6 * min(dx, dy)
                    assert {relation(a, b), relation(b, a)} in ({"left of", "right of"}, {"above", "below"})


def test_image_has_the_colour_at_each_shape(tmp_path):
    make_synthetic(tmp_path, 8, 0, 0, seed=3, image_size=224)
    scenes = synthetic.load_scenes(tmp_path)
    for name, shapes in scenes.items():
        px = np.asarray(Image.open(tmp_path / "images" / name).convert("RGB")).astype(int)
        for s in shapes:
            got = px[int(s.cy), int(s.cx)]
            assert np.abs(got - np.array(COLOURS[s.colour])).max() <= 25, (name, s)


def test_scoring_catches_wrong_relations_colours_and_phantoms():
    a = Shape("circle", "red", "small", 40, 100, 15)
    b = Shape("square", "blue", "large", 180, 110, 30)
    scenes = {"s": [a, b]}
    good = score_captions({"s": "a small red circle to the left of a large blue square"}, scenes)
    assert good["relation_accuracy"] == 1.0 and good["object_precision"] == 1.0 and good["object_recall"] == 1.0
    wrong_rel = score_captions({"s": "a small red circle above a large blue square"}, scenes)
    assert wrong_rel["relation_accuracy"] == 0.0
    swapped = score_captions({"s": "a large blue square to the left of a small red circle"}, scenes)
    assert swapped["relation_accuracy"] == 0.0
    wrong_col = score_captions({"s": "a small green circle to the left of a large blue square"}, scenes)
    assert wrong_col["colour_precision"] == 0.5 and wrong_col["relations_stated"] == 0  # phantom object: no judgement
    phantom = score_captions({"s": "two shapes a yellow star and a large blue square"}, scenes)
    assert phantom["shape_precision"] == 0.5 and phantom["count_accuracy"] == 1.0

import os

import numpy as np
import pytest

from photocap.engine import CaptionEngine
from photocap.imaging import CorruptImage, UnsupportedFormat
from photocap.model import Captioner

from .conftest import make_decoder, photo


@pytest.fixture
def folder(tmp_path):
    for i in range(7):
        photo(i, (400 + 10 * i, 300)).save(tmp_path / f"p{i}.jpg", quality=90)
    (tmp_path / "notes.jpg").write_text("not a photo")
    cut = tmp_path / "cut.jpg"
    photo(99, (600, 400)).save(cut)
    cut.write_bytes(cut.read_bytes()[:2000])
    return tmp_path


def test_every_path_gets_a_result_in_order(folder, lite0, vocab):
    engine = CaptionEngine(Captioner(lite0, make_decoder("attention", vocab), vocab), beam=2, batch_size=3)
    paths = sorted(folder.iterdir())
    items = list(engine.caption_paths(paths))
    assert [i.path for i in items if i.ok] == [str(p) for p in paths if p.name.startswith("p")]
    errors = {os.path.basename(i.path): i.error for i in items if not i.ok}
    assert set(errors) == {"notes.jpg", "cut.jpg"}
    assert isinstance(errors["notes.jpg"], UnsupportedFormat) and isinstance(errors["cut.jpg"], CorruptImage)
    assert all(i.description.source == "model" and i.description.attention is not None for i in items if i.ok)


def test_batched_pipeline_matches_one_photo_at_a_time(folder, lite0, vocab):
    captioner = Captioner(lite0, make_decoder("show_tell", vocab), vocab)
    paths = sorted(folder.glob("p*.jpg"))
    batched = [i.description.text for i in CaptionEngine(captioner, batch_size=4).caption_paths(paths)]
    single = [i.description.text for i in CaptionEngine(captioner, batch_size=1, decode_workers=1).caption_paths(paths)]
    assert batched == single and len(batched) == 7


def test_stop_between_batches(folder, lite0):
    engine = CaptionEngine(Captioner(lite0), batch_size=2)
    seen = []
    # should_stop reads `seen` between items, so the list grows one item at a time
    for item in engine.caption_paths(sorted(folder.glob("p*.jpg")), should_stop=lambda: len(seen) >= 2):
        seen.append(item)  # noqa: PERF402
    assert len(seen) == 2


def test_tags_only_engine_describes_from_tags(folder):
    engine = CaptionEngine.create(device="cpu")
    [item] = list(engine.caption_paths([folder / "p1.jpg"]))
    d = item.description
    assert d.source == "tags" and d.model_id == "tags:efficientnet_lite0"
    assert d.text and d.tags[0][0] in d.text and len(d.tags) == 5
    assert sum(p for _, p in d.tags) <= 1.0


def test_attention_maps_for_any_caption(folder, lite0, vocab):
    engine = CaptionEngine(Captioner(lite0, make_decoder("attention", vocab), vocab), max_len=8)
    words, maps = engine.attention(folder / "p2.jpg", "A red ball near Rex the dog!")
    assert words == ["a", "red", "ball", "near", "rex", "the", "dog"]  # "rex" is not in the vocabulary
    assert maps.shape == (7, 7, 7)
    assert np.allclose(maps.reshape(7, -1).sum(1), 1.0, atol=1e-4)
    assert engine.attention(folder / "p2.jpg", "...") is None
    tags_only = CaptionEngine(Captioner(lite0))
    assert tags_only.attention(folder / "p2.jpg", "a dog") is None
    tags_only.warm_up()  # runs the model once on a blank photo

"""The rules that protect the user's words, history, review state, models and training runs."""

from __future__ import annotations

import pytest

from photocap.ingest import scan

from .conftest import make_photo


@pytest.fixture
def three(lib, photo_dir):
    for i, name in enumerate(["a.jpg", "b.jpg", "c.jpg"]):
        make_photo(photo_dir / name, seed=i)
    scan(lib, lib.add_folder(photo_dir).id)
    return [lib.photo_by_path(photo_dir / n).id for n in ("a.jpg", "b.jpg", "c.jpg")]


def test_user_caption_survives_recaptioning_after_a_model_change(lib, three):
    a, b, c = three
    for pid in three:
        assert lib.record_caption(pid, f"old caption {pid}", "model", "m1", tags=[("dog", 0.9)])
    lib.set_user_caption(b, "my sister's dog Rex")
    assert {r.id for r in lib.photos_needing_caption("m1")} == set()
    todo = lib.photos_needing_caption("m2")
    assert {r.id for r in todo} == {a, c}  # only photos without a user caption
    assert lib.count_needing_caption("m2") == 2 and lib.count_needing_caption("m1") == 0
    for ref in todo:
        assert lib.record_caption(ref.id, "new caption", "model", "m2")
    assert lib.record_caption(b, "automatic text", "model", "m2") is False
    assert lib.record_caption(b, "tags text", "tags", "tags:x", tags=[("cat", 0.5)]) is False
    detail = lib.photo_detail(b)
    assert (detail.caption, detail.caption_source) == ("my sister's dog Rex", "user")
    assert [h.source for h in detail.history] == ["model", "user"]
    assert detail.tags == [("dog", 0.9)]
    assert lib.photo_detail(a).caption == "new caption"
    assert [h.text for h in lib.photo_detail(a).history] == [f"old caption {a}", "new caption"]
    assert lib.search("rex")[0].photo_id == b
    assert lib.search("automatic") == []


def test_same_caption_again_adds_no_history_row(lib, three):
    a = three[0]
    lib.record_caption(a, "a  red\tsquare", "model", "m1")
    lib.record_caption(a, "a red square", "model", "m1")
    assert [h.text for h in lib.photo_detail(a).history] == ["a red square"]


def test_needs_review_until_looked_at_or_edited(lib, three):
    from photocap.library import PhotoFilter

    a, b, c = three
    for pid in three:
        lib.record_caption(pid, "a photo", "tags", "tags:lite0")
    needs = PhotoFilter(needs_review=True)
    assert lib.count_photos(needs) == 3
    lib.mark_reviewed(a)
    lib.set_user_caption(b, "mine")
    assert lib.list_photo_ids(needs) == [c]
    assert lib.photo_detail(a).needs_review is False
    lib.record_caption(a, "a different photo", "model", "m2")  # a new automatic caption: review again
    assert set(lib.list_photo_ids(needs)) == {a, c}
    assert lib.list_photo_ids(PhotoFilter(sources=("user",))) == [b]


def test_first_ids_puts_visible_photos_first_and_limit_applies(lib, three):
    a, _b, c = three
    assert [r.id for r in lib.photos_needing_caption("m", limit=2, first_ids=[c])] == [c, a]


def test_unknown_source_is_refused(lib, three):
    with pytest.raises(ValueError):
        lib.record_caption(three[0], "x", "robot")


def test_problem_photo_is_not_retried_and_listed(lib, three, photo_dir):
    a = three[0]
    lib.record_problem(a, "damaged image data")
    assert a not in {r.id for r in lib.photos_needing_caption("m")}
    lib.record_problem(photo_dir / "notes" / "x.raw", "not a photo")
    assert {(p.path.rsplit("/", 1)[-1], p.reason) for p in lib.problems()} == {
        ("a.jpg", "damaged image data"),
        ("x.raw", "not a photo"),
    }


def test_user_captions_split_is_stable_and_complete(lib, photo_dir):
    folder = lib.add_folder(photo_dir)
    for i in range(60):
        make_photo(photo_dir / f"p{i:02d}.jpg", seed=i)
    scan(lib, folder.id)
    ids = lib.list_photo_ids(order="path")
    for pid in ids[:50]:
        lib.set_user_caption(pid, f"photo number {pid}")
    everything = lib.user_captions()
    train, val = lib.user_captions("train"), lib.user_captions("val")
    assert len(everything) == 50 and len(train) + len(val) == 50
    assert {u.photo_id for u in train}.isdisjoint({u.photo_id for u in val})
    assert 0 < len(val) < 20
    # moving a photo keeps it on the same side of the split
    moved = val[0]
    (photo_dir / "sub").mkdir()
    new_path = photo_dir / "sub" / "renamed.jpg"
    (photo_dir / moved.path.rsplit("/", 1)[-1]).rename(new_path)
    scan(lib, folder.id)
    after = {u.photo_id: (u.split, u.path) for u in lib.user_captions()}
    assert after[moved.photo_id] == ("val", str(new_path))


def test_model_versions_activation_and_rollback(lib, three):
    lib.register_model_version("m1", "/models/m1.safetensors", "first", None, {"bleu4": 0.2})
    lib.register_model_version("m2", "/models/m2.safetensors", "tuned", "m1", {"bleu4": 0.25})
    assert lib.active_model() is None
    lib.activate_model("m2")
    assert lib.active_model().model_id == "m2"
    assert [m.model_id for m in lib.model_versions() if m.active] == ["m2"]
    lib.activate_model("m1")  # rollback
    active = lib.active_model()
    assert (active.model_id, active.metrics, active.path) == ("m1", {"bleu4": 0.2}, "/models/m1.safetensors")
    assert lib.model_versions()[1].parent_model_id == "m1"
    with pytest.raises(KeyError):
        lib.activate_model("nope")


def test_training_runs_are_recorded(lib):
    run = lib.start_training_run("m1", {"epochs": 3}, n_examples=120)
    assert lib.training_runs()[0].status == "running"
    lib.finish_training_run(run, "done", "m2", {"bleu4": 0.3})
    info = lib.training_runs()[0]
    assert (info.status, info.result_model_id, info.metrics, info.params) == (
        "done",
        "m2",
        {"bleu4": 0.3},
        {"epochs": 3},
    )
    assert info.finished_at >= info.started_at
    with pytest.raises(ValueError):
        lib.finish_training_run(run, "exploded")

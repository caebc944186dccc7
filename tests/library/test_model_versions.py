"""Model versions for teaching: switching re-queues automatic captions only, remove, rename,
teaching statistics, and the confidence kept with each automatic caption."""

from __future__ import annotations

import pytest

from photocap.ingest import scan
from photocap.library.schema import Photo

from .conftest import make_photo


@pytest.fixture
def four(lib, photo_dir):
    names = ["model.jpg", "tags.jpg", "user.jpg", "imported.jpg"]
    for i, name in enumerate(names):
        make_photo(photo_dir / name, seed=i)
    scan(lib, lib.add_folder(photo_dir).id)
    ids = [lib.photo_by_path(photo_dir / n).id for n in names]
    m, t, u, i = ids
    lib.record_caption(m, "a dog on a beach", "model", "m1", confidence=0.83)
    lib.record_caption(t, "beacon or pier", "tags", "m1", tags=[("beacon", 0.4)], confidence=0.12)
    lib.set_user_caption(u, "Rex at Hvide Sande")
    lib.record_caption(i, "granny's garden", "imported")
    for n, model_id in enumerate(("m1", "m2")):
        lib.register_model_version(model_id, None, name=f"model {n}")
    lib.activate_model("m1")
    lib.record_caption(m, "a dog on a beach", "model", "m1", confidence=0.83)  # described again by m1
    lib.record_caption(t, "beacon or pier", "tags", "m1", tags=[("beacon", 0.4)], confidence=0.12)
    return ids


def _stale(lib) -> dict[int, bool]:
    with lib.reading() as s:
        return {p.id: p.caption_stale for p in s.query(Photo)}


def test_confidence_is_kept_with_each_automatic_caption(lib, four):
    m, t, u, i = four
    assert lib.photo_detail(m).caption_confidence == pytest.approx(0.83)
    assert lib.photo_detail(t).history[-1].confidence == pytest.approx(0.12)
    assert lib.photo_detail(t).caption_source == "tags"
    assert lib.photo_detail(u).caption_confidence is None
    assert lib.photo_detail(i).caption_confidence is None


def test_activating_marks_every_automatic_caption_and_never_a_persons(lib, four):
    m, t, u, i = four
    assert lib.count_needing_caption("m1") == 0
    before = {pid: lib.photo_detail(pid).caption for pid in four}
    marked = lib.activate_model("m2")
    assert marked == 2
    assert _stale(lib) == {m: True, t: True, u: False, i: False}
    assert {r.id for r in lib.photos_needing_caption("m2")} == {m, t}
    # rollback: the older version is active again, and its own captions are redone too (asked for)
    lib.activate_model("m1")
    assert lib.active_model().model_id == "m1"
    assert {r.id for r in lib.photos_needing_caption("m1")} == {m, t}
    assert {pid: lib.photo_detail(pid).caption for pid in four} == before  # nothing rewritten by switching
    lib.record_caption(m, "a dog on a beach at dusk", "model", "m1", confidence=0.9)
    assert {r.id for r in lib.photos_needing_caption("m1")} == {t}
    assert lib.photo_detail(u).caption == "Rex at Hvide Sande"


def test_remove_refuses_the_active_version_and_deletes_only_its_own_file(lib, four, tmp_path):
    folder = lib.models_folder
    folder.mkdir(parents=True)
    own = folder / "m3.safetensors"
    own.write_bytes(b"x")
    elsewhere = tmp_path / "my-model.safetensors"
    elsewhere.write_bytes(b"y")
    lib.register_model_version("m3", own, name="taught")
    lib.register_model_version("m4", elsewhere, name="brought")
    with pytest.raises(ValueError, match="in use"):
        lib.remove_model_version("m1")
    with pytest.raises(KeyError):
        lib.remove_model_version("nope")
    lib.remove_model_version("m3")
    lib.remove_model_version("m4")
    assert not own.exists()
    assert elsewhere.exists()  # the user's own file, not photocap's to delete
    assert [v.model_id for v in lib.model_versions()] == ["m1", "m2"]


def test_rename(lib, four):
    assert lib.rename_model_version("m2", "  Summer   words ").name == "Summer words"
    assert {v.model_id: v.name for v in lib.model_versions()}["m2"] == "Summer words"
    with pytest.raises(ValueError):
        lib.rename_model_version("m2", "   ")
    with pytest.raises(KeyError):
        lib.rename_model_version("nope", "x")


def test_teaching_stats_count_captions_since_the_last_teaching(lib, four, photo_dir):
    m, _t, _u, _i = four
    stats = lib.teaching_stats()
    assert (stats["user"], stats["imported"], stats["since_last"], stats["last_taught_at"]) == (1, 1, 1, None)
    run = lib.start_training_run(n_examples=2)
    lib.finish_training_run(run, "done")
    assert lib.teaching_stats()["since_last"] == 0
    lib.set_user_caption(m, "Rex again")
    failed = lib.start_training_run()
    lib.finish_training_run(failed, "cancelled")  # only a finished teaching counts
    stats = lib.teaching_stats()
    assert (stats["user"], stats["since_last"]) == (2, 1)
    assert stats["last_taught_at"] is not None


def test_user_captions_with_imported(lib, four):
    _m, _t, u, i = four
    assert [r.photo_id for r in lib.user_captions()] == [u]
    assert {r.photo_id for r in lib.user_captions(include_imported=True)} == {u, i}


def test_upgrade_from_0003_keeps_captions_without_a_confidence(tmp_path):
    from photocap.library import open_library
    from photocap.library.db import make_sql_engine, upgrade

    db = tmp_path / "old.sqlite"
    engine = make_sql_engine(db)
    upgrade(engine, "0003")  # before captions had a confidence
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO photos (id, path, name, folder_name, size, mtime_ns, identity, status, added_at, updated_at, "
            "caption, caption_source, caption_model, caption_stale, reviewed, tags_text) VALUES (3, '/p/a.jpg', "
            "'a.jpg', 'p', 10, 1, 'abc', 'ok', '2024-01-01', '2024-01-01', 'beacon or pier', 'tags', 't', 0, 0, '')"
        )
        conn.exec_driver_sql(
            "INSERT INTO captions (photo_id, text, source, model_id, created_at) "
            "VALUES (3, 'beacon or pier', 'tags', 't', '2024-01-01')"
        )
    engine.dispose()
    with open_library(db) as lib:
        assert lib.photo_detail(3).history[0].confidence is None
        lib.record_caption(3, "the old pier", "model", "m9", confidence=0.7)
        assert lib.photo_detail(3).caption_confidence == pytest.approx(0.7)

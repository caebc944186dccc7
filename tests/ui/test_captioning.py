"""The captioning worker on its model lane, against a real library and the real tags engine."""

from __future__ import annotations

import pytest

from photocap.ingest import scan
from photocap.library import open_library
from photocap.ui.jobs.captioning import CaptionService
from photocap.ui.jobs.lanes import Job
from tests.ui.conftest import make_corrupt, make_photos, make_truncated


@pytest.fixture
def library(tmp_path):
    folder = tmp_path / "photos"
    make_photos(folder, 40)
    make_corrupt(folder / "zz_broken.jpg")  # the scan already finds this one unreadable
    make_truncated(folder / "zz_truncated.jpg")  # this one only fails when decoded for captioning
    lib = open_library(tmp_path / "library.sqlite")
    info = lib.add_folder(folder)
    scan(lib, info.id)
    yield lib
    assert lib.check_integrity() == []
    lib.close()


@pytest.fixture
def service(qapp, qtbot):
    svc = CaptionService()
    with qtbot.waitSignal(svc.engine_ready, timeout=60_000):
        svc.auto = False
        svc.load_engine(None, "cpu", 1, 12)
    yield svc
    assert svc.shutdown()
    assert svc.lane.thread_finished


def captioned(lib) -> int:
    from photocap.library.search import PhotoFilter

    return lib.count_photos(PhotoFilter(sources=("tags", "model")))


def test_pass_captions_everything_reports_progress_and_records_problems(qtbot, service, library):
    progress, landed = [], []
    service.progress.connect(progress.append)
    service.landed.connect(landed.extend)
    assert service.info.captions_from == "tags" and service.info.device_kind == "CPU"
    with qtbot.waitSignal(service.idle, timeout=120_000) as blocker:
        service.set_library(library)
        service.kick()
    summary = blocker.args[0]
    assert not summary.stopped
    assert captioned(library) == 40
    last = progress[-1]
    assert (last.done, last.failed, last.total) == (40, 1, 41)
    # (the speed it reports depends on the wall clock: RecentRate is tested with an injected clock in test_parts)
    assert len({item.photo_id for item in landed}) == 41  # every outcome reached the GUI
    bad = [item for item in landed if item.error]
    assert len(bad) == 1 and "truncated" in bad[0].error
    problems = {p.path.rsplit("/", 1)[-1]: p.reason for p in library.problems()}
    assert set(problems) == {"zz_broken.jpg", "zz_truncated.jpg"}
    assert "truncated" in problems["zz_truncated.jpg"]
    assert library.photos_needing_caption(service.info.model_id) == []


def test_photos_on_screen_are_captioned_first(qtbot, service, library):
    photos = library.photos_by_ids(library.list_photo_ids(order="added"))
    on_screen = [p.id for p in photos if p.name.startswith("photo_")][-8:]  # otherwise reached last
    landed = []
    service.landed.connect(landed.extend)
    service.set_library(library)
    service.set_visible(on_screen)
    with qtbot.waitSignal(service.idle, timeout=120_000):
        service.kick()
    order = [item.photo_id for item in landed]
    assert set(order[:8]) == set(on_screen)


def test_pause_resume_and_cancel(qtbot, service, library):
    service.set_library(library)
    service.set_paused(True)
    with qtbot.waitSignal(service.pass_parked, timeout=10_000):
        service.kick()
    assert captioned(library) == 0  # parked before its first photo

    with qtbot.waitSignal(service.progress, timeout=60_000):
        service.set_paused(False)
    with qtbot.waitSignal(service.pass_parked, timeout=60_000):
        service.set_paused(True)
    at_pause = captioned(library)
    # the model lane is free while the pass is parked, and the pass does not move
    probe = Job("probe", lambda ctx: captioned(library))
    with qtbot.waitSignal(probe.result, timeout=30_000) as blocker:
        service.lane.submit(probe)
    assert blocker.args == [at_pause]
    assert 0 < at_pause < 40

    # cancel: the pass stops at its next photo; everything reported is in the library
    landed = []
    service.landed.connect(landed.extend)
    service.set_paused(False)
    with qtbot.waitSignal(service.idle, timeout=60_000) as blocker:
        service.stop_pass()
    assert blocker.args[0].stopped
    written = captioned(library)
    assert written >= at_pause + len([x for x in landed if not x.error])
    remaining = library.photos_needing_caption(service.info.model_id)
    assert written + len(remaining) + len(library.problems()) == 42


def test_user_caption_is_never_replaced_by_a_later_pass(qtbot, service, library, attention_model_file):
    ids = library.list_photo_ids()
    library.set_user_caption(ids[0], "my grandmother's red kite")
    service.set_library(library)
    with qtbot.waitSignal(service.idle, timeout=120_000):
        service.kick()
    detail = library.photo_detail(ids[0])
    assert (detail.caption, detail.caption_source) == ("my grandmother's red kite", "user")
    # a new caption model: every automatic caption is redone, the user's is left alone
    with qtbot.waitSignal(service.engine_ready, timeout=60_000):
        service.load_engine(str(attention_model_file), "cpu", 2, 12)
    assert service.info.model_id == "tiny-attn" and service.info.has_attention
    with qtbot.waitSignal(service.idle, timeout=180_000):
        service.kick()
    detail = library.photo_detail(ids[0])
    assert (detail.caption, detail.caption_source) == ("my grandmother's red kite", "user")
    other = library.photo_detail(ids[1])
    assert other.caption_source == "model" and other.caption_model == "tiny-attn"


def test_attention_maps_for_a_stored_caption(qtbot, service, library, attention_model_file):
    with qtbot.waitSignal(service.engine_ready, timeout=60_000):
        service.load_engine(str(attention_model_file), "cpu", 1, 12)
    photo = library.photos_by_ids(library.list_photo_ids()[:1])[0]
    with qtbot.waitSignal(service.attention_ready, timeout=30_000) as blocker:
        service.request_attention(photo.id, photo.path, "a red car on the road")
    maps = blocker.args[0]
    assert maps.photo_id == photo.id and maps.words == ("a", "red", "car", "on", "the", "road")
    n, gh, gw = maps.maps.shape
    assert n == 6 and gh * gw > 1
    assert abs(float(maps.maps[0].sum()) - 1.0) < 1e-3  # each word's map is a distribution


def test_a_caption_of_a_version_replaced_while_it_was_described_is_dropped(qtbot, service, library, monkeypatch):
    """Version 1 is decoded; version 2 is written and recorded before the caption is written:
    version 1's caption is dropped and version 2 stays queued, then gets its own."""
    from photocap.engine import CaptionEngine
    from tests.ui.conftest import make_photo

    target = next(p for p in library.photos_by_ids(library.list_photo_ids()) if p.name == "photo_000.jpg")
    real = CaptionEngine._load_version
    raced = []

    def racing(self, path):
        decoded = real(self, path)
        if path == target.path and not raced:
            raced.append(decoded[1])
            make_photo(type(library.path)(path), seed=777, size=(128, 96))  # version 2 on disk...
            scan(library, library.folder_for(path).id)  # ...and in the library, before the caption lands
        return decoded

    monkeypatch.setattr(CaptionEngine, "_load_version", racing)
    model_id = service.info.model_id
    with qtbot.waitSignal(service.idle, timeout=120_000):
        service.set_library(library)
        service.kick()
    assert raced, "the race was not staged"
    detail = library.photo_detail(target.id)
    assert detail.caption is None and (detail.size, detail.mtime_ns) != raced[0]
    assert [r.id for r in library.photos_needing_caption(model_id)] == [target.id]
    assert captioned(library) == 39

    monkeypatch.setattr(CaptionEngine, "_load_version", real)
    with qtbot.waitSignal(service.idle, timeout=120_000):
        service.kick()
    assert library.photo_detail(target.id).caption is not None
    assert library.photos_needing_caption(model_id) == []

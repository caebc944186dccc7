"""The one captioning pass (photocap.caption_pass) stepped by hand, as the app's lane and the
CLI step it, against a real library file and an engine that describes photos instantly."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from photocap.caption_pass import caption_pass
from photocap.engine import CaptionItem
from photocap.imaging import CorruptImage
from photocap.ingest import scan
from photocap.library.search import PhotoFilter
from photocap.model import Description

from .conftest import make_photo

MODEL = "fake-1"


class InstantEngine:
    """The engine's interface, without a network: reads each path only when asked for the
    next item (the real engine reads ahead), so what was read is exactly what was asked for."""

    model_id = MODEL
    batch_size = 1
    captioner = SimpleNamespace(feature_id="fake-encoder")

    def __init__(self, unreadable: tuple[str, ...] = ()):
        self.unreadable = unreadable
        self.read: list[str] = []

    def caption_paths(self, paths, should_stop=None):
        for path in paths:
            self.read.append(path)
            name = os.path.basename(path)
            if name in self.unreadable:
                yield CaptionItem(path, error=CorruptImage(path, "the image data is damaged"))
            else:
                st = os.stat(path)
                yield CaptionItem(
                    path,
                    description=Description(f"a photo called {name}", "model", MODEL, tags=[("kite", 0.9)]),
                    version=(st.st_size, st.st_mtime_ns),
                )
            if should_stop is not None and should_stop():
                return


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def photos(lib, photo_dir):
    for i in range(12):
        make_photo(photo_dir / f"p{i:02d}.jpg", seed=i)
    scan(lib, lib.add_folder(photo_dir).id)
    ids = lib.list_photo_ids(order="added")
    return {Path(p.path).name: p.id for p in lib.photos_by_ids(ids)}


def captioned(lib) -> int:
    return lib.count_photos(PhotoFilter(sources=("model",)))


def test_every_photo_is_written_before_its_progress_and_nothing_moves_between_yields(lib, photos):
    engine = InstantEngine()
    run = caption_pass(engine, lib, chunk=4)
    for k in range(1, 4):
        p = next(run)
        assert (p.done, p.failed, p.total) == (k, 0, 12)
        assert captioned(lib) == k  # written before it was reported
        [landed] = p.landed
        assert lib.photo_detail(landed.photo_id).caption == landed.text
    # paused (not stepped): nothing is read or written meanwhile
    assert len(engine.read) == 3 and captioned(lib) == 3
    rest = list(run)
    assert captioned(lib) == 12 and rest[-1].done == 12
    assert lib.photos_needing_caption(MODEL) == []


def test_closing_between_yields_keeps_what_was_reported_and_nothing_else(lib, photos):
    engine = InstantEngine()
    run = caption_pass(engine, lib, chunk=4)
    landed = [next(run).landed[0].photo_id for _ in range(5)]
    run.close()  # the app's abort
    assert captioned(lib) == 5 and len(engine.read) == 5
    waiting = {r.id for r in lib.photos_needing_caption(MODEL)}
    assert len(waiting) == 7 and not waiting & set(landed)


def test_should_stop_ends_the_pass_with_a_summary_that_says_so(lib, photos):
    stop = False
    run = caption_pass(InstantEngine(), lib, should_stop=lambda: stop, chunk=4)
    next(run)
    next(run)
    stop = True
    with pytest.raises(StopIteration) as end:
        next(run)
    summary = end.value.value
    assert (summary.done, summary.failed, summary.stopped) == (2, 0, True)
    assert captioned(lib) == 2


def test_visible_photos_first_and_followed_as_they_change(lib, photos):
    on_screen = [photos["p09.jpg"], photos["p10.jpg"], photos["p11.jpg"]]
    run = caption_pass(InstantEngine(), lib, visible=lambda: on_screen, chunk=4)
    order = [next(run).landed[0].photo_id for _ in range(4)]
    assert set(order[:3]) == set(on_screen)  # otherwise reached last
    on_screen = [photos["p07.jpg"], photos["p08.jpg"]]  # the user scrolled
    order += [p.landed[0].photo_id for p in run]
    assert set(order[4:6]) == set(on_screen)
    assert sorted(order) == sorted(photos.values())  # each photo once


def test_a_file_changed_since_the_scan_is_not_captioned_and_stays_queued(lib, photos, photo_dir):
    make_photo(photo_dir / "p03.jpg", colour="blue", size=(64, 48), seed=3)  # rewritten after the scan
    landed = {x.photo_id: x for p in caption_pass(InstantEngine(), lib, chunk=4) for x in p.landed}
    stale = landed[photos["p03.jpg"]]
    assert stale.kept_user_caption  # not written: made from another version of the file
    assert lib.photo_detail(photos["p03.jpg"]).caption is None
    assert [r.id for r in lib.photos_needing_caption(MODEL)] == [photos["p03.jpg"]]
    assert captioned(lib) == 11  # tried once in this pass, not again and again


def test_a_user_caption_written_during_the_pass_is_never_replaced(lib, photos):
    run = caption_pass(InstantEngine(), lib, chunk=12)
    first = next(run).landed[0].photo_id
    mine = next(i for i in photos.values() if i != first)  # queued in this pass, not described yet
    lib.set_user_caption(mine, "my grandmother's red kite")
    landed = {x.photo_id: x for p in run for x in p.landed}
    assert landed[mine].kept_user_caption
    detail = lib.photo_detail(mine)
    assert (detail.caption, detail.caption_source) == ("my grandmother's red kite", "user")


def test_one_unreadable_photo_is_recorded_and_the_rest_go_on(lib, photos):
    progress = list(caption_pass(InstantEngine(unreadable=("p02.jpg",)), lib, chunk=4))
    assert (progress[-1].done, progress[-1].failed) == (11, 1)
    [bad] = [x for p in progress for x in p.landed if x.error]
    assert bad.photo_id == photos["p02.jpg"] and bad.path.endswith("p02.jpg") and "damaged" in bad.error
    assert {p.path.rsplit("/", 1)[-1]: p.reason for p in lib.problems()} == {"p02.jpg": "the image data is damaged"}
    assert captioned(lib) == 11


def test_photos_removed_from_the_library_during_the_pass_are_skipped(lib, photos, tmp_path):
    other = tmp_path / "Other"
    for i in range(3):
        make_photo(other / f"o{i}.jpg", seed=50 + i)
    scan(lib, lib.add_folder(other).id)
    run = caption_pass(InstantEngine(), lib, chunk=15)  # all 15 queued at once
    next(run)
    lib.remove_folder(other, delete_photos=True)
    rest = list(run)
    assert rest[-1].done + rest[-1].failed == 12  # the 3 removed ones are skipped
    assert sum(1 for p in rest if not p.landed) == 3
    assert captioned(lib) == 12


def test_the_count_follows_photos_that_arrive_during_the_pass(lib, photos, photo_dir):
    clock = Clock()
    run = caption_pass(InstantEngine(), lib, chunk=4, clock=clock, recount_every=5.0)
    assert next(run).total == 12
    for i in range(12, 15):
        make_photo(photo_dir / f"p{i:02d}.jpg", seed=i)
    scan(lib, photo_dir)
    assert next(run).total == 12  # not counted again yet
    clock.t += 6.0
    assert next(run).total == 15
    assert [p.done for p in run][-1] == 15  # and they are captioned in this same pass


def test_speed_and_time_left_come_from_the_meter_on_the_injected_clock(lib, photos):
    clock = Clock()
    run = caption_pass(InstantEngine(), lib, chunk=4, clock=clock)
    first = next(run)
    assert first.rate == 0.0 and first.eta_s is None  # not before two batches and a second
    for _ in range(3):
        clock.t += 0.5
        p = next(run)
    assert p.done == 4 and p.rate == pytest.approx(4 / 1.5)
    assert p.eta_s == pytest.approx(8 / (4 / 1.5))

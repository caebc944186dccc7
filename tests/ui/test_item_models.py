"""Every item model the app shows, checked by Qt's model tester (pytest-qt's ``qtmodeltester``)
with real data: a real library file with real photos, loaded the way the app loads it.

The tester stays attached after ``check``: it checks the model again on every signal, so each
test then drives the changes the app makes (a new query, rows appended, thumbnails and
captions landing, the sidebar rebuilt, versions reloaded). Each test runs twice: with Qt's
C++ tester (it reports by ``qWarning``, so a warning fails these tests) and with pytest-qt's
Python one (it asserts, and checks the types each role answers with)."""

from __future__ import annotations

import pytest

from photocap.library import open_library
from photocap.ui.item_models import photo_grid
from photocap.ui.item_models.photo_grid import PathRole, SummaryRole, ThumbStateRole
from photocap.ui.item_models.sidebar import CountRole, PlaceRole
from tests.ui.conftest import make_photos

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("does not support propagateSizeHints"),
]  # the offscreen platform


@pytest.fixture(params=[False, True], ids=["qt-tester", "python-tester"])
def python_tester(request) -> bool:
    return request.param


def test_the_photo_grid_model_through_listing_search_appending_and_thumbnails(
    qtbot, qtmodeltester, make_window, photos, monkeypatch, python_tester
):
    monkeypatch.setattr(photo_grid, "FIRST_HITS", 2)  # a search answers in two parts even with six photos
    window = make_window(auto_caption=False)
    model = window.grid_model
    window.add_folder(str(photos))
    qtbot.waitUntil(lambda: model.rowCount() == 6, timeout=30_000)
    qtmodeltester.check(model, force_py=python_tester)
    ids = model.ids()
    qtbot.waitUntil(lambda: all(model.summary(i) is not None for i in ids), timeout=10_000)
    qtbot.waitUntil(lambda: all(model.index(r).data(ThumbStateRole) == "ready" for r in range(6)), timeout=20_000)
    for pid in ids:
        with qtbot.waitSignal(window.library.caption_saved, timeout=10_000):
            window.library.save_caption(pid, f"a walk on the beach number {pid}")
    assert model.summary(ids[0]).caption == f"a walk on the beach number {ids[0]}"
    with qtbot.waitSignal(model.grew, timeout=20_000):  # the first two hits, then the other four appended
        with qtbot.waitSignal(model.loaded, timeout=20_000) as first:
            window.browser.search("beach")
        assert first.args == [2]
    assert sorted(model.ids()) == sorted(ids)
    qtbot.waitUntil(lambda: all(model.summary(i) is not None for i in model.ids()), timeout=10_000)
    assert {model.index(r).data(PathRole) for r in range(6)} == {model.summary(i).path for i in ids}
    with qtbot.waitSignal(model.loaded, timeout=10_000):
        window.browser.search("")
    assert model.rowCount() == 6 and model.index(0).data(SummaryRole) is not None
    model.forget_thumbnails()
    qtbot.waitUntil(lambda: all(model.index(r).data(ThumbStateRole) == "ready" for r in range(6)), timeout=20_000)


def test_the_sidebar_model_with_counts_and_folders_rebuilt(
    qtbot, qtmodeltester, make_window, photos, tmp_path, python_tester
):
    window = make_window(auto_caption=False)
    model = window.page.sidebar.model
    qtmodeltester.check(model, force_py=python_tester)
    window.add_folder(str(photos))
    qtbot.waitUntil(lambda: model.counts is not None and model.counts.all == 6, timeout=30_000)
    more = tmp_path / "more"
    make_photos(more, 3, start=10)
    window.add_folder(str(more))
    qtbot.waitUntil(
        lambda: model.counts is not None and model.counts.all == 9 and len(model.counts.folders) == 2, timeout=30_000
    )
    places = [model.index(r, 0).data(PlaceRole) for r in range(model.rowCount())]
    folders = {p.path: model.index(r, 0).data(CountRole) for r, p in enumerate(places) if p and p.kind == "folder"}
    assert folders == {str(photos): 6, str(more): 3}


def test_the_model_versions_model_loaded_from_the_library(
    qtbot, qtmodeltester, make_window, library_file, python_tester
):
    lib = open_library(library_file)
    try:
        lib.register_model_version("m1", None, "First words", metrics={"CIDEr": 0.4})
        lib.register_model_version("m2", None, None, parent_model_id="m1", metrics={"CIDEr": 1.25, "BLEU-4": 0.5})
    finally:
        lib.close()
    window = make_window(auto_caption=False)
    model = window.teach_view.versions
    qtbot.waitUntil(lambda: model.rowCount() == 3, timeout=20_000)  # the built-in tagger + the two versions
    qtmodeltester.check(model, force_py=python_tester)
    assert {model.index(r, 0).data() for r in range(3)} >= {"First words", "Model m2"}
    with qtbot.waitSignal(model.modelReset, timeout=20_000):
        window.teacher.rename("m2", "Summer")
    qtbot.waitUntil(lambda: model.index(model.row_of("m2"), 0).data() == "Summer", timeout=20_000)
    with qtbot.waitSignal(model.modelReset, timeout=20_000):
        window.teacher.remove_now("m1")
    qtbot.waitUntil(lambda: model.rowCount() == 2, timeout=20_000)

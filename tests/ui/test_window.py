"""The main window end to end: real library file, real photo files, the real tags engine."""

from __future__ import annotations

import shutil

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from photocap.library import open_library
from photocap.library.search import PhotoFilter
from photocap.ui.item_models.photo_grid import TermsRole
from tests.ui.conftest import make_corrupt, make_photo, make_photos


def grid_ids(window) -> list[int]:
    return window.grid_model.ids()


def add_folder_and_wait(qtbot, window, folder, n: int) -> None:
    window.add_folder(str(folder))
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == n, timeout=30_000)


def wait_captioned(qtbot, window, n: int, timeout: int = 120_000) -> None:
    """Until ``n`` photos in the grid show an automatic caption (captions land by themselves)."""

    def done():
        rows = [window.grid_model.summary(i) for i in grid_ids(window)]
        return sum(1 for s in rows if s is not None and s.caption_source in ("tags", "model")) >= n

    qtbot.waitUntil(done, timeout=timeout)


def test_first_run_shows_the_empty_state_then_the_grid(qtbot, make_window, photos):
    window = make_window(auto_caption=False)
    assert window.pages.currentWidget() is window.empty
    add_folder_and_wait(qtbot, window, photos, 6)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.page, timeout=10_000)
    sidebar = window.page.sidebar.model
    qtbot.waitUntil(lambda: sidebar.counts is not None and sidebar.counts.all == 6, timeout=10_000)
    assert [f.path for f in sidebar.counts.folders] == [str(photos)]
    # rows load lazily: summaries arrive from the library lane
    qtbot.waitUntil(lambda: all(window.grid_model.summary(i) is not None for i in grid_ids(window)), timeout=10_000)
    assert {window.grid_model.summary(i).name for i in grid_ids(window)} == {p.name for p in photos.iterdir()}


def test_dropping_a_folder_on_the_window_adds_it(qtbot, make_window, photos):
    window = make_window(auto_caption=False)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photos))])
    event = QDropEvent(
        QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 6, timeout=30_000)


def test_captions_land_in_the_grid_and_search_filters_it(qtbot, make_window, photos, library_file):
    window = make_window()
    add_folder_and_wait(qtbot, window, photos, 6)
    wait_captioned(qtbot, window, 6)  # every cell now shows an automatic caption
    ids = grid_ids(window)
    lib = open_library(library_file)
    try:
        lib.set_user_caption(ids[0], "a sandy beach at sunset")
        lib.set_user_caption(ids[1], "beach umbrellas in the rain")
    finally:
        lib.close()
    header = window.page.header
    # words only (search by meaning has tests of its own): once the sentence model is ready, so
    # its "ready" (which repeats a typed query) cannot land between the keystrokes below
    qtbot.waitUntil(lambda: window.meaning.model_id is not None, timeout=60_000)
    window.grid_model.meaning = None
    with qtbot.waitSignal(window.grid_model.loaded, timeout=10_000):
        qtbot.keyClicks(header.search, "bea")  # as you type: "bea" already finds "beach"
    assert sorted(grid_ids(window)) == sorted(ids[:2])
    assert window.grid_model.index(0).data(TermsRole) == ("bea",)
    assert "2 matches" in header.subtitle.text()
    with qtbot.waitSignal(window.grid_model.loaded, timeout=10_000):
        qtbot.keyClicks(header.search, "ch sunset")
    assert grid_ids(window) == [ids[0]]
    with qtbot.waitSignal(window.grid_model.loaded, timeout=10_000):
        header.search.clear()
    assert len(grid_ids(window)) == 6


def test_editing_a_caption_persists_it_as_the_users(qtbot, make_window, photos, library_file):
    window = make_window()
    add_folder_and_wait(qtbot, window, photos, 6)
    wait_captioned(qtbot, window, 6)
    grid, panel = window.page.grid, window.page.detail
    target = grid_ids(window)[2]
    grid.setFocus()
    with qtbot.waitSignal(window.browser.detail_shown, timeout=10_000):
        grid.select_id(target)
    assert panel.photo_id == target and panel.badge.property("kind") == "tags"
    qtbot.keyClick(panel.editor, Qt.Key.Key_F2)
    assert panel.editor.editing
    qtbot.keyClicks(panel.editor, "two children flying a kite")
    with qtbot.waitSignal(window.library.caption_saved, timeout=10_000):
        qtbot.keyClick(panel.editor, Qt.Key.Key_Return)
    assert not panel.editor.editing
    qtbot.waitUntil(lambda: panel.badge.property("kind") == "user", timeout=5000)
    assert window.grid_model.summary(target).caption == "two children flying a kite"
    # Esc cancels an edit
    qtbot.keyClick(panel.editor, Qt.Key.Key_F2)
    qtbot.keyClicks(panel.editor, "nonsense")
    qtbot.keyClick(panel.editor, Qt.Key.Key_Escape)
    assert panel.editor.toPlainText() == "two children flying a kite"
    # a later captioning pass (rescan + kick) leaves it alone
    with qtbot.waitSignal(window.library.scan_finished, timeout=30_000):
        window.library.rescan_all()
    window.captions.kick()
    qtbot.waitUntil(lambda: not window.captions.running, timeout=60_000)
    window.close()
    lib = open_library(library_file)
    try:
        d = lib.photo_detail(target)
        assert (d.caption, d.caption_source) == ("two children flying a kite", "user")
        assert [h.source for h in d.history][-2:] == ["tags", "user"]
    finally:
        lib.close()


def test_a_file_dropped_into_a_watched_folder_appears(qtbot, make_window, photos, tmp_path):
    window = make_window(auto_caption=False)
    add_folder_and_wait(qtbot, window, photos, 6)
    qtbot.waitUntil(lambda: window.watch.roots == (str(photos),), timeout=10_000)
    new = make_photo(tmp_path / "incoming.jpg", seed=123)
    shutil.copy(new, photos / "new_arrival.jpg")
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 7, timeout=30_000)
    qtbot.waitUntil(
        lambda: any(
            s and s.name == "new_arrival.jpg" for s in (window.grid_model.summary(i) for i in grid_ids(window))
        ),
        timeout=10_000,
    )


def test_an_unplugged_folder_is_still_watched_and_comes_back_by_itself(qtbot, make_window, photos, tmp_path):
    window = make_window(auto_caption=False)
    add_folder_and_wait(qtbot, window, photos, 6)
    qtbot.waitUntil(lambda: window.watch.roots == (str(photos),), timeout=10_000)
    sidebar = window.page.sidebar.model

    def folder_status():
        counts = sidebar.counts
        return counts.folders[0].status if counts is not None and counts.folders else None

    photos.rename(tmp_path / "unplugged")
    qtbot.waitUntil(lambda: folder_status() == "missing", timeout=30_000)
    assert window.watch.roots == (str(photos),)  # still followed while it is gone
    (tmp_path / "unplugged").rename(photos)
    qtbot.waitUntil(lambda: folder_status() == "ok", timeout=30_000)  # no F5, no restart
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 6, timeout=30_000)


def test_a_missing_model_file_stops_captioning_instead_of_falling_back_to_tags(
    qtbot, make_window, photos, library_file, tmp_path
):
    lib = open_library(library_file)
    lib.register_model_version("gone", tmp_path / "deleted-model.safetensors", name="my model")
    lib.activate_model("gone")
    lib.close()
    window = make_window()
    chip = window.status.device
    qtbot.waitUntil(lambda: chip.text() == "No caption model", timeout=60_000)  # said, and it stays
    assert "deleted-model.safetensors" in chip.toolTip()
    add_folder_and_wait(qtbot, window, photos, 6)
    qtbot.waitUntil(lambda: all(window.grid_model.summary(i) is not None for i in grid_ids(window)), timeout=10_000)
    assert window.captions.info is None and not window.captions.running
    window.captions.maybe_kick()  # what new photos do: still nothing without the model
    assert not window.captions.running
    assert chip.text() == "No caption model" and "could not be loaded" in window.status.activity.text()
    assert window.page.grid._delegate.pending_text == "Not described: no caption model"  # not "Describing…"
    window.close()
    lib = open_library(library_file)
    try:
        assert lib.count_photos(PhotoFilter(sources=("tags",))) == 0
    finally:
        lib.close()


def test_a_corrupt_file_lands_in_problems_and_the_app_keeps_going(qtbot, make_window, photos):
    make_corrupt(photos / "broken.jpg")
    window = make_window()
    add_folder_and_wait(qtbot, window, photos, 7)
    wait_captioned(qtbot, window, 6)
    sidebar = window.page.sidebar
    qtbot.waitUntil(lambda: sidebar.model.counts is not None and sidebar.model.counts.problems == 1, timeout=10_000)
    from photocap.ui.item_models.sidebar import PROBLEMS

    sidebar.select(PROBLEMS)
    assert window.page.pages.currentWidget() is window.page.problems
    qtbot.waitUntil(lambda: window.page.problems.topLevelItemCount() == 1, timeout=10_000)
    item = window.page.problems.topLevelItem(0)
    assert item.text(0) == "broken.jpg" and item.text(1)  # with the reason
    # the other six were captioned
    qtbot.waitUntil(lambda: sidebar.model.counts.review == 6, timeout=10_000)


def test_closing_mid_captioning_leaves_the_library_consistent(qtbot, make_window, tmp_path, library_file):
    folder = tmp_path / "many"
    make_photos(folder, 60)
    window = make_window()
    landed = []
    window.captions.landed.connect(landed.extend)
    add_folder_and_wait(qtbot, window, folder, 60)
    qtbot.waitUntil(lambda: len(landed) >= 1, timeout=60_000)
    window.close()  # returns once every thread has stopped
    for lane in (window.captions.lane, window.thumb_lane, window.library.reads, window.library.files):
        assert lane.thread_finished
    lib = open_library(library_file)
    try:
        assert lib.check_integrity() == []
        done = lib.count_photos(PhotoFilter(sources=("tags",)))
        assert len({x.photo_id for x in landed}) <= done < 60  # all reported are written; it stopped early
        for photo_id in {x.photo_id for x in landed}:
            assert lib.photo_detail(photo_id).caption_source == "tags"
        assert len(lib.photos_needing_caption("tags:efficientnet_lite0")) == 60 - done
    finally:
        lib.close()


def test_attention_overlay_for_an_attention_model(qtbot, make_window, photos, library_file, attention_model_file):
    lib = open_library(library_file)
    lib.register_model_version("tiny-attn", attention_model_file, name="tiny")
    lib.activate_model("tiny-attn")
    lib.close()
    window = make_window()
    qtbot.waitUntil(lambda: window.captions.info is not None, timeout=60_000)
    assert window.captions.info.has_attention
    add_folder_and_wait(qtbot, window, photos, 6)
    wait_captioned(qtbot, window, 6)
    panel = window.page.detail
    target = grid_ids(window)[0]
    with qtbot.waitSignal(window.browser.detail_shown, timeout=10_000):
        window.page.grid.select_id(target)
    qtbot.waitUntil(lambda: panel.detail.caption_source == "model", timeout=10_000)
    assert not panel.heat_button.isHidden()
    with qtbot.waitSignal(window.captions.attention_ready, timeout=30_000):
        panel.heat_button.setChecked(True)
    assert panel.words.words == tuple(panel.detail.caption.split())
    qtbot.waitUntil(lambda: panel.preview._pixmap is not None, timeout=10_000)
    panel.words.hovered.emit(0)
    assert panel.preview.showing_heat
    panel.words.hovered.emit(-1)
    assert not panel.preview.showing_heat

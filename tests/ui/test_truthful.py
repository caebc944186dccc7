"""The window tells the truth: a search the library cannot answer, a caption that was not saved,
folders that cannot be watched, long queries and file names that look like markup."""

from __future__ import annotations

import errno
import sqlite3
import threading

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from sqlalchemy import event

from photocap.library import open_library
from photocap.ui.jobs.lanes import Job
from tests.ui.conftest import make_photo


def add_folder_and_wait(qtbot, window, folder, n: int) -> None:
    window.add_folder(str(folder))
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == n, timeout=30_000)


def short_busy_timeout(window) -> None:
    """The window's library gives up on a lock after 50 ms (instead of 15 s), so tests are quick.
    One connection is made now, while nothing is locked (connecting sets pragmas, which wait
    on the lock with the library's own 15 s); the lanes then reuse it from the pool."""
    engine = window.library.library.sql_engine
    engine.dispose()  # idle pooled connections: new ones get the pragma below
    event.listen(engine, "connect", lambda conn, _record: conn.execute("PRAGMA busy_timeout = 50"))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 50


def test_a_search_the_library_cannot_answer_says_why_in_place_of_results(qtbot, make_window, photos, library_file):
    from tests.library.test_search import damage_search_index

    window = make_window(auto_caption=False)
    add_folder_and_wait(qtbot, window, photos, 6)
    header, grid = window.page.header, window.page.grid
    with qtbot.waitSignal(window.grid_model.loaded, timeout=10_000):
        qtbot.keyClicks(header.search, "photo")
    assert window.grid_model.rowCount() == 6
    window.library.library.sql_engine.dispose()  # no page cached from before the damage
    damage_search_index(library_file)  # a disk going bad under the search index
    with qtbot.waitSignal(window.grid_model.failed, timeout=10_000) as failed:
        qtbot.keyClicks(header.search, "_00")
    assert failed.args[0].startswith("the library can't be read: ")
    assert window.grid_model.rowCount() == 0  # no stale results under the error
    assert grid.empty_message.startswith("The library can't be read: ") and "No photo" not in grid.empty_message
    assert header.subtitle.text() == "Search failed"


def test_a_new_search_stops_the_older_one_and_its_answer_is_dropped(qtbot, make_window, photos):
    window = make_window(auto_caption=False)
    add_folder_and_wait(qtbot, window, photos, 6)
    model = window.grid_model
    loaded = []
    model.loaded.connect(loaded.append)
    model.meaning = None  # words only: the search job is submitted at once (not after the query's vector)
    gate = threading.Event()  # holds the library lane, so the older search cannot end before the newer one
    window.library.reads.submit(Job("gate", lambda ctx: gate.wait(10)))
    model.show(None, "photo*")
    older = model._search_job
    with qtbot.waitSignal(older.finished, timeout=10_000), qtbot.waitSignal(model.loaded, timeout=10_000):
        model.show(None, "photo_002")
        gate.set()
    assert older.aborted and model._search_job is not older
    assert loaded == [1] and len(model.ids()) == 1  # only the newer answer reached the grid
    qtbot.waitUntil(lambda: model.summary(model.ids()[0]) is not None, timeout=10_000)
    assert model.summary(model.ids()[0]).name == "photo_002.jpg"


def test_a_search_shows_a_screenful_first_and_the_rest_follows(qtbot, make_window, photos, monkeypatch):
    from photocap.ui.item_models import photo_grid

    monkeypatch.setattr(photo_grid, "FIRST_HITS", 2)  # six photos: two first, four after
    window = make_window(auto_caption=False)
    add_folder_and_wait(qtbot, window, photos, 6)
    model, header = window.grid_model, window.page.header
    with qtbot.waitSignal(model.loaded, timeout=10_000) as first, qtbot.waitSignal(model.grew, timeout=10_000) as grew:
        header.search.setText("photo")
    assert first.args == [2] and grew.args == [6]
    assert sorted(model.ids()) == sorted(window.library.library.list_photo_ids())
    assert "6 matches" in header.subtitle.text()


def test_a_long_query_never_widens_the_window_and_a_shortened_one_says_so(qtbot, make_window, photos):
    window = make_window(auto_caption=False)
    add_folder_and_wait(qtbot, window, photos, 6)
    window.resize(1000, 700)
    qtbot.waitUntil(lambda: window.width() == 1000, timeout=5000)
    header = window.page.header
    for query in ("photo " + "y" * 130, "photo " + "x" * 5000):
        with qtbot.waitSignal(window.grid_model.loaded, timeout=10_000):
            header.search.setText(query)
        qtbot.waitUntil(lambda q=query: f"for “{q[:30]}" in header.subtitle.text(), timeout=10_000)
        assert window.width() == 1000 and window.minimumSizeHint().width() < 1000
        assert len(header.subtitle.text()) < 100  # the query is shortened there, with an ellipsis
    assert "first 1,000 characters" in header.note.text(), (header.note.text(), window.grid_model.notes)
    assert not header.note.isHidden()  # shown (isVisible also needs every parent on screen)
    with qtbot.waitSignal(window.grid_model.loaded, timeout=10_000):
        header.search.setText("photo")
    assert header.note.isHidden()


def test_a_caption_that_was_not_saved_is_rolled_back_and_kept_for_a_retry(qtbot, make_window, photos, library_file):
    window = make_window(auto_caption=False)
    add_folder_and_wait(qtbot, window, photos, 6)
    grid, panel = window.page.grid, window.page.detail
    target = window.grid_model.ids()[1]
    qtbot.waitUntil(lambda: window.grid_model.summary(target) is not None, timeout=10_000)  # rows load lazily
    with qtbot.waitSignal(window.browser.detail_shown, timeout=10_000):
        grid.select_id(target)
    short_busy_timeout(window)
    blocker = sqlite3.connect(library_file, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        qtbot.keyClick(panel.editor, Qt.Key.Key_F2)
        qtbot.keyClicks(panel.editor, "my sister's dog")
        with qtbot.waitSignal(window.library.caption_save_failed, timeout=10_000):
            qtbot.keyClick(panel.editor, Qt.Key.Key_Return)
        # not shown as saved: the text waits in the editor, the reason beside it, the old caption stays
        assert panel.editor.editing and panel.editor.toPlainText() == "my sister's dog"
        assert panel.editor.original == ""
        qtbot.waitUntil(panel.save_error.isVisible, timeout=5000)
        assert "Not saved: the library is busy" in panel.save_error.text() and panel.editor.editing
        assert panel.badge.property("kind") == "none"
        assert window.grid_model.summary(target).caption is None
        blocker.execute("ROLLBACK")
    finally:
        blocker.close()
    with qtbot.waitSignal(window.library.caption_saved, timeout=10_000):
        qtbot.keyClick(panel.editor, Qt.Key.Key_Return)  # the retry
    assert not panel.save_error.isVisible() and not panel.editor.editing
    qtbot.waitUntil(lambda: panel.badge.property("kind") == "user", timeout=5000)
    with open_library(library_file) as lib:
        assert lib.photo_detail(target).caption == "my sister's dog"


def test_a_folder_that_cannot_be_watched_says_so_and_polling_fixes_it(qtbot, make_window, photos, library_file):
    from photocap.ingest import FolderWatcher

    window = make_window(auto_caption=False)
    calls = []

    def limited(roots, on_change, polling_roots=(), **kwargs):  # the system's inotify limit, reached
        calls.append(tuple(polling_roots))
        if not set(roots) <= set(polling_roots):
            raise OSError(errno.ENOSPC, "inotify watch limit reached")
        return FolderWatcher(roots, on_change, polling_roots=polling_roots, **kwargs)

    window.watch.factory = limited
    with qtbot.waitSignal(window.watch.failed, timeout=20_000):
        add_folder_and_wait(qtbot, window, photos, 6)
    banner = window.banner
    assert banner.isVisible() and "limit on watched folders" in banner.message.text()
    assert photos.name in banner.message.text() and banner.action.text() == "Use polling"
    with qtbot.waitSignal(window.watch.watching, timeout=20_000):
        qtbot.mouseClick(banner.action, Qt.MouseButton.LeftButton)
    assert window.watch.roots == (str(photos),) and calls[-1] == (str(photos),)
    assert not banner.isVisible()
    qtbot.waitUntil(lambda: any(f.polling for f in open_library(library_file).folders()), timeout=10_000)
    make_photo(photos / "arrived.jpg", seed=77)  # and new photos are noticed again
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 7, timeout=30_000)


def test_file_names_that_look_like_markup_are_shown_as_typed(qtbot, make_window, tmp_path):
    folder = tmp_path / "odd"
    name = "<b>bold <i>x<img src=y>.jpg"  # no "/": that would be a folder
    make_photo(folder / name, seed=3)
    window = make_window(auto_caption=False)
    add_folder_and_wait(qtbot, window, folder, 1)
    panel = window.page.detail
    with qtbot.waitSignal(window.browser.detail_shown, timeout=10_000):
        window.page.grid.select_id(window.grid_model.ids()[0])
    shown = [lab for lab in panel.findChildren(QLabel) if lab.text() == name]
    assert shown and all(lab.textFormat() == Qt.TextFormat.PlainText for lab in shown)
    # every label of the panel that can show a file's text is plain (the history escapes its own)
    for lab in panel.findChildren(QLabel):
        if lab is not panel.history:
            assert lab.textFormat() == Qt.TextFormat.PlainText, lab.objectName()
    assert window.page.header.title.textFormat() == Qt.TextFormat.PlainText
    assert window.status.activity.textFormat() == Qt.TextFormat.PlainText
    # tooltips guess rich text from the content: the grid's says the name as typed
    qtbot.waitUntil(lambda: window.grid_model.summary(window.grid_model.ids()[0]) is not None, timeout=10_000)
    tip = window.grid_model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;bold &lt;i&gt;x&lt;img src=y&gt;.jpg" in tip and "<b>" not in tip


def test_a_folder_the_system_cannot_watch_natively_is_polled_and_that_is_said(qtbot, app, tmp_path):
    from watchdog.observers import Observer

    from photocap.ingest import FolderWatcher
    from photocap.ui.jobs.watching import FolderWatchBridge

    class AtTheLimit(Observer):  # inotify's watch limit reached when scheduling
        def schedule(self, *args, **kwargs):
            raise OSError(errno.ENOSPC, "inotify watch limit reached")

    bridge = FolderWatchBridge(
        0.2, factory=lambda roots, on_change, **kw: FolderWatcher(roots, on_change, observer_factory=AtTheLimit, **kw)
    )
    try:
        with qtbot.waitSignal(bridge.fell_back, timeout=10_000) as fell_back:
            bridge.watch([tmp_path])
        assert fell_back.args == [str(tmp_path), "inotify watch limit reached"]
        assert bridge.roots == (str(tmp_path),)
    finally:
        bridge.stop()

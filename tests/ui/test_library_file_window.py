"""The window with a damaged library (restore from a backup) and a read-only one."""

from __future__ import annotations

import os

import pytest

from photocap.ingest import scan
from photocap.library import db, open_library
from photocap.library.db import find_backups
from tests.ui.conftest import make_photos


def _damage(path) -> None:
    import sqlite3

    size = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    with open(path, "r+b") as f:
        for page in range(3, 7):
            f.seek((page - 1) * size)
            f.write(os.urandom(size))


@pytest.fixture
def checked_library(tmp_path, library_file):
    folder = tmp_path / "photos"
    make_photos(folder, 5)
    with open_library(library_file) as lib:
        scan(lib, lib.add_folder(folder).id)
        assert lib.check_integrity() == []  # leaves a checked backup
    return library_file


def _window(app, qtbot, path):
    from photocap.ui.main_window import MainWindow
    from photocap.ui.settings import AppSettings

    window = MainWindow(AppSettings(), library_path=str(path), auto_caption=False, watch_debounce=0.2)
    qtbot.addWidget(window)
    window.show()
    window.start()
    return window


def test_a_damaged_library_offers_its_backup_and_restores_it(app, qtbot, checked_library):
    [backup] = find_backups(checked_library)
    _damage(checked_library)
    damaged = checked_library.read_bytes()
    window = _window(app, qtbot, checked_library)
    try:
        qtbot.waitUntil(
            lambda: getattr(window, "damaged_dialog", None) is not None and window.damaged_dialog.isVisible(),
            timeout=30_000,
        )
        box = window.damaged_dialog
        assert "is damaged" in box.text()
        actions = {b.property("action"): b.text() for b in box.buttons() if b.property("action")}
        assert actions == {
            "restore": f"Restore from backup of {backup.label}",
            "other": "Open another library…",
            "quit": "Quit",
        }
        restore = next(b for b in box.buttons() if b.property("action") == "restore")
        with qtbot.waitSignal(window.ready, timeout=30_000):
            restore.click()
        qtbot.waitUntil(lambda: window.grid_model.rowCount() == 5, timeout=30_000)
        aside = [p for p in checked_library.parent.iterdir() if ".damaged-" in p.name and not p.name.endswith("-shm")]
        assert [p.read_bytes() for p in aside if not p.name.endswith("-wal")] == [damaged]
    finally:
        window.close()


def test_quit_from_the_damaged_dialog_closes_the_window(app, qtbot, checked_library):
    _damage(checked_library)
    window = _window(app, qtbot, checked_library)
    qtbot.waitUntil(
        lambda: getattr(window, "damaged_dialog", None) is not None and window.damaged_dialog.isVisible(),
        timeout=30_000,
    )
    next(b for b in window.damaged_dialog.buttons() if b.property("action") == "quit").click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)


def test_a_read_only_library_shows_a_notice_and_offers_no_editing(app, qtbot, checked_library, monkeypatch):
    real = db._why_read_only
    monkeypatch.setattr(db, "_why_read_only", lambda p: "the file is read-only" if p == checked_library else real(p))
    before = checked_library.read_bytes()
    window = _window(app, qtbot, checked_library)
    try:
        qtbot.waitUntil(lambda: window.library.library is not None, timeout=30_000)
        qtbot.waitUntil(lambda: window.grid_model.rowCount() == 5, timeout=30_000)
        assert window.library.library.read_only
        assert window.status.read_only.isVisibleTo(window) and "read-only" in window.status.read_only.toolTip()
        detail = window.page.detail
        assert not detail.edit_button.isEnabled() and "Read-only library" in detail.hint.text()
        detail.editor.begin_edit()
        assert not detail.editor.editing
    finally:
        window.close()
    assert checked_library.read_bytes() == before

"""Captions in and out from the window: library settings in the Settings dialog, export and import."""

from __future__ import annotations

import csv

from PySide6.QtWidgets import QDialog

from photocap.library import open_library
from photocap.library.values import SETTING_TEACH_IMPORTED, SETTING_WRITE_SIDECARS
from photocap.metadata import read_descriptions
from tests.ui.conftest import make_photos


def test_settings_dialog_shows_and_returns_library_settings(qtbot, app):
    from photocap.ui.settings import AppSettings
    from photocap.ui.views.settings_dialog import SettingsDialog

    dialog = SettingsDialog(
        AppSettings(), [], library_settings={SETTING_WRITE_SIDECARS: False, SETTING_TEACH_IMPORTED: True}
    )
    qtbot.addWidget(dialog)
    assert not dialog.metadata_boxes[SETTING_WRITE_SIDECARS].isChecked()
    assert dialog.metadata_boxes[SETTING_TEACH_IMPORTED].isChecked()
    assert dialog.result_library_settings() == {}
    dialog.metadata_boxes[SETTING_WRITE_SIDECARS].setChecked(True)
    assert dialog.result_library_settings() == {SETTING_WRITE_SIDECARS: True}
    without = SettingsDialog(AppSettings(), [])  # no library open: no such group
    qtbot.addWidget(without)
    assert without.metadata_boxes == {} and without.result_library_settings() == {}


def test_settings_turn_on_sidecars_and_edits_reach_them(qtbot, make_window, tmp_path, library_file, monkeypatch):
    folder = tmp_path / "pics"
    make_photos(folder, 2)
    window = make_window(auto_caption=False)
    window.add_folder(str(folder))
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 2, timeout=30_000)

    def accept_with_sidecars(dialog):
        dialog.metadata_boxes[SETTING_WRITE_SIDECARS].setChecked(True)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr("photocap.ui.views.settings_dialog.SettingsDialog.exec", accept_with_sidecars)
    window.open_settings()  # reads the library's settings on its lane, then shows the dialog
    with open_library(library_file) as lib:
        qtbot.waitUntil(lambda: lib.get_setting(SETTING_WRITE_SIDECARS), timeout=10_000)
        photo = lib.photo_by_path(folder / "photo_000.jpg")
    with qtbot.waitSignal(window.library.caption_saved, timeout=10_000):
        window.library.save_caption(photo.id, "The blue door of our first flat")
    assert read_descriptions(folder / "photo_000.jpg").description == "The blue door of our first flat"


def test_export_and_import_from_the_file_menu(qtbot, make_window, tmp_path, library_file, monkeypatch):
    folder = tmp_path / "pics"
    make_photos(folder, 3)
    window = make_window(auto_caption=False)
    window.add_folder(str(folder))
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 3, timeout=30_000)
    with open_library(library_file) as lib:
        pid = lib.photo_by_path(folder / "photo_001.jpg").id
        lib.set_user_caption(pid, "Snow on the balcony")
    out = tmp_path / "mine.csv"
    monkeypatch.setattr("photocap.ui.main_window.QFileDialog.getSaveFileName", lambda *a, **k: (str(out), ""))
    messages = []
    monkeypatch.setattr(window.status, "show_message", messages.append)
    window.export_captions("csv")
    qtbot.waitUntil(lambda: any("exported" in m for m in messages), timeout=10_000)
    assert f"1 caption(s) exported to {out}" in messages
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["caption"], r["source"]) for r in rows] == [("Snow on the balcony", "user")]

    with open_library(library_file) as lib:  # a different caption here meanwhile: the import keeps it
        lib.set_user_caption(pid, "Snow on the balcony, March")
    monkeypatch.setattr("photocap.ui.main_window.QFileDialog.getOpenFileName", lambda *a, **k: (str(out), ""))
    window.import_captions()
    qtbot.waitUntil(lambda: any("imported" in m for m in messages), timeout=10_000)
    assert any("0 caption(s) imported" in m and "1 kept (you wrote a different caption here)" in m for m in messages)
    with open_library(library_file) as lib:
        assert lib.photo_detail(pid).caption == "Snow on the balcony, March"


def test_the_detail_badge_says_where_an_imported_caption_came_from(app):
    from types import SimpleNamespace

    from photocap.ui.views.detail_panel import badge_for

    detail = SimpleNamespace(status="ok", caption_source="imported", caption_model="XMP sidecar")
    assert badge_for(detail) == ("user", "Imported · XMP sidecar")
    assert badge_for(SimpleNamespace(status="ok", caption_source="imported", caption_model=None)) == (
        "user",
        "Imported",
    )

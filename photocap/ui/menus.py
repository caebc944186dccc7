"""The menu bar, with the usual shortcuts. Every action calls a method of the window."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

Key = QKeySequence.StandardKey


def build_menus(window) -> None:
    def act(menu, text, slot, shortcut=None, checkable=False) -> QAction:
        a = QAction(text, window)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    w, bar = window, window.menuBar()
    m = bar.addMenu("&File")
    act(m, "Add Folder…", w.choose_folder, Key.Open)
    act(m, "Rescan Folders", lambda: w.library.rescan_all(), "F5")
    m.addSeparator()
    act(m, "Import Captions…", w.import_captions)
    ex = m.addMenu("Export Captions")
    act(ex, "As CSV…", lambda: w.export_captions("csv"))
    act(ex, "As JSON…", lambda: w.export_captions("json"))
    act(ex, "To XMP Sidecars", lambda: w.export_captions("xmp"))
    m.addSeparator()
    act(m, "Import Model…", lambda: w.teacher.import_model())
    act(m, "Train from a Dataset…", w.teacher.train_from_dataset)
    m.addSeparator()
    act(m, "Settings…", w.open_settings, Key.Preferences)
    m.addSeparator()
    act(m, "Quit", w.close, Key.Quit)
    m = bar.addMenu("&Edit")
    act(m, "Find…", w.page.header.focus_search, Key.Find)
    act(m, "Edit Caption", w.page.detail.begin_edit, "F2")
    act(m, "Mark as Reviewed", w.mark_reviewed, "Ctrl+R")
    m = bar.addMenu("&View")
    act(m, "Larger Thumbnails", lambda: w.step_thumbs(+1), Key.ZoomIn)
    act(m, "Smaller Thumbnails", lambda: w.step_thumbs(-1), Key.ZoomOut)
    w.details_action = act(m, "Show Details", lambda on: w.page.detail.setVisible(on), "Ctrl+I", True)
    w.details_action.setChecked(True)
    m.addSeparator()
    act(m, "Photos", lambda: w.tabs.setCurrentWidget(w.pages), "Ctrl+1")
    act(m, "Teach", lambda: w.tabs.setCurrentWidget(w.teach_view), "Ctrl+2")
    m = bar.addMenu("&Captioning")
    w.pause_action = act(m, "Pause Captioning", lambda on: w.captions.set_paused(on), "Ctrl+P", True)
    w.captions.paused_changed.connect(w.pause_action.setChecked)
    m = bar.addMenu("&Help")
    act(m, "About photocap", w.open_about)

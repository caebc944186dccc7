"""`photocap FOLDER` (a file manager's "Open with photocap"): the app adds the folder once open."""

from __future__ import annotations

from photocap.ui.app import add_folders_once_open, parse_args
from tests.ui.conftest import assert_stopped


def test_folders_on_the_command_line_are_added_and_scanned(app, qtbot, library_file, photos):
    from photocap.ui.main_window import MainWindow
    from photocap.ui.settings import AppSettings

    args = parse_args(["photocap", "--library", str(library_file), "--no-captioning", str(photos)])
    window = MainWindow(AppSettings(), library_path=args.library, auto_caption=not args.no_captioning)
    qtbot.addWidget(window)
    add_folders_once_open(window, args.folders)
    try:
        # the catch-up rescan of the (empty) library finishes first; then the added folder's scan
        with qtbot.waitSignal(window.library.scan_finished, timeout=20_000,
                              check_params_cb=lambda report: getattr(report, "added", 0) == 6):
            window.show()
            window.start()
        assert [(f.path, f.photo_count) for f in window.library.library.folders()] == [(str(photos), 6)]
    finally:
        window.close()
        assert_stopped(window)

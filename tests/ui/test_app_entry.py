"""The app's start and end from outside: `photocap FOLDER` (a file manager's "Open with
photocap") adds the folder once the library is open; SIGTERM closes the window as Quit does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

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
        # the catch-up rescan of the (empty) library finishes first; then the added folder's scan.
        # The model loads meanwhile: wait for it too, so that closing stops every thread.
        with qtbot.waitSignals([window.library.scan_finished, window.captions.engine_ready], timeout=120_000,
                               check_params_cbs=[lambda report: getattr(report, "added", 0) == 6, None]):
            window.show()
            window.start()
        assert [(f.path, f.photo_count) for f in window.library.library.folders()] == [(str(photos), 6)]
    finally:
        window.close()
        assert_stopped(window)


def test_sigterm_closes_the_app_cleanly(tmp_path, photos):
    """Logging out or an uninstaller sends SIGTERM: the app closes its window (threads stopped,
    captions written) and exits 0, instead of dying mid-write with -15."""
    env = {**os.environ, "PHOTOCAP_REPORT_LAUNCH": "1", "PHOTOCAP_DATA_DIR": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen([sys.executable, "-m", "photocap", "--library", str(tmp_path / "lib.sqlite"),
                             "--no-captioning", str(photos)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:  # the window has painted its first frame: the event loop is idle
            if line.startswith("first-frame-at"):
                break
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()

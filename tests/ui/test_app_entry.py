"""The app's start and end from outside: `photocap FOLDER` (a file manager's "Open with
photocap") adds the folder once the library is open; SIGTERM closes the window as Quit does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from photocap.ui.app import add_folders_once_open, parse_args


def test_folders_on_the_command_line_are_added_and_scanned(app, qtbot, library_file, photos):
    """The window's own library service and add_folder (the model, which this does not need,
    is left out: loading it takes minutes on a busy 2-core machine)."""
    from PySide6.QtCore import QObject

    from photocap.ui.jobs.library_service import LibraryService

    class Window(QObject):  # what add_folders_once_open uses of MainWindow
        def __init__(self):
            super().__init__()
            self.library = LibraryService(self)
            self.add_folder = self.library.add_folder

    args = parse_args(["photocap", "--library", str(library_file), "--no-captioning", str(photos)])
    window = Window()
    add_folders_once_open(window, args.folders)
    try:
        with qtbot.waitSignal(
            window.library.scan_finished,
            timeout=120_000,
            check_params_cb=lambda report: getattr(report, "added", 0) == 6,
        ):
            window.library.open(args.library)
        assert [(f.path, f.photo_count) for f in window.library.library.folders()] == [(str(photos), 6)]
    finally:
        assert window.library.shutdown()


def test_sigterm_closes_the_app_cleanly(tmp_path, photos):
    """Logging out or an uninstaller sends SIGTERM: the app closes its window (threads stopped,
    captions written) and exits 0, instead of dying mid-write with -15."""
    env = {
        **os.environ,
        "PHOTOCAP_REPORT_LAUNCH": "1",
        "PHOTOCAP_DATA_DIR": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "photocap", "--library", str(tmp_path / "lib.sqlite"), "--no-captioning", str(photos)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        for line in proc.stdout:  # the window has painted its first frame: the event loop is idle
            if line.startswith("first-frame-at"):
                break
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()

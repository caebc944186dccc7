"""``photocap`` with no arguments: the app. The window is shown before torch is imported;
the library opens and the caption model loads in the background while the grid is usable.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from photocap import APP_NAME, __version__, cache_limit

_T0 = time.perf_counter()  # for "launch to window shown" (bench/gui_responsiveness.py)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="photocap", add_help=True)
    parser.add_argument("--library", metavar="FILE", help="library file to open")
    parser.add_argument("--no-captioning", action="store_true", help="do not start captioning automatically")
    parser.add_argument("--theme", choices=("auto", "light", "dark"), help="override the theme setting")
    parser.add_argument("folders", nargs="*", metavar="FOLDER", help="folders to add once the library is open")
    args, _qt_args = parser.parse_known_args(argv[1:])
    return args


def create_app(argv: list[str] | None = None):
    """The QApplication with names, settings and style set (tests use their own QApplication)."""
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from photocap.paths import resource_path
    from photocap.ui import style

    # Python hands the GIL between threads every 5 ms by default: each time the GUI thread
    # calls into Python (a paint, a data() call) while a worker holds the GIL it may wait
    # that long, dozens of times a frame. A shorter interval keeps frames short.
    sys.setswitchinterval(float(os.environ.get("PHOTOCAP_SWITCH_INTERVAL", "0.001")))
    running = QApplication.instance()
    app = running if isinstance(running, QApplication) else QApplication(argv or [APP_NAME])
    app.setOrganizationName(APP_NAME)
    app.setOrganizationDomain("photocap.app")
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName("photocap")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_NAME)  # matches photocap.desktop: the menu entry's icon and name on Wayland
    app.setWindowIcon(QIcon(str(resource_path("icons", "photocap.svg"))))
    return app, style


def _report_launch(window, app) -> None:
    """Print when the first frame was painted (wall clock, for a parent process to compare
    with its spawn time) and, with ``PHOTOCAP_REPORT_LAUNCH=quit``, leave."""
    window.shown_after = time.perf_counter() - _T0
    print(f"first-frame-at {time.time():.6f} after-import {window.shown_after:.3f}", flush=True)
    if os.environ.get("PHOTOCAP_REPORT_LAUNCH") == "quit":
        window.close()
        app.quit()


def close_on_terminate(window) -> None:
    """SIGTERM (logging out, ``kill``, an uninstaller) closes the window as Quit does: captions
    in flight are saved and the threads stop. Qt's loop runs no Python while idle, so the
    signal wakes it through a socket (``signal.set_wakeup_fd``)."""
    import signal
    import socket

    from PySide6.QtCore import QSocketNotifier

    if not hasattr(signal, "SIGTERM") or sys.platform == "win32":
        return
    receive, send = socket.socketpair()
    receive.setblocking(False)
    send.setblocking(False)
    signal.set_wakeup_fd(send.fileno())
    notifier = QSocketNotifier(receive.fileno(), QSocketNotifier.Type.Read, window)
    notifier.activated.connect(lambda *_: receive.recv(64))  # Python runs: the handler below is called
    signal.signal(signal.SIGTERM, lambda *_: window.close())
    window.terminate_wakeup = (receive, send, notifier)  # kept alive with the window


def add_folders_once_open(window, folders: list[str]) -> None:
    """``photocap FOLDER``, a file manager's "Open with photocap": add once the library is open
    (a folder already in the library is only rescanned)."""
    if folders:
        window.library.opened.connect(lambda _library: [window.add_folder(f) for f in folders])


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    args = parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("PHOTOCAP_LOG", "WARNING"), format="%(asctime)s %(threadName)s %(name)s: %(message)s"
    )
    app, style = create_app(argv)
    from photocap.ui.main_window import MainWindow
    from photocap.ui.settings import AppSettings

    settings = AppSettings.load()
    cache_limit.set_limit_mb(settings.cache_limit_mb)  # for the thumbnail lane and teaching's processes
    style.apply(app, args.theme or settings.theme)
    window = MainWindow(settings, library_path=args.library, auto_caption=not args.no_captioning)
    if os.environ.get("PHOTOCAP_REPORT_LAUNCH"):  # bench/gui_responsiveness.py
        window.first_shown.connect(lambda: _report_launch(window, app))
    add_folders_once_open(window, args.folders)
    close_on_terminate(window)
    window.start_after_first_frame()  # library, watcher, model: in the background, once painted
    window.show()
    return int(app.exec())


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""Before Qt starts on Linux: are the system libraries its X11 (xcb) platform plugin needs there?

Without them Qt aborts with "no Qt platform plugin could be initialized" and names nothing a
user can install. This check names the Debian/Ubuntu packages and the command instead. It
lives outside :mod:`photocap.ui` because importing that package already loads QtCore; it runs
in :func:`photocap.cli.main` before the first Qt import and loads each library the way Qt's
plugin would (``dlopen``), so ``LD_LIBRARY_PATH`` and a frozen bundle's own copies count.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

# (library file, Debian/Ubuntu package): what PySide6's libqxcb.so, libQt6XcbQpa, QtGui and
# QtWidgets link against outside the wheel (found with ldd on PySide6 6.11 and dpkg -S).
XCB_LIBRARIES: tuple[tuple[str, str], ...] = (
    ("libxcb.so.1", "libxcb1"),
    ("libxcb-cursor.so.0", "libxcb-cursor0"),
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-image.so.0", "libxcb-image0"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
    ("libxcb-randr.so.0", "libxcb-randr0"),
    ("libxcb-render.so.0", "libxcb-render0"),
    ("libxcb-render-util.so.0", "libxcb-render-util0"),
    ("libxcb-shape.so.0", "libxcb-shape0"),
    ("libxcb-shm.so.0", "libxcb-shm0"),
    ("libxcb-sync.so.1", "libxcb-sync1"),
    ("libxcb-util.so.1", "libxcb-util1"),
    ("libxcb-xfixes.so.0", "libxcb-xfixes0"),
    ("libxcb-xkb.so.1", "libxcb-xkb1"),
    ("libxkbcommon.so.0", "libxkbcommon0"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libX11.so.6", "libx11-6"),
    ("libX11-xcb.so.1", "libx11-xcb1"),
    ("libEGL.so.1", "libegl1"),
    ("libGL.so.1", "libgl1"),
    ("libfontconfig.so.1", "libfontconfig1"),
    ("libfreetype.so.6", "libfreetype6"),
    ("libglib-2.0.so.0", "libglib2.0-0"),
    ("libdbus-1.so.3", "libdbus-1-3"),
)

SKIP_ENV = "PHOTOCAP_SKIP_LIB_CHECK"  # "1": trust the system, let Qt try


def _can_load(name: str) -> bool:
    """dlopen ``name`` as Qt would: the bundle's own copy (a frozen app) or the system's."""
    bundle = getattr(sys, "_MEIPASS", None)
    candidates = [str(Path(bundle, name))] if bundle and Path(bundle, name).exists() else []
    for candidate in [*candidates, name]:
        try:
            ctypes.CDLL(candidate, mode=getattr(os, "RTLD_LAZY", 1) | getattr(ctypes, "RTLD_GLOBAL", 0))
            return True
        except OSError:
            continue
    return False


def needs_xcb(env: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Will Qt use its X11 plugin? Not for offscreen/minimal/wayland or off Linux."""
    if not platform.startswith("linux") or env.get(SKIP_ENV) == "1":
        return False
    chosen = env.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(";")[0].split(":")[0] == "xcb"
    return not env.get("WAYLAND_DISPLAY")  # on Wayland Qt uses its Wayland plugin


def missing_libraries(
    libraries: Iterable[tuple[str, str]] = XCB_LIBRARIES, can_load: Callable[[str], bool] = _can_load
) -> list[tuple[str, str]]:
    return [(name, package) for name, package in libraries if not can_load(name)]


def problem_message(missing: list[tuple[str, str]]) -> str:
    files = ", ".join(name for name, _ in missing)
    packages = " ".join(dict.fromkeys(package for _, package in missing))
    return (
        f"photocap: the window cannot open: Qt needs system libraries that are missing ({files}).\n"
        f"On Debian or Ubuntu install them with:\n"
        f"    sudo apt-get install {packages}\n"
        f"(other systems: the packages that provide these files; {SKIP_ENV}=1 skips this check)"
    )


def check(
    env: Mapping[str, str] | None = None,
    libraries: Iterable[tuple[str, str]] = XCB_LIBRARIES,
    can_load: Callable[[str], bool] = _can_load,
    platform: str = sys.platform,
) -> str | None:
    """None when Qt can start; otherwise the message that tells the user what to install."""
    if not needs_xcb(os.environ if env is None else env, platform):
        return None
    missing = missing_libraries(libraries, can_load)
    return problem_message(missing) if missing else None

"""The check that names the system packages Qt's X11 plugin needs, before Qt starts."""

from __future__ import annotations

import ctypes
import sys

from photocap.system_libs import XCB_LIBRARIES, check, missing_libraries, needs_xcb

X11 = {"DISPLAY": ":0"}


def loads_all_but(*absent):
    return lambda name: name not in absent


def test_all_present_means_no_message():
    assert check(env=X11, can_load=loads_all_but(), platform="linux") is None


def test_missing_libraries_are_named_with_the_apt_command():
    msg = check(env=X11, can_load=loads_all_but("libxcb-cursor.so.0", "libxcb-icccm.so.4"), platform="linux")
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4" in msg
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4\n" in msg


def test_a_package_is_named_once_even_for_two_of_its_files():
    libs = [("libglib-2.0.so.0", "libglib2.0-0"), ("libgthread-2.0.so.0", "libglib2.0-0")]
    msg = check(env=X11, libraries=libs, can_load=loads_all_but(*(n for n, _ in libs)), platform="linux")
    assert "sudo apt-get install libglib2.0-0\n" in msg


def test_no_check_where_qt_will_not_use_x11():
    nothing_loads = loads_all_but(*(n for n, _ in XCB_LIBRARIES))
    assert check(env={"QT_QPA_PLATFORM": "offscreen"}, can_load=nothing_loads, platform="linux") is None
    assert check(env={"WAYLAND_DISPLAY": "wayland-0"}, can_load=nothing_loads, platform="linux") is None
    assert check(env=X11, can_load=nothing_loads, platform="darwin") is None
    assert check(env={"PHOTOCAP_SKIP_LIB_CHECK": "1"}, can_load=nothing_loads, platform="linux") is None
    assert check(env={"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "w"}, can_load=nothing_loads, platform="linux")


def test_platform_choice_with_options_and_fallbacks():
    assert needs_xcb({"QT_QPA_PLATFORM": "xcb:nograb"}, "linux")
    assert not needs_xcb({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux")


def test_the_real_loader_finds_a_real_library_and_not_a_made_up_one():
    assert missing_libraries([("libc.so.6", "libc6"), ("libphotocap-nothing.so.9", "nothing")]) == [
        ("libphotocap-nothing.so.9", "nothing")
    ]


def test_this_machine_passes_when_libxcb_cursor_is_there():
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libxcb-cursor.so.0")
    except OSError:
        assert "libxcb-cursor0" in check(env=X11)
    else:
        assert check(env=X11) is None


def test_the_readme_lists_every_package_the_check_can_ask_for():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("sudo apt-get install python3-venv") :]
    command = section[: section.index("```")].replace("\\\n", " ").split()
    assert [pkg for _, pkg in XCB_LIBRARIES if pkg not in command] == []

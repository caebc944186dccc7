"""Two `photocap index` processes and the app on one library at the same time: all of them
finish without an error, every photo is there once and described, the file is intact.
(The app does not notice captions other processes write until it reloads; what is checked
in the window is that it lists every photo and reports no library error meanwhile.)"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from photocap.library import open_library
from tests.hostile.conftest import integrity
from tests.hostile.corpus import encoded, photo

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def test_two_index_processes_and_the_app_at_once(qtbot, make_window, library_file, tmp_path):
    a, b = tmp_path / "A", tmp_path / "B"
    for folder, start in ((a, 0), (b, 500)):
        folder.mkdir()
        for i in range(start, start + 60):
            (folder / f"IMG_{i:04d}.jpg").write_bytes(encoded(photo(i, (40, 30)), "JPEG"))
    env = os.environ | {"PHOTOCAP_DATA_DIR": str(tmp_path / "data")}
    window = make_window()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "photocap", "index", *folders, "--library", str(library_file)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for folders in ((str(a), str(b)), (str(b), str(a)))
    ]
    window.add_folder(str(a))
    window.add_folder(str(b))
    outputs = [p.communicate(timeout=900) for p in procs]
    for proc, (_out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err.decode()[-2000:]
        assert b"Traceback" not in err and b"locked" not in err
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 120, timeout=120_000)
    qtbot.waitUntil(lambda: window.captions.info is not None, timeout=300_000)  # its engine is loaded
    qtbot.waitUntil(lambda: not window.captions.running, timeout=300_000)  # and its pass is over
    assert "Library:" not in window.statusBar().currentMessage()
    with open_library(library_file) as lib:
        rows = lib.photos_by_ids(lib.list_photo_ids())
        paths = [s.path for s in rows]
        assert len(paths) == len(set(paths)) == 120
        assert all(s.caption_source == "tags" and s.caption for s in rows)
        assert {f.path for f in lib.folders()} == {str(a), str(b)}
        assert lib.problems() == []
    assert integrity(library_file) == []

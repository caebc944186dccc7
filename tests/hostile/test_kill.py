"""kill -9 at random points while indexing and while captioning, five times each: the library
file stays intact (``PRAGMA integrity_check`` and the search index's own check) and every
caption the user wrote is still there, word for word."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from photocap.ingest import scan
from photocap.library import open_library
from tests.hostile.conftest import integrity
from tests.hostile.corpus import encoded, photo

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def _start(*args, data_dir) -> subprocess.Popen:
    env = os.environ | {"PHOTOCAP_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        [sys.executable, "-m", "photocap", *map(str, args)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def _count(db, sql: str) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0
    finally:
        conn.close()


def _user_captions(db) -> dict[str, str]:
    with open_library(db) as lib:
        return {u.path: u.text for u in lib.user_captions()}


def _write_photos(folder, start: int, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        (folder / f"IMG_{i:05d}.jpg").write_bytes(encoded(photo(i, (40, 30)), "JPEG", quality=70))


def test_kill_9_while_indexing_and_while_captioning_loses_nothing(tmp_path):
    rng = random.Random(1234)
    folder, db, data = tmp_path / "Pictures", tmp_path / "library.sqlite", tmp_path / "data"
    _write_photos(folder, 0, 300)
    with open_library(db) as lib:
        scan(lib, lib.add_folder(folder).id)
        for n, pid in enumerate(lib.list_photo_ids()[:60]):
            lib.set_user_caption(pid, f"my words for photo {n}, do not touch")
    mine = _user_captions(db)
    assert len(mine) == 60

    # while indexing: each round brings 600 new files, killed at a random moment of the scan
    for round_ in range(5):
        _write_photos(folder, 1000 + 600 * round_, 600)
        proc = _start("index", folder, "--no-caption", "--library", db, data_dir=data)
        time.sleep(rng.uniform(0.8, 3.0))
        _kill(proc)
        assert integrity(db) == [], f"after kill {round_ + 1} while indexing"
        assert _user_captions(db) == mine

    # while captioning: killed at a random moment after captions have started to land
    for round_ in range(5):
        before = _count(db, "SELECT count(*) FROM photos WHERE caption_source = 'tags'")
        proc = _start("index", folder, "--library", db, data_dir=data)
        deadline = time.monotonic() + 300
        while _count(db, "SELECT count(*) FROM photos WHERE caption_source = 'tags'") <= before:
            assert proc.poll() is None, "photocap index ended before captioning anything"
            assert time.monotonic() < deadline, "no caption landed in 300 s"
            time.sleep(0.1)
        time.sleep(rng.uniform(0.0, 2.0))
        _kill(proc)
        assert integrity(db) == [], f"after kill {round_ + 1} while captioning"
        assert _user_captions(db) == mine

    done = subprocess.run(
        [sys.executable, "-m", "photocap", "index", str(folder), "--no-caption", "--library", str(db)],
        env=os.environ | {"PHOTOCAP_DATA_DIR": str(data)},
        capture_output=True,
        timeout=600,
    )
    assert done.returncode == 0 and b"Traceback" not in done.stderr
    with open_library(db) as lib:
        assert lib.count_photos() == len(os.listdir(folder)) == 3300
        assert lib.check_integrity() == []
    assert _user_captions(db) == mine

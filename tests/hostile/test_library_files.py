"""Other people's files and unusual places for the library file (issue 16.4): a foreign SQLite
file is refused before any write, a damaged library is one clear line, a read-only library
can still be searched and shown, a library path that cannot exist is one line. Never a traceback."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from tests.hostile.conftest import UNPRIVILEGED, photocap
from tests.hostile.corpus import encoded, photo

pytestmark = pytest.mark.timeout(600)


def _one_clear_line(run) -> str:
    run.assert_clean()
    lines = [line for line in run.stderr.splitlines() if line.startswith("photocap: ")]
    assert len(lines) == 1, run.stderr
    return lines[0]


@pytest.fixture
def small_library(tmp_path, data_dir):
    folder = tmp_path / "Pictures"
    folder.mkdir()
    for i in range(6):
        (folder / f"boat_{i}.jpg").write_bytes(encoded(photo(i), "JPEG"))
    db = tmp_path / "lib" / "library.sqlite"
    db.parent.mkdir()  # photocap never creates a missing library folder (an unplugged disk's mount point)
    run = photocap("index", folder, "--no-caption", "--library", db, data_dir=data_dir)
    assert run.rc == 0, run.stderr
    return db, folder


def test_a_foreign_sqlite_file_is_refused_untouched(tmp_path, data_dir):
    foreign = tmp_path / "notes.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        conn.execute("INSERT INTO notes (text) VALUES ('buy milk')")
    conn.close()
    before = hashlib.sha256(foreign.read_bytes()).hexdigest()
    for args in (("search", "boat"), ("index", tmp_path, "--no-caption")):
        run = photocap(*args, "--library", foreign, data_dir=data_dir)
        assert run.rc != 0
        _one_clear_line(run)
    assert hashlib.sha256(foreign.read_bytes()).hexdigest() == before
    assert not (tmp_path / "notes.sqlite-wal").exists()
    with sqlite3.connect(foreign) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["notes"]


def test_a_damaged_library_is_one_clear_line(small_library, data_dir):
    db, folder = small_library
    data = bytearray(db.read_bytes())
    page = 4096
    for start in range(2 * page, len(data) - page, 2 * page):  # scribble over every other page
        data[start : start + page] = b"\xde\xad\xbe\xef" * (page // 4)
    db.write_bytes(bytes(data))
    with pytest.raises(sqlite3.DatabaseError), sqlite3.connect(db) as conn:  # damaged indeed
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    for args in (("search", "boat"), ("index", folder, "--no-caption")):
        run = photocap(*args, "--library", db, data_dir=data_dir)
        assert run.rc != 0
        _one_clear_line(run)


@pytest.mark.skipif(not UNPRIVILEGED, reason="needs a process without root's permission override")
def test_a_read_only_library_can_be_searched_and_shown(small_library, data_dir):
    db, folder = small_library
    for p in db.parent.iterdir():
        p.chmod(0o444)
    db.parent.chmod(0o555)
    try:
        found = photocap("search", "boat", "--library", db, data_dir=data_dir)
        found.assert_clean()
        assert found.rc == 0 and str(folder / "boat_0.jpg") in found.stdout
        shown = photocap("show", folder / "boat_1.jpg", "--library", db, data_dir=data_dir)
        shown.assert_clean()
        assert shown.rc == 0
        edit = photocap("edit", folder / "boat_1.jpg", "my boat", "--library", db, data_dir=data_dir)
        assert edit.rc != 0 and "read-only" in _one_clear_line(edit)
    finally:
        db.parent.chmod(0o755)
        for p in db.parent.iterdir():
            p.chmod(0o644)


def test_a_library_path_that_cannot_exist_is_one_line(tmp_path, data_dir):
    blocker = tmp_path / "a_file"
    blocker.write_text("I am a file, not a folder")
    run = photocap("search", "boat", "--library", blocker / "library.sqlite", data_dir=data_dir)
    assert run.rc != 0
    _one_clear_line(run)

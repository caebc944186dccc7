"""The library file under pressure: other people's files, damage and restore, read-only
libraries, a full disk, odd file names, a missing folder, no library yet."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import event

from photocap.cli import main as cli_main
from photocap.ingest import scan
from photocap.library import db
from photocap.library.db import (
    LibraryCorrupt,
    LibraryError,
    LibraryFull,
    LibraryNotFound,
    LibraryReadOnly,
    NotALibrary,
    find_backups,
    make_sql_engine,
    restore_backup,
)
from photocap.library.library import Library, open_library

from .conftest import make_photo


def _filled(tmp_path: Path, n: int = 6) -> Path:
    """A library of ``n`` photos, one with a user caption; closed."""
    pics = tmp_path / "Pictures"
    for i in range(n):
        make_photo(pics / f"p{i}.jpg", seed=i)
    path = tmp_path / "library.sqlite"
    with open_library(path) as lib:
        scan(lib, lib.add_folder(pics).id)
        lib.set_user_caption(lib.photo_by_path(pics / "p0.jpg").id, "my grandmother's boat")
    return path


def _all_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# ---- other people's files -------------------------------------------------------------------
def test_another_applications_sqlite_file_is_refused_untouched(tmp_path):
    other = tmp_path / "other" / "contacts.db"
    other.parent.mkdir()
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO contacts (name) VALUES ('Ada')")
    conn.commit()
    conn.close()
    before = _all_bytes(other.parent)
    with pytest.raises(NotALibrary, match=r"another application's database .*contacts.*has not been changed"):
        open_library(other)
    assert _all_bytes(other.parent) == before  # no tables, no WAL switch, no -wal/-shm, no backup
    assert other.read_bytes()[18:20] == b"\x01\x01"  # still a rollback-journal file (WAL would be 2, 2)


def test_a_text_file_is_refused_untouched(tmp_path):
    notes = tmp_path / "notes.db"  # (not *.sqlite: the fixture checks those)
    notes.write_text("shopping: bread, milk\n")
    before = _all_bytes(tmp_path)
    with pytest.raises(NotALibrary, match="not an SQLite database"):
        open_library(notes)
    assert _all_bytes(tmp_path) == before


def test_the_wal_pragma_comes_after_the_check(tmp_path, monkeypatch):
    """Nothing connects read-write before the file has been looked at."""
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    engines = []
    monkeypatch.setattr(db, "make_sql_engine", lambda *a, **k: engines.append(a) or make_sql_engine(*a, **k))
    with pytest.raises(NotALibrary):
        open_library(other)
    assert engines == []


def test_an_empty_file_and_an_empty_sqlite_file_become_libraries(tmp_path):
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    blank = tmp_path / "blank.sqlite"
    sqlite3.connect(blank).close()
    for path in (empty, blank):
        with open_library(path) as lib:
            assert lib.folders() == []
        assert find_backups(path) == []


# ---- damage and restore ---------------------------------------------------------------------
def _damage(path: Path, first_page: int = 3, pages: int = 4) -> None:
    size = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    with open(path, "r+b") as f:
        for page in range(first_page, first_page + pages):
            f.seek((page - 1) * size)
            f.write(os.urandom(size) if page % 2 else b"\xff" * size)


def test_damaged_pages_are_found_at_open_and_a_backup_restores_the_library(tmp_path):
    path = _filled(tmp_path)
    with open_library(path) as lib:
        assert lib.check_integrity() == []  # sound: a "checked" backup is left beside it
    [backup] = find_backups(path)
    assert backup.kind == "checked"
    _damage(path)
    damaged = path.read_bytes()
    with pytest.raises(LibraryCorrupt) as caught:
        open_library(path)
    assert "is damaged" in str(caught.value) and "newest backup is from" in str(caught.value)
    assert [b.path for b in caught.value.backups] == [backup.path]

    aside = restore_backup(path, caught.value.backups[0])
    assert aside.read_bytes() == damaged  # kept, never deleted
    with open_library(path) as lib:
        pid = lib.photo_by_path(tmp_path / "Pictures" / "p0.jpg").id
        assert lib.photo_detail(pid).caption == "my grandmother's boat"
        assert lib.search("grandmother")[0].photo_id == pid
        assert lib.check_integrity() == []


def test_a_damaged_backup_is_refused(tmp_path):
    path = _filled(tmp_path)
    bad = tmp_path / "library.sqlite.checked-20200101-000000.bak"
    shutil.copyfile(path, bad)
    _damage(bad)
    before = path.read_bytes()
    with pytest.raises(LibraryError, match="damaged too"):
        restore_backup(path, bad)
    assert path.read_bytes() == before


def test_cli_check_and_restore(tmp_path, capsys):
    path = _filled(tmp_path)
    assert cli_main(["library", "check", "--library", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path}: ok" in out and "(checked)" in out
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]
    _damage(path, first_page=2, pages=pages - 1)  # whatever a search reads is damaged
    for command in (["search", "boat"], ["edit", str(tmp_path / "Pictures" / "p1.jpg"), "x"]):
        assert cli_main([*command, "--library", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is damaged" in err and "photocap library restore" in err
    assert cli_main(["library", "check", "--library", str(path)]) == 1
    assert ": damaged" in capsys.readouterr().out
    assert cli_main(["library", "restore", "--library", str(path)]) == 0
    assert "kept as" in capsys.readouterr().out
    assert cli_main(["search", "grandmother", "--library", str(path)]) == 0
    assert "p0.jpg" in capsys.readouterr().out


def test_the_full_check_runs_weekly(tmp_path, lib):
    assert lib.integrity_check_due()
    lib.check_integrity()
    checked = lib.last_integrity_check()
    assert checked is not None and not lib.integrity_check_due()
    assert lib.integrity_check_due(now=checked + dt.timedelta(days=7))
    for _ in range(3):
        lib.check_integrity()
    assert len([b for b in find_backups(lib.path) if b.kind == "checked"]) <= 2


# ---- read-only ------------------------------------------------------------------------------
def test_forced_read_only_searches_shows_and_refuses_writes(tmp_path):
    path = _filled(tmp_path)
    before = path.read_bytes()
    with open_library(path, read_only=True) as lib:
        assert lib.read_only
        pid = lib.search("grandmother")[0].photo_id
        assert lib.photo_detail(pid).caption == "my grandmother's boat"
        with pytest.raises(LibraryReadOnly, match="read-only"):
            lib.set_user_caption(pid, "lost")
    assert path.read_bytes() == before


def test_a_write_sqlite_refuses_becomes_read_only_error(tmp_path):
    """The SQLite path, not just our own flag: a mode=ro connection asked to write."""
    path = _filled(tmp_path)
    lib = Library(make_sql_engine(path, read_only=True), path)  # believes it may write
    try:
        pid = lib.search("grandmother")[0].photo_id
        with pytest.raises(LibraryReadOnly, match="read-only here"):
            lib.set_user_caption(pid, "lost")
    finally:
        lib.close()


def test_an_unwritable_file_opens_read_only_by_itself(tmp_path, monkeypatch):
    path = _filled(tmp_path)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if mode == os.W_OK and Path(p) == path else real(p, mode))
    with open_library(path) as lib:
        assert lib.read_only and lib.why_read_only == "the file is read-only"
        assert lib.search("grandmother")


def _read_only_view(src: Path, tmp_path: Path) -> tuple[list[str], Path]:
    """A command prefix under which ``tmp_path/ro`` shows ``src`` read-only, for real: a
    read-only bind mount in a private mount namespace as root (root ignores chmod), chmod
    otherwise."""
    view = tmp_path / "ro"
    view.mkdir()
    if os.geteuid() != 0:
        for p in [src, *src.rglob("*")]:
            p.chmod(0o555 if p.is_dir() else 0o444)
        view.rmdir()
        view.symlink_to(src)
        return [], view
    probe = subprocess.run(
        [
            "unshare",
            "-m",
            "sh",
            "-c",
            f"mount --bind '{src}' '{view}' && mount -o remount,bind,ro '{view}' && ! touch '{view}/probe' 2>/dev/null",
        ],
        capture_output=True,
    )
    if probe.returncode != 0:
        pytest.skip("no way to make a read-only file system here (unshare/mount refused)")
    return [
        "unshare",
        "-m",
        "sh",
        "-c",
        f"mount --bind '{src}' '{view}' && mount -o remount,bind,ro '{view}' && exec \"$@\"",
        "sh",
    ], view


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_a_read_only_file_system_for_real_through_the_cli(tmp_path):
    src = tmp_path / "shared"
    src.mkdir()
    path = _filled(src)
    before = _all_bytes(src)
    prefix, view = _read_only_view(src, tmp_path)
    lib_arg = ["--library", str(view / path.name)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))

    def run(*args):
        return subprocess.run(
            [*prefix, sys.executable, "-m", "photocap", *args, *lib_arg],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    found = run("search", "grandmother")
    assert found.returncode == 0, found.stderr
    assert "p0.jpg" in found.stdout and "grandmother" in found.stdout
    shown = run("show", str(src / "Pictures" / "p0.jpg"))
    assert shown.returncode == 0 and "my grandmother's boat" in shown.stdout, shown.stderr
    edit = run("edit", str(src / "Pictures" / "p0.jpg"), "changed")
    assert edit.returncode == 2
    assert edit.stderr.count("\n") == 1 and "read-only" in edit.stderr and "Traceback" not in edit.stderr
    assert _all_bytes(src) == before


# ---- full disk, odd names, missing folder, no library yet ---------------------------------------
def test_a_full_disk_is_one_clear_line(tmp_path, photo_dir, monkeypatch, capsys):
    for i in range(40):
        make_photo(photo_dir / f"big{i}.png", size=(64, 64), seed=i)
    path = tmp_path / "library.sqlite"
    open_library(path).close()
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]
    real = db.make_sql_engine

    def tiny_disk(*args, **kwargs):
        engine = real(*args, **kwargs)
        event.listen(engine, "connect", lambda conn, _r: conn.execute(f"PRAGMA max_page_count = {pages + 1}"))
        return engine

    monkeypatch.setattr(db, "make_sql_engine", tiny_disk)
    with open_library(path) as lib, pytest.raises(LibraryFull, match=r"disk holding .* is full"):
        scan(lib, lib.add_folder(photo_dir).id)
    capsys.readouterr()
    assert cli_main(["index", "--no-caption", str(photo_dir), "--library", str(path)]) == 2
    err = capsys.readouterr().err
    assert "is full" in err and "Traceback" not in err


@pytest.mark.parametrize("name", ["what?.sqlite", "a#b.sqlite", "100%25 sure.sqlite", "odd name ?#%.sqlite"])
def test_file_names_with_uri_characters(tmp_path, photo_dir, name):
    make_photo(photo_dir / "a.jpg")
    path = tmp_path / "libs" / name
    path.parent.mkdir()
    with open_library(path) as lib:
        scan(lib, lib.add_folder(photo_dir).id)
    assert sorted(p.name for p in path.parent.iterdir()) == [name]  # that file, nothing beside it
    with open_library(path) as lib:
        assert len(lib.photos_by_ids(lib.list_photo_ids())) == 1


def test_a_missing_folder_is_one_line(tmp_path, capsys):
    path = tmp_path / "unplugged" / "library.sqlite"
    with pytest.raises(LibraryError, match="does not exist"):
        open_library(path)
    assert not path.parent.exists()
    assert cli_main(["index", "--no-caption", str(tmp_path), "--library", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err


def test_search_and_show_do_not_create_a_library(tmp_path, capsys):
    default = Path(os.environ["PHOTOCAP_DATA_DIR"]) / "library.sqlite"
    assert cli_main(["search", "dog"]) == 2
    assert cli_main(["show", str(tmp_path / "x.jpg")]) == 2
    assert cli_main(["search", "dog", "--library", str(tmp_path / "new.sqlite")]) == 2
    assert "no library at" in capsys.readouterr().err.lower()
    assert not default.exists() and not (tmp_path / "new.sqlite").exists()
    with pytest.raises(LibraryNotFound):
        open_library(default, create=False)


def test_os_errors_become_one_line_library_errors(tmp_path):
    import errno

    assert isinstance(db.translate(OSError(errno.ENOSPC, "No space left on device"), tmp_path), LibraryFull)
    assert isinstance(db.translate(OSError(errno.EROFS, "Read-only file system"), tmp_path), LibraryReadOnly)
    other = ValueError("not ours")
    assert db.translate(other, tmp_path) is other


def test_library_tables_without_a_revision_are_left_alone(tmp_path):
    path = _filled(tmp_path)
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM alembic_version")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(NotALibrary, match="no schema revision"):
        open_library(path)
    assert path.read_bytes() == before


def test_a_data_folder_that_cannot_be_made_is_one_line(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    monkeypatch.setenv("PHOTOCAP_DATA_DIR", str(blocker / "data"))
    with pytest.raises(LibraryError, match="data folder cannot be created"):
        open_library()
    assert cli_main(["index", "--no-caption", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "data folder cannot be created" in err

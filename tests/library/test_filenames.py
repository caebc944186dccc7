"""File names are bytes: stored exactly, shown readably, found by their readable part."""

from __future__ import annotations

import base64
import json
import os
import sqlite3

import pytest
from sqlalchemy.exc import StatementError

from photocap.cli import main
from photocap.filenames import json_path, one_line, readable
from photocap.ingest import scan
from photocap.library import open_library, photos
from photocap.library.db import make_sql_engine, upgrade

from .conftest import make_photo

CAFE = os.fsdecode(b"caf\xe9.jpg")  # what Python makes of a Latin-1 name: 'caf\udce9.jpg'


def test_readable_and_json_forms():
    assert readable("/p/" + CAFE) == "/p/caf\ufffd.jpg"
    assert readable("/p/a\nb\t\x1b.jpg") == "/p/a\\nb\\t\\x1b.jpg"
    assert readable("/p/🐈 cat.jpg") == "/p/🐈 cat.jpg"
    assert json_path("/p/plain.jpg") == {"path": "/p/plain.jpg"}
    odd = json_path("/p/" + CAFE)
    assert odd["path"] == "/p/caf\ufffd.jpg" and base64.b64decode(odd["path_base64"]) == b"/p/caf\xe9.jpg"
    assert json.loads(json.dumps(odd, ensure_ascii=False)) == odd
    assert one_line("Extent out of bounds\n") == "Extent out of bounds"
    assert one_line("first\n  second  \n") == "first second"


def test_a_name_that_is_not_utf8_is_stored_exactly_found_and_shown(lib, photo_dir):
    odd = make_photo(photo_dir / CAFE)
    make_photo(photo_dir / "plain.jpg", seed=1)
    report = scan(lib, lib.add_folder(photo_dir).id)
    assert report.added == 2 and report.skipped == [] and report.errors == []
    photo = lib.photo_by_path(odd)
    assert photo.path == str(odd) and photo.name == "caf\ufffd.jpg"
    assert [h.path for h in lib.search("caf")] == [str(odd)]
    lib.set_user_caption(photo.id, "coffee at the corner " + CAFE)  # even a caption quoting the bytes
    assert lib.photo_detail(photo.id).caption == "coffee at the corner caf\ufffd.jpg"
    with sqlite3.connect(lib.path) as conn:
        stored = conn.execute("SELECT path FROM photos WHERE id = ?", (photo.id,)).fetchone()[0]
    assert stored == os.fsencode(str(odd))  # the exact bytes
    assert scan(lib, lib.folders()[0].id).unchanged == 2  # and found again as the same file


def test_the_cli_prints_and_writes_json_for_any_name(tmp_path, photo_dir, capsys):
    odd = make_photo(photo_dir / CAFE)
    db = str(tmp_path / "library.sqlite")
    assert main(["index", str(photo_dir), "--no-caption", "--library", db]) == 0
    capsys.readouterr()
    assert main(["search", "caf", "--json", "--library", db]) == 0
    [hit] = json.loads(capsys.readouterr().out)
    assert base64.b64decode(hit["path_base64"]) == os.fsencode(str(odd))
    assert main(["edit", str(odd), "my café", "--library", db]) == 0
    assert capsys.readouterr().out == f"{photo_dir}/caf\ufffd.jpg: my café\n"
    assert main(["show", str(odd), "--library", db]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{photo_dir}/caf\ufffd.jpg\n") and "caption: my café" in out
    assert "\udce9" not in out


def test_paths_stored_as_text_by_an_older_version_are_upgraded_to_bytes(tmp_path):
    db = tmp_path / "old.sqlite"
    engine = make_sql_engine(db)
    upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO folders (id, path, status, polling, added_at) VALUES (1, '/p', 'ok', 0, '2024-01-01 00:00:00')"
        )
        conn.exec_driver_sql(
            "INSERT INTO photos (id, folder_id, path, name, folder_name, size, mtime_ns, identity, status, added_at, "
            "updated_at, caption, caption_source, caption_stale, reviewed, tags_text) VALUES (7, 1, '/p/été.jpg', "
            "'été.jpg', 'p', 10, 1, 'abc', 'ok', '2024-01-01', '2024-01-01', 'a boat', 'user', 0, 1, '')"
        )
        conn.exec_driver_sql(
            "INSERT INTO problems (path, reason, seen_at) VALUES ('/p/x', 'permission denied', '2024-01-01')"
        )
    engine.dispose()
    with open_library(db) as lib:
        assert lib.photo_by_path("/p/été.jpg").id == 7
        assert lib.folder_for("/p/été.jpg").id == 1
        assert [p.path for p in lib.problems()] == ["/p/x"]
        assert [h.photo_id for h in lib.search("boat")] == [7]
    with sqlite3.connect(db) as conn:
        kinds = {conn.execute(f"SELECT typeof(path) FROM {t}").fetchone()[0] for t in ("folders", "photos", "problems")}
    assert kinds == {"blob"}


def test_one_entry_the_database_refuses_is_a_problem_and_the_scan_goes_on(lib, photo_dir, monkeypatch):
    for i in range(5):
        make_photo(photo_dir / f"p{i}.jpg", seed=i)
    refused = str(photo_dir / "p2.jpg")
    real_upsert = photos.upsert

    def upsert(session, facts, *args):  # the database refuses this one entry (whatever the reason)
        if facts.path == refused:
            raise StatementError("value refused", "INSERT", {}, ValueError("refused"))
        return real_upsert(session, facts, *args)

    monkeypatch.setattr(photos, "upsert", upsert)
    report = scan(lib, lib.add_folder(photo_dir).id)
    assert report.added == 4
    assert [(p.path, p.reason.startswith("could not be recorded")) for p in report.skipped] == [(refused, True)]
    assert {p.path for p in lib.problems()} == {refused}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_called_like_a_photo_is_a_problem_never_opened(lib, photo_dir):
    make_photo(photo_dir / "good.jpg")
    os.mkfifo(photo_dir / "pipe.jpg")
    os.mkfifo(photo_dir / "no_extension")  # not even sniffed: opening it would block
    report = scan(lib, lib.add_folder(photo_dir).id)
    assert report.added == 1
    assert [(p.path, p.reason) for p in report.skipped] == [
        (str(photo_dir / "pipe.jpg"), "a named pipe, not a photo file")
    ]

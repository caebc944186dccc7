"""Opening, migrating and refusing library files; pragmas; concurrent writers."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from photocap.ingest import scan
from photocap.library import LibraryError, LibraryTooNew, open_library
from photocap.library.db import head_revision, make_sql_engine, upgrade
from photocap.library.fts import is_fts_table
from photocap.library.schema import Base

from .conftest import make_photo


def test_new_library_is_at_head_with_wal_and_pragmas(tmp_path, lib):
    with lib.sql_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL until a user's write says FULL
        rev = MigrationContext.configure(conn).get_current_revision()
    assert rev == head_revision()


def test_the_users_writes_commit_with_synchronous_full(lib, photo_dir):
    from sqlalchemy import event

    make_photo(photo_dir / "a.jpg")
    scan(lib, lib.add_folder(photo_dir).id)
    pid = lib.photos_needing_caption("m")[0].id
    seen: list[str] = []
    event.listen(lib.sql_engine, "before_cursor_execute", lambda c, cur, stmt, *a: seen.append(stmt))

    def sync_of(write) -> list[str]:
        seen.clear()
        write()
        return [s for s in seen if s.startswith(("PRAGMA synchronous", "BEGIN"))]

    assert sync_of(lambda: lib.record_caption(pid, "auto", "model", "m")) == [
        "PRAGMA synchronous = NORMAL",
        "BEGIN IMMEDIATE",
    ]
    assert sync_of(lambda: lib.set_user_caption(pid, "mine")) == ["PRAGMA synchronous = FULL", "BEGIN IMMEDIATE"]
    assert sync_of(lambda: lib.mark_reviewed(pid)) == ["PRAGMA synchronous = FULL", "BEGIN IMMEDIATE"]
    with lib.writing(durable=True) as s:
        assert s.connection().exec_driver_sql("PRAGMA synchronous").scalar() == 2


def test_head_read_from_the_scripts_is_alembics_head():
    from alembic.script import ScriptDirectory

    from photocap.library.db import alembic_config, known_revisions

    script = ScriptDirectory.from_config(alembic_config())
    assert head_revision() == script.get_current_head()
    assert set(known_revisions()) == {rev.revision for rev in script.walk_revisions()}


def test_default_path_is_in_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("PHOTOCAP_DATA_DIR", str(tmp_path / "data"))
    with open_library() as lib:
        assert lib.path == tmp_path / "data" / "library.sqlite"
        assert lib.path.exists()


def test_orm_models_match_the_migrations(lib):
    """Autogenerate against a migrated file finds nothing to do (the FTS tables are hand-made DDL)."""
    with lib.sql_engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "include_name": lambda name, type_, parents: not (type_ == "table" and is_fts_table(name)),
                "compare_type": True,
            },
        )
        assert compare_metadata(ctx, Base.metadata) == []


def test_upgrade_from_first_revision_keeps_and_indexes_old_rows(tmp_path):
    db = tmp_path / "old.sqlite"
    engine = make_sql_engine(db)
    upgrade(engine, "0001")  # the first schema, before the search index existed
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO folders (id, path, status, polling, added_at) VALUES (1, '/p', 'ok', 0, '2024-01-01 00:00:00')"
        )
        conn.exec_driver_sql(
            "INSERT INTO photos (id, folder_id, path, name, folder_name, size, mtime_ns, identity, status, added_at, "
            "updated_at, caption, caption_source, caption_stale, reviewed, tags_text) VALUES (7, 1, '/p/a.jpg', "
            "'a.jpg', 'p', 10, 1, 'abc', 'ok', '2024-01-01', '2024-01-01', 'a sailing boat at dawn', 'user', 0, 1, '')"
        )
    engine.dispose()

    with open_library(db) as lib:
        hits = lib.search("boats")
        assert [h.photo_id for h in hits] == [7]
        assert lib.photo_detail(7).caption_source == "user"
    backups = list(tmp_path.glob("old.sqlite.before-*.bak"))
    assert len(backups) == 1
    conn = sqlite3.connect(backups[0])
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0001"
    conn.close()


def test_refuses_a_newer_library_without_touching_it(tmp_path):
    db = tmp_path / "future.sqlite"
    open_library(db).close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    with pytest.raises(LibraryTooNew, match="newer version of photocap"):
        open_library(db)
    assert db.read_bytes() == before


def test_writers_on_many_threads_all_land(lib, photo_dir):
    for i in range(8):
        make_photo(photo_dir / f"p{i}.jpg", seed=i)
    scan(lib, lib.add_folder(photo_dir).id)
    ids = [r.id for r in lib.photos_needing_caption("m")]
    errors = []

    def work(pid):
        try:
            for n in range(15):
                lib.record_caption(pid, f"caption {n} for photo {pid}", "model", f"m{n}")
                lib.search(f"photo {pid}")
        except Exception as exc:  # pragma: no cover - the assertion shows it
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(pid,)) for pid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for pid in ids:
        detail = lib.photo_detail(pid)
        assert len(detail.history) == 15
        assert detail.caption == f"caption 14 for photo {pid}"


def test_a_file_that_is_not_a_library_gets_a_clear_error(tmp_path):
    not_db = make_photo(tmp_path / "photo.jpg")
    before = not_db.read_bytes()
    with pytest.raises(
        LibraryError, match="is not a photocap library \\(not an SQLite database\\); it has not been changed"
    ):
        open_library(not_db)
    assert not_db.read_bytes() == before

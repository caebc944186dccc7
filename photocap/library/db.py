"""Opening the library file: engine, pragmas, schema migrations.

``open_library(path=None)`` is the one way in. It

1. creates the SQLite engine with WAL, ``synchronous=NORMAL``, ``busy_timeout`` and
   ``foreign_keys=ON`` set on every new connection (a connect event), and the driver's
   own transaction handling switched off so that write units begin with
   ``BEGIN IMMEDIATE``: a writer takes the write lock up front and waits on
   ``busy_timeout`` instead of failing with SQLITE_BUSY halfway through (the usual
   WAL trap when a read transaction tries to upgrade);
2. checks that this SQLite has FTS5 (``PRAGMA compile_options``) and is 3.31 or newer
   (generated columns), with a clear error;
3. refuses a library written by a *newer* photocap (an Alembic revision this copy does
   not know) with :class:`LibraryTooNew`, before touching it;
4. backs up an *older* library file next to itself, then upgrades it to head.

Alembic runs programmatically from the packaged ``migrations/`` folder; nothing depends
on the working directory or an ini file.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, exc

from photocap import paths

if TYPE_CHECKING:
    from photocap.library.library import Library

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 15_000
WRITE_OPTION = "photocap_write"  # execution option: this connection begins with BEGIN IMMEDIATE


class LibraryError(Exception):
    """The library file cannot be used; the message says why, for people."""


class LibraryTooNew(LibraryError):
    pass


class MissingFTS5(LibraryError):
    pass


def make_engine(path: str | os.PathLike) -> Engine:
    engine = create_engine(f"sqlite:///{Path(path)}", pool_size=8, max_overflow=8, pool_timeout=60)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see module doc)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


MIN_SQLITE = (3, 31, 0)  # generated columns (migration 0003)


def check_fts5(engine: Engine) -> None:
    """FTS5 compiled in, and an SQLite new enough for the schema; a clear error otherwise."""
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise LibraryError(
            f"This Python's SQLite is {sqlite3.sqlite_version}; photocap needs "
            f"{'.'.join(map(str, MIN_SQLITE))} or newer. Install a newer Python build."
        )
    with engine.connect() as conn:
        options = {row[0] for row in conn.exec_driver_sql("PRAGMA compile_options")}
    if "ENABLE_FTS5" not in options:
        raise MissingFTS5(
            f"This Python's SQLite ({sqlite3.sqlite_version}) was built without FTS5, which photocap "
            "needs for search. Install a Python whose sqlite3 has FTS5 (python.org and most Linux "
            "distributions' builds do)."
        )


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` on ``engine`` (also used by tests for old schemas)."""
    cfg = alembic_config()
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def prepare(engine: Engine, path: Path) -> None:
    """Refuse a newer library, back up an older one, then upgrade it to head."""
    check_fts5(engine)
    script = ScriptDirectory.from_config(alembic_config())
    current = current_revision(engine)
    head = script.get_current_head()
    if current == head:
        return
    if current is not None:
        try:
            script.get_revision(current)
        except Exception as exc:  # alembic raises several kinds for an unknown id
            raise LibraryTooNew(
                f"{path} was written by a newer version of photocap (schema {current}; this version "
                f"knows up to {head}). Update photocap to open it; the file has not been changed."
            ) from exc
        _backup(engine, path.with_name(f"{path.name}.before-{head}.bak"))
    upgrade(engine)


def _backup(engine: Engine, target: Path) -> None:
    """A consistent copy through SQLite's online backup API (safe in WAL mode)."""
    raw = engine.raw_connection()
    try:
        dest = sqlite3.connect(target)
        try:
            raw.driver_connection.backup(dest)
        finally:
            dest.close()
    finally:
        raw.close()


def open_library(path: str | os.PathLike | None = None) -> Library:
    """Open (creating or upgrading as needed) the library at ``path`` or the default one."""
    from photocap.library.library import Library

    path = Path(path) if path is not None else paths.default_library_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(path)
    try:
        prepare(engine, path)
    except exc.DBAPIError as error:
        engine.dispose()
        raise LibraryError(f"{path} cannot be opened as a photocap library: {error.orig}") from error
    except BaseException:
        engine.dispose()
        raise
    return Library(engine, path)

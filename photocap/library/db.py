"""Opening the library file: what the file is, the SQL engine, pragmas, schema migrations, backups.

:func:`open_sql_engine` does the opening for ``open_library(path=None)``
(:mod:`.library`), the one way in. Before anything writes to the file it

1. looks at the file with plain :mod:`sqlite3`, read-only (:func:`inspect_file`): a missing
   or empty file is a new library; an SQLite file with photocap's tables is a library at
   some schema revision; anything else (another application's database, a text file) is
   refused with :class:`NotALibrary`, the file left byte-for-byte as it was (no tables
   added, no switch to WAL). A library from a *newer* photocap is refused with
   :class:`LibraryTooNew`;
2. checks the file is sound (``PRAGMA quick_check``); a damaged one raises
   :class:`LibraryCorrupt`, which carries the backups found next to it (:func:`backups`)
   for :func:`restore_backup`;
3. decides read-only or read-write: a file (or folder) this user cannot write, or a
   read-only mount, opens read-only (``mode=ro``, or ``immutable`` where SQLite cannot
   even make its shared-memory file): search and show work, every write raises
   :class:`LibraryReadOnly` with the reason;
4. creates the SQL engine (SQLAlchemy's), connecting through a ``sqlite3`` URI built from the
   path (so ``?``, ``#`` and ``%`` in a file name are just characters), with WAL,
   ``busy_timeout`` and ``foreign_keys=ON`` set on every connection, ``synchronous`` set
   per write transaction (see below), and the driver's own transaction handling switched off so that write
   units begin with ``BEGIN IMMEDIATE``: a writer takes the write lock up front and
   waits on ``busy_timeout`` instead of failing with SQLITE_BUSY halfway through;
5. only when the revision is not the newest one, imports Alembic (about a second of
   imports that a search never pays) and, holding the write lock so that two processes
   opening one file migrate it once, backs an *older* library up next to itself
   (``NAME.before-REV.bak``; never for a brand-new file) and upgrades it to head.

Durability: a write the user made (a caption edit, "reviewed", folders, models: the
:data:`DURABLE_OPTION` transactions of :class:`~photocap.library.library.Library`) commits
with ``synchronous=FULL``, on the disk before it returns, so a power cut loses no
committed edit (it also makes every earlier commit durable). Automatic writes (scans,
automatic captions) commit with ``NORMAL``: in WAL mode a power cut can roll back the
last of them, never damage the file, and photocap redoes them by itself. The costs,
measured by ``bench/sync_cost.py``, are in the README.

A full disk, a read-only file and a damaged file met later, while writing or reading,
become :class:`LibraryFull`, :class:`LibraryReadOnly` and :class:`LibraryCorrupt` too
(:func:`translate`), so callers show one line instead of a driver traceback.
"""

from __future__ import annotations

import datetime as _dt
import errno
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from photocap import paths

# SQLAlchemy is imported where the SQL engine is made, not here: reading the file with plain
# sqlite3 (inspect_file, quick_check, photocap.library.reader) must not pay for its import.
if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection, Engine
    from sqlalchemy.pool import PoolProxiedConnection

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 15_000
SYNC_USER, SYNC_AUTOMATIC = "FULL", "NORMAL"  # see the module doc; bench/sync_cost.py measures both
WRITE_OPTION = "photocap_write"  # execution option: this connection begins with BEGIN IMMEDIATE
DURABLE_OPTION = "photocap_durable"  # execution option: a user's write, committed with synchronous=FULL
SQLITE_MAGIC = b"SQLite format 3\x00"
LIBRARY_TABLES = frozenset({"alembic_version", "photos", "folders", "captions"})
CHECK_EVERY = _dt.timedelta(days=7)  # a full integrity_check at most this often (see Library.check_integrity)
KEEP_CHECKED_BACKUPS = 2

# SQLite primary result codes (``sqlite3.Error.sqlite_errorcode & 0xff``)
SQLITE_READONLY, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_NOTADB = 8, 11, 13, 26


class LibraryError(Exception):
    """The library file cannot be used (or written); the message says why, for people."""


class LibraryTooNew(LibraryError):
    pass


class MissingFTS5(LibraryError):
    pass


class NotALibrary(LibraryError):
    """The file is something else (another application's database, not a database at all)."""


class LibraryNotFound(LibraryError):
    """No library at that path, and the caller asked not to create one."""


class LibraryReadOnly(LibraryError):
    """A write to a library opened read-only (or on a read-only disk)."""


class LibraryFull(LibraryError):
    """The disk is full: the change was not saved (the library is as it was before it)."""


@dataclass(frozen=True)
class Backup:
    path: Path
    made_at: _dt.datetime  # local time, from the file's modification time
    kind: str  # "before an upgrade" or "checked"

    @property
    def label(self) -> str:
        return f"{self.made_at:%Y-%m-%d %H:%M}"


class LibraryCorrupt(LibraryError):
    """The file is damaged. ``backups`` (newest first) are what :func:`restore_backup` can bring back."""

    def __init__(self, path: Path, problems: list[str], backups: list[Backup] | None = None):
        self.path, self.problems = Path(path), problems
        self.backups = backups if backups is not None else find_backups(path)
        latest = f" The newest backup is from {self.backups[0].label}." if self.backups else " No backup was found."
        super().__init__(f"{self.path} is damaged ({'; '.join(problems[:2]) or 'unreadable'})." + latest)

    def __reduce__(self) -> tuple[type[LibraryCorrupt], tuple[Path, list[str], list[Backup]]]:
        return type(self), (self.path, self.problems, self.backups)


# ---- what a file is -----------------------------------------------------------------------
@dataclass(frozen=True)
class FileState:
    exists: bool  # a file with content (False: missing or empty, a new library)
    revision: str | None = None  # the library's schema revision (None: new)
    writable: bool = True
    why_read_only: str | None = None
    immutable: bool = False  # open with immutable=1 (a read-only folder SQLite cannot write its -shm into)
    tables: frozenset[str] = field(default_factory=frozenset)


def _uri(path: Path, **params: str) -> str:
    """A ``file:`` URI for ``path``: any byte the OS allows in a name, ``?#%`` included."""
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"file:{quote(os.fsencode(os.path.abspath(path)))}" + (f"?{query}" if query else "")


def _why_read_only(path: Path) -> str | None:
    folder = path.parent
    if path.exists() and not os.access(path, os.W_OK):
        return "the file is read-only"
    if not os.access(folder, os.W_OK):
        return "its folder is not writable"
    return None


def _connect_ro(path: Path) -> tuple[sqlite3.Connection, bool]:
    """A read-only plain connection, and whether it had to be ``immutable`` (read-only folder)."""
    try:
        conn = sqlite3.connect(_uri(path, mode="ro"), uri=True)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn, False
    except sqlite3.OperationalError as error:
        # a read-only folder, or a WAL index (-shm) this user may not write: read it as immutable
        if "unable to open" not in str(error) and "readonly" not in str(error):
            raise
    conn = sqlite3.connect(_uri(path, mode="ro", immutable="1"), uri=True)
    return conn, True


def inspect_file(path: Path) -> FileState:
    """What ``path`` is, read without writing a byte; raises NotALibrary / LibraryCorrupt."""
    why = _why_read_only(path)
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return FileState(False, writable=why is None, why_read_only=why)
    except IsADirectoryError:
        raise NotALibrary(f"{path} is a folder, not a library file.") from None
    except OSError as error:
        raise LibraryError(f"{path} cannot be read: {error.strerror or error}") from error
    if not head:
        return FileState(False, writable=why is None, why_read_only=why)
    if head != SQLITE_MAGIC:
        raise NotALibrary(f"{path} is not a photocap library (not an SQLite database); it has not been changed.")
    try:
        conn, immutable = _connect_ro(path)
    except sqlite3.DatabaseError as error:
        raise _from_sqlite(error, path) from error
    try:
        tables = frozenset(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
        if not tables:
            return FileState(False, writable=why is None, why_read_only=why, immutable=immutable)
        if not tables >= LIBRARY_TABLES:
            shown = ", ".join(sorted(tables)[:5]) + (", …" if len(tables) > 5 else "")
            raise NotALibrary(
                f"{path} is another application's database (tables: {shown}), not a photocap "
                "library; it has not been changed. Choose another file."
            )
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return FileState(True, revision[0] if revision else None, why is None, why, immutable, tables)
    except sqlite3.DatabaseError as error:
        raise _from_sqlite(error, path) from error
    finally:
        conn.close()


def quick_check(path: Path) -> list[str]:
    """``PRAGMA quick_check`` of a file, read-only (empty: sound)."""
    try:
        conn, _ = _connect_ro(path)
        try:
            return [r[0] for r in conn.execute("PRAGMA quick_check(20)") if r[0] != "ok"]
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        return [str(error)]


# ---- schema revisions (no Alembic needed to know them) ------------------------------------
_REV_RE = re.compile(r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*['"]?([\w.-]+|None)['"]?""", re.M)


def known_revisions() -> dict[str, str | None]:
    """revision -> its parent, read from the migration scripts' ``revision =`` lines."""
    found: dict[str, str | None] = {}
    for script in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        values = {m.group(1): m.group(2) for m in _REV_RE.finditer(script.read_text(encoding="utf-8"))}
        if "revision" in values:
            down = values.get("down_revision")
            found[values["revision"]] = None if down in (None, "None") else down
    return found


def head_revision() -> str:
    revisions = known_revisions()
    heads = set(revisions) - {down for down in revisions.values() if down}
    if len(heads) != 1:
        raise LibraryError(f"photocap's migrations have {len(heads)} heads ({', '.join(sorted(heads))}); expected one")
    return heads.pop()


# ---- the SQL engine ------------------------------------------------------------------------
def make_sql_engine(path: str | os.PathLike[str], read_only: bool = False, immutable: bool = False) -> Engine:
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import QueuePool

    path = Path(path)
    if read_only:
        uri = _uri(path, mode="ro", **({"immutable": "1"} if immutable else {}))
    else:
        uri = _uri(path, mode="rwc")

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, check_same_thread=False)

    sql_engine = create_engine(
        "sqlite://", creator=connect, poolclass=QueuePool, pool_size=8, max_overflow=8, pool_timeout=60
    )

    @event.listens_for(sql_engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see module doc)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not read_only:  # (mode=ro refuses writes to the file; TEMP tables, which search uses, still work)
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute(f"PRAGMA synchronous = {SYNC_AUTOMATIC}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(sql_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get(WRITE_OPTION):
            sync = SYNC_USER if options.get(DURABLE_OPTION) else SYNC_AUTOMATIC
            conn.exec_driver_sql(f"PRAGMA synchronous = {sync}")  # no I/O: applies to this commit
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return sql_engine


MIN_SQLITE = (3, 31, 0)  # generated columns (migration 0003)


def check_sqlite() -> None:
    """FTS5 compiled in, and an SQLite new enough for the schema; a clear error otherwise."""
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise LibraryError(
            f"This Python's SQLite is {sqlite3.sqlite_version}; photocap needs "
            f"{'.'.join(map(str, MIN_SQLITE))} or newer. Install a newer Python build."
        )
    conn = sqlite3.connect(":memory:")
    try:
        options = {row[0] for row in conn.execute("PRAGMA compile_options")}
    finally:
        conn.close()
    if "ENABLE_FTS5" not in options:
        raise MissingFTS5(
            f"This Python's SQLite ({sqlite3.sqlite_version}) was built without FTS5, which photocap "
            "needs for search. Install a Python whose sqlite3 has FTS5 (python.org and most Linux "
            "distributions' builds do)."
        )


# ---- migrations (Alembic imported only here) ----------------------------------------------
def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def current_revision(sql_engine: Engine) -> str | None:
    with sql_engine.connect() as conn:
        return _revision(conn)


def _revision(conn: Connection) -> str | None:
    has_table = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).first()
    version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() if has_table else None
    return None if version is None else str(version)


def upgrade(sql_engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` on ``sql_engine`` (also used by tests for old schemas)."""
    with sql_engine.connect().execution_options(**{WRITE_OPTION: True}) as conn:
        _run_alembic(conn, revision)
        conn.commit()


def _run_alembic(conn: Connection, revision: str) -> None:
    from alembic import command

    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


def migrate(sql_engine: Engine, path: Path) -> None:
    """Back up an older library and upgrade it to head, holding the write lock throughout:
    a second process opening the same file waits, then finds it at head and does nothing."""
    head = head_revision()
    with sql_engine.connect().execution_options(**{WRITE_OPTION: True}) as conn:
        conn.begin()  # BEGIN IMMEDIATE: the lock, before the revision is read
        current = _revision(conn)
        if current == head:
            conn.rollback()
            return
        if current is not None:
            if current not in known_revisions():
                raise _too_new(path, current, head)
            # from a second connection: SQLite's backup cannot read through one that is writing.
            # It sees the file as committed, and nobody can commit while we hold the lock.
            source, _ = _connect_ro(path)
            try:
                _backup(source, path.with_name(f"{path.name}.before-{head}.bak"))
            finally:
                source.close()
        _run_alembic(conn, "head")
        conn.commit()


def _too_new(path: Path, current: str, head: str) -> LibraryTooNew:
    return LibraryTooNew(
        f"{path} was written by a newer version of photocap (schema {current}; this version "
        f"knows up to {head}). Update photocap to open it; the file has not been changed."
    )


# ---- backups ------------------------------------------------------------------------------
def driver_connection(pooled: PoolProxiedConnection) -> sqlite3.Connection:
    """The plain sqlite3 connection under a pooled one (every engine here is pysqlite's, see make_sql_engine)."""
    conn = pooled.driver_connection
    if not isinstance(conn, sqlite3.Connection):
        raise LibraryError(f"expected an sqlite3 connection, got {type(conn).__name__}")
    return conn


def _backup(source: sqlite3.Connection, target: Path) -> None:
    """A consistent copy through SQLite's online backup API (safe in WAL mode), written
    beside ``target`` first and moved into place, so a half-written backup never exists."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    dest = sqlite3.connect(partial)
    try:
        source.backup(dest)
    finally:
        dest.close()
    os.replace(partial, target)


def find_backups(path: str | os.PathLike[str]) -> list[Backup]:
    """Backups of the library at ``path`` (``NAME.before-REV.bak``, ``NAME.checked-DATE.bak``), newest first."""
    path = Path(path)
    found = []
    for kind, pattern in (("before an upgrade", ".before-*.bak"), ("checked", ".checked-*.bak")):
        for p in path.parent.glob(f"{glob_escape(path.name)}{pattern}"):
            try:
                found.append(Backup(p, _dt.datetime.fromtimestamp(p.stat().st_mtime), kind))
            except OSError:
                continue
    return sorted(found, key=lambda b: b.made_at, reverse=True)


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def make_checked_backup(sql_engine: Engine, path: Path, keep: int = KEEP_CHECKED_BACKUPS) -> Path:
    """A backup of a library that has just passed ``integrity_check``; keeps the newest ``keep``."""
    target = path.with_name(f"{path.name}.checked-{_dt.datetime.now():%Y%m%d-%H%M%S}.bak")
    raw = sql_engine.raw_connection()
    try:
        _backup(driver_connection(raw), target)
    finally:
        raw.close()
    for old in [b for b in find_backups(path) if b.kind == "checked"][keep:]:
        old.path.unlink(missing_ok=True)
    return target


def restore_backup(path: str | os.PathLike[str], backup: str | os.PathLike[str] | Backup) -> Path:
    """Put ``backup`` in place of the library at ``path``. The file it replaces (and its
    ``-wal``/``-shm``) is kept aside as ``NAME.damaged-DATE`` and never deleted; returns
    that path. The library must not be open. Refuses a backup that is damaged itself."""
    path = Path(path)
    source = Path(backup.path if isinstance(backup, Backup) else backup)
    problems = quick_check(source)
    if problems:
        raise LibraryError(f"The backup {source} is damaged too ({problems[0]}); choose another one.")
    staged = path.with_name(path.name + ".restoring")
    try:
        shutil.copyfile(source, staged)
        aside = path.with_name(f"{path.name}.damaged-{_dt.datetime.now():%Y%m%d-%H%M%S}")
        if path.exists():
            os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            extra = path.with_name(path.name + suffix)
            if extra.exists():
                os.replace(extra, aside.with_name(aside.name + suffix))
        os.replace(staged, path)
    except OSError as error:
        staged.unlink(missing_ok=True)
        raise LibraryError(f"Could not restore {path} from {source}: {error.strerror or error}") from error
    return aside


# ---- errors met while working ------------------------------------------------------------
def _from_sqlite(error: BaseException, path: Path) -> LibraryError:
    code = getattr(error, "sqlite_errorcode", None)
    code = code & 0xFF if isinstance(code, int) else None
    text = str(error)
    if code == SQLITE_FULL or "disk is full" in text:
        return LibraryFull(f"The disk holding {path} is full: the change was not saved. Free some space and try again.")
    if code == SQLITE_READONLY or "readonly database" in text:
        return LibraryReadOnly(f"{path} is read-only here: changes cannot be saved.")
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB) or "malformed" in text or "not a database" in text:
        return LibraryCorrupt(path, [text])
    return LibraryError(f"{path}: {text}")


def translate(error: BaseException, path: Path) -> BaseException:
    """A driver error as the library error people read; other errors unchanged."""
    orig = getattr(error, "orig", error)  # a SQLAlchemy DBAPIError wraps the driver's
    if isinstance(orig, OSError) and orig.errno == errno.ENOSPC:
        return LibraryFull(f"The disk holding {path} is full: the change was not saved. Free some space and try again.")
    if isinstance(orig, OSError) and orig.errno == errno.EROFS:
        return LibraryReadOnly(f"{path} is on a read-only disk: changes cannot be saved.")
    if isinstance(orig, sqlite3.DatabaseError):
        translated = _from_sqlite(orig, path)
        if type(translated) is not LibraryError:
            return translated
    return error


# ---- the one way in (photocap.library.library.open_library) ---------------------------------
@dataclass(frozen=True)
class OpenedFile:
    """A library file opened, checked and migrated: what a :class:`~photocap.library.library.Library` is made of."""

    sql_engine: Engine
    path: Path
    read_only: bool
    why_read_only: str | None


def open_sql_engine(
    path: str | os.PathLike[str] | None = None,
    *,
    create: bool = True,
    read_only: bool | None = None,
    check: bool = True,
) -> OpenedFile:
    """Open the library file at ``path`` for :func:`photocap.library.library.open_library` (which documents
    the arguments): checked, migrated, with its SQL engine made."""
    if path is None:
        try:
            path = paths.default_library_path()  # its folder is created: it is ours
        except OSError as error:
            raise LibraryError(
                f"photocap's data folder cannot be created: {error.strerror or error} ({error.filename})."
            ) from error
    path = Path(os.path.abspath(path))
    check_sqlite()
    if not path.parent.is_dir():
        raise LibraryError(f"Cannot open {path}: the folder {path.parent} does not exist (is the disk plugged in?).")
    state = inspect_file(path)
    if not state.exists and not create:
        raise LibraryNotFound(f"There is no library at {path} yet. Add photos with: photocap index FOLDER")
    ro = bool(read_only) or not state.writable
    why = state.why_read_only or "opened read-only"
    if not state.exists and ro:
        raise LibraryReadOnly(f"Cannot create a library at {path}: {why}.")
    head = head_revision()
    if state.exists:
        if state.revision is None:
            raise NotALibrary(
                f"{path} has photocap's tables but no schema revision, so photocap cannot tell what "
                "it is; it has not been changed."
            )
        if state.revision not in known_revisions():
            raise _too_new(path, str(state.revision), head)
        if check and (problems := quick_check(path)):
            raise LibraryCorrupt(path, problems)
        if ro and state.revision != head:
            raise LibraryReadOnly(f"{path} was made by an older photocap and needs an upgrade, but {why}.")
    from sqlalchemy import exc

    sql_engine = make_sql_engine(path, read_only=ro, immutable=state.immutable)
    try:
        if not ro and state.revision != head:
            migrate(sql_engine, path)
    except (exc.DBAPIError, sqlite3.DatabaseError, OSError) as error:
        sql_engine.dispose()
        translated = translate(error, path)
        if translated is error:
            raise LibraryError(
                f"{path} cannot be opened as a photocap library: {getattr(error, 'orig', error)}"
            ) from error
        raise translated from error
    except BaseException:
        sql_engine.dispose()
        raise
    return OpenedFile(sql_engine, path, ro, why if ro else None)

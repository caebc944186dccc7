"""Alembic environment for the photocap library.

Runs programmatically (see :func:`photocap.library.db.upgrade`): the caller passes an
open connection in ``config.attributes["connection"]``. For a developer generating a
revision from the command line (``alembic -c photocap/library/migrations/alembic.ini
revision --autogenerate -m "..."``) it opens the URL from the ini file instead.
The FTS5 table and its shadow tables are hand-written DDL and are hidden from
autogenerate. SQLite cannot ALTER most things: ``render_as_batch`` makes autogenerate
write batch operations.
"""

from alembic import context
from alembic.runtime.environment import NameFilterParentNames, NameFilterType
from sqlalchemy import Connection, create_engine

from photocap.library.fts import is_fts_table
from photocap.library.schema import Base

config = context.config
target_metadata = Base.metadata


def include_name(name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames) -> bool:
    return not (type_ == "table" and is_fts_table(name))


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        render_as_batch=True,
        compare_type=True,
    )


connection = config.attributes.get("connection")
if connection is not None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()
else:  # command line, for developers
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise SystemExit("alembic.ini names no sqlalchemy.url to open")
    sql_engine = create_engine(url)
    with sql_engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()

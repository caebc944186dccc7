"""paths as bytes: photos.path, folders.path and problems.path hold the file name's exact bytes

A file name on POSIX is bytes; one that is not UTF-8 (``caf\\xe9.jpg``) could not be stored
as text at all and stopped the whole scan. Paths are now stored as BLOBs of
``os.fsencode(path)`` (see ``photocap/library/filenames.py``). The declared column types
stay as they were (SQLite keeps a BLOB as a BLOB in a TEXT column); only the stored values
change, from UTF-8 text to the same bytes as a BLOB, so the unique indexes and the
"everything below a folder" ranges compare bytes with bytes. No trigger watches these
columns, so the search index is untouched.

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TABLES = ("folders", "photos", "problems")


def upgrade() -> None:
    for table in _TABLES:
        op.execute(f"UPDATE {table} SET path = CAST(path AS BLOB) WHERE typeof(path) = 'text'")


def downgrade() -> None:
    # names that are not UTF-8 come back as text SQLite cannot check: older photocap refuses them anyway
    for table in _TABLES:
        op.execute(f"UPDATE {table} SET path = CAST(path AS TEXT) WHERE typeof(path) = 'blob'")

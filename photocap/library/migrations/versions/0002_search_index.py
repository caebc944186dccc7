"""search index: external-content FTS5 table over photos, kept in step by triggers

Written by hand (autogenerate does not see virtual tables; env.py hides them). The SQL is
frozen here on purpose: a later change to the index is a new revision, never an edit.
Existing photos are indexed by the final 'rebuild'.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLS = "caption, tags_text, name, folder_name"
_NEW = "new.caption, new.tags_text, new.name, new.folder_name"
_OLD = "old.caption, old.tags_text, old.name, old.folder_name"


def upgrade() -> None:
    op.execute(
        f"CREATE VIRTUAL TABLE photo_fts USING fts5({_COLS}, content='photos', content_rowid='id', "
        "tokenize='porter unicode61 remove_diacritics 2')"
    )
    op.execute(
        f"CREATE TRIGGER photos_fts_ai AFTER INSERT ON photos BEGIN "
        f"INSERT INTO photo_fts(rowid, {_COLS}) VALUES (new.id, {_NEW}); END"
    )
    op.execute(
        f"CREATE TRIGGER photos_fts_ad AFTER DELETE ON photos BEGIN "
        f"INSERT INTO photo_fts(photo_fts, rowid, {_COLS}) VALUES ('delete', old.id, {_OLD}); END"
    )
    # only the indexed columns: status/mtime updates (scans, watcher) leave the index alone
    op.execute(
        f"CREATE TRIGGER photos_fts_au AFTER UPDATE OF {_COLS} ON photos BEGIN "
        f"INSERT INTO photo_fts(photo_fts, rowid, {_COLS}) VALUES ('delete', old.id, {_OLD}); "
        f"INSERT INTO photo_fts(rowid, {_COLS}) VALUES (new.id, {_NEW}); END"
    )
    op.execute("INSERT INTO photo_fts(photo_fts) VALUES ('rebuild')")


def downgrade() -> None:
    for trigger in ("photos_fts_au", "photos_fts_ad", "photos_fts_ai"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS photo_fts")

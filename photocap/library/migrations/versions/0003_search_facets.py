"""search facets: filters as words in the index (photos.facets, a VIRTUAL generated column)

Text + a selective filter ("edited by me", a date range) used to walk every text match and
join it to photos; with the filters as tokens in their own FTS column, FTS5 intersects
them before any row is read. The index is rebuilt with the new column; the triggers now
also follow the columns the facets are made of. Frozen SQL, as in 0002.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FACETS = (
    "'st' || status || ' src' || coalesce(caption_source, 'none')"
    " || CASE WHEN caption_source IN ('model', 'tags') AND reviewed = 0 THEN ' review' ELSE '' END"
    " || ' f' || coalesce(folder_id, 0)"
    " || coalesce(' y' || substr(taken_at, 1, 4) || ' m' || substr(taken_at, 1, 4) || substr(taken_at, 6, 2), '')"
)
_TEXT = "caption, tags_text, name, folder_name"


def _create_index(cols: str, watched: str) -> None:
    new = ", ".join(f"new.{c.strip()}" for c in cols.split(","))
    old = ", ".join(f"old.{c.strip()}" for c in cols.split(","))
    op.execute(
        f"CREATE VIRTUAL TABLE photo_fts USING fts5({cols}, content='photos', content_rowid='id', "
        "tokenize='porter unicode61 remove_diacritics 2')"
    )
    op.execute(f"CREATE TRIGGER photos_fts_ai AFTER INSERT ON photos BEGIN "
               f"INSERT INTO photo_fts(rowid, {cols}) VALUES (new.id, {new}); END")
    op.execute(f"CREATE TRIGGER photos_fts_ad AFTER DELETE ON photos BEGIN "
               f"INSERT INTO photo_fts(photo_fts, rowid, {cols}) VALUES ('delete', old.id, {old}); END")
    op.execute(f"CREATE TRIGGER photos_fts_au AFTER UPDATE OF {watched} ON photos BEGIN "
               f"INSERT INTO photo_fts(photo_fts, rowid, {cols}) VALUES ('delete', old.id, {old}); "
               f"INSERT INTO photo_fts(rowid, {cols}) VALUES (new.id, {new}); END")
    op.execute("INSERT INTO photo_fts(photo_fts) VALUES ('rebuild')")


def _drop_index() -> None:
    for trigger in ("photos_fts_au", "photos_fts_ad", "photos_fts_ai"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS photo_fts")


def upgrade() -> None:
    _drop_index()
    op.execute(f"ALTER TABLE photos ADD COLUMN facets TEXT GENERATED ALWAYS AS ({FACETS}) VIRTUAL")
    _create_index(f"{_TEXT}, facets",
                  f"{_TEXT}, status, caption_source, reviewed, folder_id, taken_at")


def downgrade() -> None:
    _drop_index()
    op.execute("ALTER TABLE photos DROP COLUMN facets")
    _create_index(_TEXT, _TEXT)

"""meaning: broader tag words in the search index, sentence vectors, image features

* ``photos.tags_broader``: the tags' WordNet hypernyms ("cat feline animal" for an Egyptian
  cat), a new FTS5 column between ``folder_name`` and ``facets`` with a lower bm25 weight
  than the tags. Existing photos get theirs from their ``tags`` rows (the table in
  ``resources/imagenet_hypernyms.json``), then the index is rebuilt.
* ``text_vectors``: one sentence vector per photo (caption and tags); a trigger deletes it
  when the caption or tags change, so the embedding pass makes a fresh one.
* ``image_features``: the pooled encoder feature kept when a photo is captioned.
* ``vector_generations``: counters per vector table, bumped by triggers, and a ``seq`` on
  each vector row: readers' in-memory copies catch up with only what changed.

The index keeps 0004's prefix='1 2 3'. Frozen SQL, as in 0002-0004.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_OLD_TEXT = "caption, tags_text, name, folder_name"
_NEW_TEXT = "caption, tags_text, name, folder_name, tags_broader"
_FACET_SOURCES = "status, caption_source, reviewed, folder_id, taken_at"


def _create_index(cols: str, watched: str) -> None:
    new = ", ".join(f"new.{c.strip()}" for c in cols.split(","))
    old = ", ".join(f"old.{c.strip()}" for c in cols.split(","))
    op.execute(
        f"CREATE VIRTUAL TABLE photo_fts USING fts5({cols}, content='photos', content_rowid='id', prefix='1 2 3', "
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


def _backfill_broader() -> None:
    from photocap.library.hierarchy import broader_text  # the shipped table; plain JSON

    conn = op.get_bind()
    by_photo: dict[int, list[tuple[str, float]]] = {}
    for photo_id, label, prob in conn.exec_driver_sql("SELECT photo_id, label, prob FROM tags"):
        by_photo.setdefault(photo_id, []).append((label, prob))
    for photo_id, tags in by_photo.items():
        conn.exec_driver_sql("UPDATE photos SET tags_broader = ? WHERE id = ?", (broader_text(tags), photo_id))


def upgrade() -> None:
    _drop_index()
    op.add_column("photos", sa.Column("tags_broader", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "text_vectors",
        sa.Column("photo_id", sa.Integer(), sa.ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("model_id", sa.String(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_text_vectors_seq", "text_vectors", ["seq"])
    op.create_table(
        "image_features",
        sa.Column("photo_id", sa.Integer(), sa.ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("encoder_id", sa.String(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_image_features_seq", "image_features", ["seq"])
    op.create_index("ix_image_features_encoder_id", "image_features", ["encoder_id"])
    op.execute("CREATE TRIGGER photos_text_vector_stale AFTER UPDATE OF caption, tags_text ON photos "
               "WHEN old.caption IS NOT new.caption OR old.tags_text IS NOT new.tags_text BEGIN "
               "DELETE FROM text_vectors WHERE photo_id = new.id; END")
    # a generation per vector table, bumped on every insert and delete (deletions counted
    # apart), and each row stamped with the generation that inserted it: readers keep the
    # vectors in memory and, when the generation moved, read only the rows inserted since
    # (and the ids still there, when something was deleted). Rows are never updated in place.
    op.create_table(
        "vector_generations",
        sa.Column("kind", sa.String(), primary_key=True),
        sa.Column("generation", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("deletions", sa.Integer(), nullable=False, server_default="0"),
    )
    op.execute("INSERT INTO vector_generations(kind) VALUES ('text_vectors'), ('image_features')")
    for t in ("text_vectors", "image_features"):
        op.execute(f"CREATE TRIGGER {t}_insert_gen AFTER INSERT ON {t} BEGIN "
                   f"UPDATE vector_generations SET generation = generation + 1 WHERE kind = '{t}'; "
                   f"UPDATE {t} SET seq = (SELECT generation FROM vector_generations WHERE kind = '{t}') "
                   f"WHERE photo_id = new.photo_id; END")
        op.execute(f"CREATE TRIGGER {t}_delete_gen AFTER DELETE ON {t} BEGIN "
                   f"UPDATE vector_generations SET generation = generation + 1, deletions = deletions + 1 "
                   f"WHERE kind = '{t}'; END")
    _backfill_broader()
    _create_index(f"{_NEW_TEXT}, facets", f"{_NEW_TEXT}, {_FACET_SOURCES}")


def downgrade() -> None:
    _drop_index()
    op.execute("DROP TRIGGER IF EXISTS photos_text_vector_stale")
    for t in ("text_vectors", "image_features"):
        for event in ("insert", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {t}_{event}_gen")
    op.drop_table("vector_generations")
    op.drop_index("ix_image_features_seq", "image_features")
    op.drop_index("ix_text_vectors_seq", "text_vectors")
    op.drop_index("ix_image_features_encoder_id", "image_features")
    op.drop_table("image_features")
    op.drop_table("text_vectors")
    op.execute("ALTER TABLE photos DROP COLUMN tags_broader")
    _create_index(f"{_OLD_TEXT}, facets", f"{_OLD_TEXT}, {_FACET_SOURCES}")

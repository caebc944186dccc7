"""captions that travel: library settings, sidecar times, where each tag came from

* ``library_settings``: preferences that belong to the library rather than to one app
  window (write captions to XMP sidecars, embed them, teach with imported captions), so
  the command line and the app follow the same ones.
* ``photos.sidecar_mtime_ns``: the newest modification time of the photo's XMP / Takeout
  sidecars when it was last read; a rescan reads the photo again when a sidecar changed.
* ``tags.source``: ``model`` (the tagger) or ``imported`` (keywords from XMP/IPTC/digiKam);
  the tagger replaces only its own tags.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "library_settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    # plain ALTER TABLE ADD COLUMN: never a table copy (photos carries the search triggers)
    op.add_column("photos", sa.Column("sidecar_mtime_ns", sa.BigInteger, nullable=False, server_default="0"))
    op.add_column("tags", sa.Column("source", sa.String(16), nullable=False, server_default="model"))


def downgrade() -> None:
    op.drop_column("tags", "source")  # SQLite >= 3.35
    op.drop_column("photos", "sidecar_mtime_ns")
    op.drop_table("library_settings")

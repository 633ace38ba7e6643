"""The known-material store: a change marker on graded media and list provenance.

`media_items.known_seq` goes up (from one counter for the whole table) whenever an item
becomes finally graded, or a finally graded item's grade, status or hashes change: the
known-material index (`hotline.known`) reads only the rows past the marker it has applied.
The database sets it, by trigger, so every writer (grading, capture, imports) keeps it without
knowing of it. On SQLite writers are serialised, so the marker commits in order; on
PostgreSQL it comes from a sequence and the reader tracks numbers it has not seen yet.

`inherited_list`, `inherited_list_source`, `inherited_entry` and `inherited_category`: where an
item that matched a hash list's entry (not a graded item) took its grade from.

Revision ID: 0016_known_material
Revises: 0015_list_entry_signals
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_known_material"
down_revision: str | None = "0015_list_entry_signals"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

_FINAL = "('agreed', 'resolved', 'known_match')"
# What makes an item (re)enter the index: its status, grade or hashes.
_WATCHED = ("status", "final_grade", "sha256", "md5", "sha1", "pdq", "pdq_quality")


def upgrade() -> None:
    with op.batch_alter_table("media_items") as batch:
        batch.add_column(sa.Column("known_seq", sa.Integer, nullable=True))
        batch.add_column(sa.Column("inherited_list", sa.String(64), nullable=True))
        batch.add_column(sa.Column("inherited_list_source", sa.Text, nullable=True))
        batch.add_column(sa.Column("inherited_entry", sa.Integer, nullable=True))
        batch.add_column(sa.Column("inherited_category", sa.String(32), nullable=True))
    op.create_index("ix_media_items_known_seq", "media_items", ["known_seq"])
    # Items graded before this revision: numbered in id order.
    op.execute(f"UPDATE media_items SET known_seq = id WHERE status IN {_FINAL}")  # noqa: S608 (constants)
    if op.get_bind().dialect.name == "postgresql":
        _postgres_triggers()
    else:
        _sqlite_triggers()


def _postgres_triggers() -> None:
    op.execute("CREATE SEQUENCE media_items_known_seq")
    op.execute(
        "SELECT setval('media_items_known_seq', "
        "(SELECT COALESCE(MAX(known_seq), 0) + 1 FROM media_items), false)"
    )
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in _WATCHED)
    op.execute(
        f"""
        CREATE FUNCTION hotline_known_seq() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                IF NEW.status IN {_FINAL} THEN
                    NEW.known_seq := nextval('media_items_known_seq');
                END IF;
            ELSIF (OLD.status IN {_FINAL} OR NEW.status IN {_FINAL}) AND ({changed}) THEN
                NEW.known_seq := nextval('media_items_known_seq');
            END IF;
            RETURN NEW;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER media_items_known_seq BEFORE INSERT OR UPDATE ON media_items "
        "FOR EACH ROW EXECUTE FUNCTION hotline_known_seq()"
    )


def _sqlite_triggers() -> None:
    # SQLite cannot assign NEW in a trigger: an AFTER trigger numbers the row. max() reads the
    # index's last entry; writers are serialised, so no two transactions draw the same number.
    bump = (
        "UPDATE media_items SET known_seq = "
        "(SELECT COALESCE(MAX(known_seq), 0) + 1 FROM media_items) WHERE id = NEW.id;"
    )
    op.execute(
        "CREATE TRIGGER media_items_known_seq_insert AFTER INSERT ON media_items "
        f"WHEN NEW.status IN {_FINAL} BEGIN {bump} END"
    )
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _WATCHED)
    op.execute(
        f"CREATE TRIGGER media_items_known_seq_update AFTER UPDATE OF {', '.join(_WATCHED)} "
        f"ON media_items WHEN (OLD.status IN {_FINAL} OR NEW.status IN {_FINAL}) "
        f"AND ({changed}) BEGIN {bump} END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS media_items_known_seq ON media_items")
        op.execute("DROP FUNCTION IF EXISTS hotline_known_seq()")
        op.execute("DROP SEQUENCE IF EXISTS media_items_known_seq")
    else:
        op.execute("DROP TRIGGER IF EXISTS media_items_known_seq_insert")
        op.execute("DROP TRIGGER IF EXISTS media_items_known_seq_update")
    op.drop_index("ix_media_items_known_seq", "media_items")
    with op.batch_alter_table("media_items") as batch:
        batch.drop_column("inherited_category")
        batch.drop_column("inherited_entry")
        batch.drop_column("inherited_list_source")
        batch.drop_column("inherited_list")
        batch.drop_column("known_seq")

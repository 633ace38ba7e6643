"""List releases: entry history by version (added in, withdrawn in, why), shared grade
fields, URL and keyword lists beside hash lists, signed releases and the Ed25519 keys that
signed them; when a reported URL's removal was recorded.

Revision ID: 0007_list_releases
Revises: 0006_host_traces
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db.base import UTCDateTime

revision: str = "0007_list_releases"
down_revision: str | None = "0006_host_traces"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hash_lists") as batch:
        batch.add_column(sa.Column("config", sa.Text, nullable=False, server_default="{}"))
        batch.add_column(sa.Column("source", sa.Text, nullable=True))
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="hash"))
    with op.batch_alter_table("reported_urls") as batch:
        batch.add_column(sa.Column("removed_at", UTCDateTime, nullable=True))
    with op.batch_alter_table("hash_list_entries") as batch:
        batch.add_column(sa.Column("added_in", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("withdrawn_in", sa.Integer, nullable=True))
        batch.add_column(sa.Column("withdrawn_reason", sa.Text, nullable=True))
        batch.add_column(sa.Column("shared", sa.Text, nullable=True))
        batch.add_column(sa.Column("media_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("source", sa.Text, nullable=True))
        batch.add_column(sa.Column("value", sa.Text, nullable=True))
        batch.add_column(sa.Column("note", sa.Text, nullable=True))
        batch.add_column(sa.Column("url_id", sa.Integer, nullable=True))
    # Entries from before this revision: a live entry was added in its changed_in; a withdrawn
    # one was withdrawn in it (when it was added is unknown: say version 0).
    op.execute("UPDATE hash_list_entries SET added_in = changed_in WHERE withdrawn_at IS NULL")
    op.execute(
        "UPDATE hash_list_entries SET withdrawn_in = changed_in WHERE withdrawn_at IS NOT NULL"
    )
    op.create_index(
        "ix_hash_list_entries_list_id_media_id", "hash_list_entries", ["list_id", "media_id"]
    )
    op.create_index(
        "ix_hash_list_entries_list_id_url_id", "hash_list_entries", ["list_id", "url_id"]
    )

    op.create_table(
        "list_signing_keys",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("private_sealed", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("retired_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_list_signing_keys"),
        sa.UniqueConstraint("key_id", name="uq_list_signing_keys_key_id"),
    )
    op.create_table(
        "list_releases",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("list_id", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("previous_version", sa.Integer, nullable=True),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_list_releases"),
        sa.ForeignKeyConstraint(
            ["list_id"], ["hash_lists.id"], name="fk_list_releases_list_id_hash_lists"
        ),
        sa.UniqueConstraint("list_id", "version", name="uq_list_releases_list_id_version"),
    )


def downgrade() -> None:
    op.drop_table("list_releases")
    op.drop_table("list_signing_keys")
    op.drop_index("ix_hash_list_entries_list_id_url_id", table_name="hash_list_entries")
    op.drop_index("ix_hash_list_entries_list_id_media_id", table_name="hash_list_entries")
    with op.batch_alter_table("hash_list_entries") as batch:
        for column in (
            "url_id",
            "note",
            "value",
            "source",
            "media_id",
            "shared",
            "withdrawn_reason",
            "withdrawn_in",
            "added_in",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("reported_urls") as batch:
        batch.drop_column("removed_at")
    with op.batch_alter_table("hash_lists") as batch:
        batch.drop_column("kind")
        batch.drop_column("source")
        batch.drop_column("config")

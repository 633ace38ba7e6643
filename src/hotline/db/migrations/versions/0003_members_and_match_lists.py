"""Members, their API keys, and hash lists with entries (the member match API).

Revision ID: 0003_members_and_match_lists
Revises: 0002_advice_hub
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db.base import UTCDateTime

revision: str = "0003_members_and_match_lists"
down_revision: str | None = "0002_advice_hub"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_members"),
        sa.UniqueConstraint("name", name="uq_members_name"),
    )
    op.create_table(
        "member_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("member_id", sa.Integer, nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_sha256", sa.String(64), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.Column("last_used_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_member_keys"),
        sa.UniqueConstraint("prefix", name="uq_member_keys_prefix"),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name="fk_member_keys_member_id_members"
        ),
    )
    op.create_index("ix_member_keys_member_id", "member_keys", ["member_id"])
    op.create_table(
        "hash_lists",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("pdq_max_distance", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hash_lists"),
        sa.UniqueConstraint("name", name="uq_hash_lists_name"),
    )
    op.create_table(
        "hash_list_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("list_id", sa.Integer, nullable=False),
        sa.Column("md5", sa.String(32), nullable=True),
        sa.Column("sha1", sa.String(40), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("pdq", sa.String(64), nullable=True),
        sa.Column("pdq_quality", sa.Integer, nullable=True),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("added_at", UTCDateTime, nullable=False),
        sa.Column("withdrawn_at", UTCDateTime, nullable=True),
        sa.Column("changed_in", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hash_list_entries"),
        sa.ForeignKeyConstraint(
            ["list_id"], ["hash_lists.id"], name="fk_hash_list_entries_list_id_hash_lists"
        ),
    )
    op.create_index(
        "ix_hash_list_entries_list_id_changed_in", "hash_list_entries", ["list_id", "changed_in"]
    )


def downgrade() -> None:
    op.drop_index("ix_hash_list_entries_list_id_changed_in", table_name="hash_list_entries")
    op.drop_table("hash_list_entries")
    op.drop_table("hash_lists")
    op.drop_index("ix_member_keys_member_id", table_name="member_keys")
    op.drop_table("member_keys")
    op.drop_table("members")

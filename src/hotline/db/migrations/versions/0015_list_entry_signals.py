"""Hashes of plug-in signal types on hash list entries, one row per entry and signal type.

The built-in hashes (md5, sha1, sha256, pdq, vpdq) stay in hash_list_entries' columns; a
signal type added through the `hotline.signal_types` entry point is stored here by name,
and looked up by (signal_type, value), as media_signals holds them for media items.

Revision ID: 0015_list_entry_signals
Revises: 0014_media_signals
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_list_entry_signals"
down_revision: str | None = "0014_media_signals"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hash_list_entry_signals",
        sa.Column("entry_id", sa.Integer, nullable=False),
        sa.Column("signal_type", sa.String(32), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("entry_id", "signal_type", name="pk_hash_list_entry_signals"),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["hash_list_entries.id"],
            name="fk_hash_list_entry_signals_entry_id_hash_list_entries",
        ),
    )
    op.create_index(
        "ix_hash_list_entry_signals_signal_type_value",
        "hash_list_entry_signals",
        ["signal_type", "value"],
    )


def downgrade() -> None:
    op.drop_index("ix_hash_list_entry_signals_signal_type_value", "hash_list_entry_signals")
    op.drop_table("hash_list_entry_signals")

"""Calls per member API key per UTC day: a count and nothing else, written by the match API's
audit writer with the batch it already commits (no row per call).

Additive: one new table.

Revision ID: 0028_member_key_calls
Revises: 0027_advice_campaigns
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_member_key_calls"
down_revision: str | None = "0027_advice_campaigns"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_key_calls",
        sa.Column("key_id", sa.Integer, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("calls", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("key_id", "day", name="pk_member_key_calls"),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["member_keys.id"],
            name="fk_member_key_calls_key_id_member_keys",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("member_key_calls")

"""Rate-limit counters shared across processes (PostgreSQL).

One row per client key and fixed window; an atomic upsert counts a hit, and windows past
their end are pruned through the index on `expires_at`.

Revision ID: 0013_shared_rate_limits
Revises: 0012_second_factor_guard
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_shared_rate_limits"
down_revision: str | None = "0012_second_factor_guard"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_counters",
        sa.Column("key", sa.String(96), nullable=False),
        sa.Column("window_start", sa.BigInteger, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name="pk_rate_limit_counters"),
    )
    op.create_index("ix_rate_limit_counters_expires_at", "rate_limit_counters", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_rate_limit_counters_expires_at", "rate_limit_counters")
    op.drop_table("rate_limit_counters")

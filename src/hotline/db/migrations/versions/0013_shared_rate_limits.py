"""Rate-limit counters shared across processes (PostgreSQL).

Revision ID: 0013_shared_rate_limits
Revises: 0012_second_factor_guard
Create Date: 2026-12-04
"""

from collections.abc import Sequence

revision: str = "0013_shared_rate_limits"
down_revision: str | None = "0012_second_factor_guard"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass  # filled in by the change that owns this revision


def downgrade() -> None:
    pass

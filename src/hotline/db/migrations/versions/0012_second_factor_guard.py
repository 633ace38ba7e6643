"""Second-factor guessing limits and lockout state per account.

Revision ID: 0012_second_factor_guard
Revises: 0011_audit_keyed_chain
Create Date: 2026-12-04
"""

from collections.abc import Sequence

revision: str = "0012_second_factor_guard"
down_revision: str | None = "0011_audit_keyed_chain"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass  # filled in by the change that owns this revision


def downgrade() -> None:
    pass

"""Reserved for a piece of work in progress (filled in by that work; a no-op until then).

Revision ID: 0021_member_feedback
Revises: 0020_exchange_feeds
Create Date: 2026-12-05
"""

from collections.abc import Sequence

revision: str = "0021_member_feedback"
down_revision: str | None = "0020_exchange_feeds"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

"""Reserved for a piece of work in progress (filled in by that work; a no-op until then).

Revision ID: 0020_exchange_feeds
Revises: 0019_list_signal_distances
Create Date: 2026-12-05
"""

from collections.abc import Sequence

revision: str = "0020_exchange_feeds"
down_revision: str | None = "0019_list_signal_distances"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

"""Reserved for a piece of work in progress (filled in by that work; a no-op until then).

Revision ID: 0023_proactive_crawl
Revises: 0022_stats_verdicts
Create Date: 2026-12-05
"""

from collections.abc import Sequence

revision: str = "0023_proactive_crawl"
down_revision: str | None = "0022_stats_verdicts"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

"""Reserved for a piece of work in progress (filled in by that work; a no-op until then).

Revision ID: 0024_taskforce_qa
Revises: 0023_proactive_crawl
Create Date: 2026-12-05
"""

from collections.abc import Sequence

revision: str = "0024_taskforce_qa"
down_revision: str | None = "0023_proactive_crawl"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

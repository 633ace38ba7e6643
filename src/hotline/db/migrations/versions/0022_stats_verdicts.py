"""What the published statistics count by (hotline.stats, docs/statistics.md).

`reports.origin`: who found the URL (public, proactive, partner_hotline, member,
child_self_report), beside `reports.source`, the channel it came through (web, api, partner).
Existing reports were all public, except partner hotlines' forwards (source "partner"), which
become partner_hotline.

Revision ID: 0022_stats_verdicts
Revises: 0021_member_feedback
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_stats_verdicts"
down_revision: str | None = "0021_member_feedback"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(
            sa.Column("origin", sa.String(24), nullable=False, server_default="public")
        )
    op.execute("UPDATE reports SET origin = 'partner_hotline' WHERE source = 'partner'")


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("origin")

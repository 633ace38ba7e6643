"""Queue: a partial index of open reported URLs by priority level, then first report, then id,
so that the queue pages by key (each page a range of the index) and counts cheaply at any
size. It replaces ix_reported_urls_queue, whose `status IN (...)` prefix made databases sort,
and ix_reported_urls_status, whose only use was the queue: SQLite, which keeps no statistics,
took that index for "open items" and then sorted the whole queue.

Revision ID: 0009_queue_waiting_index
Revises: 0008_takedown_jobs_exchange
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_queue_waiting_index"
down_revision: str | None = "0008_takedown_jobs_exchange"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

WAITING = "status IN ('received', 'in_assessment')"


def upgrade() -> None:
    op.drop_index("ix_reported_urls_queue", table_name="reported_urls")
    op.drop_index("ix_reported_urls_status", table_name="reported_urls")
    op.create_index(
        "ix_reported_urls_waiting",
        "reported_urls",
        ["priority", "first_reported_at", "id"],
        sqlite_where=sa.text(WAITING),
        postgresql_where=sa.text(WAITING),
    )


def downgrade() -> None:
    op.drop_index("ix_reported_urls_waiting", table_name="reported_urls")
    op.create_index("ix_reported_urls_status", "reported_urls", ["status"])
    op.create_index(
        "ix_reported_urls_queue", "reported_urls", ["status", "priority", "first_reported_at"]
    )

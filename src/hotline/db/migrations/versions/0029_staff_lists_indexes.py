"""Staff lists: indexes for the queue's "all states" list, the media items list and their
filters and sorts (hotline.assess.queue_list, hotline.grading.media_list), so that each first,
filtered or later page at 1,000,000 reports reads an index range rather than sorting.

reported_urls: a closed-status filter and a raised-priority filter, each in first-report order
(status, first_reported_at, id) WHERE closed, (priority, first_reported_at, id) WHERE
priority <> 0 (partial, so the waiting queue keeps its own index); the
sorts by priority and by number of reports (priority, id), (report_count, id); the filter by
who holds a claim (claimed_by, partial: claimed addresses only). media_items: the list in
found order (created_at, id), a state filter in found order (status, created_at, id), and a
PDQ prefix search (pdq; the SHA-256 and MD5 prefixes read their existing indexes). Each was
checked with EXPLAIN (PostgreSQL) and EXPLAIN QUERY PLAN (SQLite) against
bench/bench_staff_lists.py's data; tests/queue/test_list_plans.py holds the plans.

Additive: indexes only.

Revision ID: 0029_staff_lists_indexes
Revises: 0028_member_key_calls
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_staff_lists_indexes"
down_revision: str | None = "0028_member_key_calls"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

INDEXES: tuple[tuple[str, str, list[str]], ...] = (
    ("ix_reported_urls_priority_id", "reported_urls", ["priority", "id"]),
    ("ix_reported_urls_report_count_id", "reported_urls", ["report_count", "id"]),
    ("ix_media_items_created", "media_items", ["created_at", "id"]),
    ("ix_media_items_status_created", "media_items", ["status", "created_at", "id"]),
    ("ix_media_items_pdq", "media_items", ["pdq"]),
)


# Claims only: nearly every address has none, and SQLite, which keeps no histogram, would take
# an index full of NULLs for a poor one and scan in first-report order instead.
CLAIMED = "claimed_by IS NOT NULL"
# Raised priorities only (most addresses keep the default, 0), so that the waiting queue's
# pages keep reading ix_reported_urls_waiting: a full (priority, first_reported_at, id) index
# drew SQLite's planner away from it. The list adds `priority <> 0` to a raised-priority
# filter, since SQLite uses a partial index only when the query states its condition.
RAISED = "priority <> 0"
# Closed addresses only, likewise: a full (status, ...) index drew SQLite's planner away from
# ix_reported_urls_waiting for the queue's open items (as migration 0009 found). The list
# states this condition with a filter on a closed status.
CLOSED = "status NOT IN ('received', 'in_assessment')"


# Partial indexes on reported_urls: (name, columns, the condition rows must meet).
PARTIAL: tuple[tuple[str, list[str], str], ...] = (
    ("ix_reported_urls_status_first", ["status", "first_reported_at", "id"], CLOSED),
    ("ix_reported_urls_priority_first", ["priority", "first_reported_at", "id"], RAISED),
    ("ix_reported_urls_claimed_by", ["claimed_by"], CLAIMED),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    for name, columns, where in PARTIAL:
        op.create_index(
            name,
            "reported_urls",
            columns,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for name, _, _ in reversed(PARTIAL):
        op.drop_index(name, table_name="reported_urls")
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)

"""Staff search: indexes for the staff lists' searches, filters and sorts (hotline.web.listing).

A domain search reads the stored `reported_urls.domain` column by index (a host search uses
the existing host index), never `LIKE` over URLs; the reports list's filters by source,
origin and country each read an index in received order, so a filtered page is a range;
the audit log's search by who, which object or which action reads an index in sequence
order.

Additive: indexes only.

Revision ID: 0025_staff_search
Revises: 0024_taskforce_qa
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025_staff_search"
down_revision: str | None = "0024_taskforce_qa"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_reported_urls_domain", "reported_urls", ["domain"])
    op.create_index("ix_reports_source_created", "reports", ["source", "created_at", "id"])
    op.create_index("ix_reports_origin_created", "reports", ["origin", "created_at", "id"])
    op.create_index("ix_reports_country_created", "reports", ["country", "created_at", "id"])
    op.create_index("ix_audit_log_actor_seq", "audit_log", ["actor", "seq"])
    op.create_index("ix_audit_log_object_seq", "audit_log", ["object_id", "seq"])
    op.create_index("ix_audit_log_action_seq", "audit_log", ["action", "seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_action_seq", "audit_log")
    op.drop_index("ix_audit_log_object_seq", "audit_log")
    op.drop_index("ix_audit_log_actor_seq", "audit_log")
    op.drop_index("ix_reports_country_created", "reports")
    op.drop_index("ix_reports_origin_created", "reports")
    op.drop_index("ix_reports_source_created", "reports")
    op.drop_index("ix_reported_urls_domain", "reported_urls")

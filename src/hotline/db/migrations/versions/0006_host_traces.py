"""Host traces: network owner, ASN, country and abuse contacts of a reported URL's host.

Revision ID: 0006_host_traces
Revises: 0005_media_grading_wellbeing
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db.base import UTCDateTime

revision: str = "0006_host_traces"
down_revision: str | None = "0005_media_grading_wellbeing"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "host_traces",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("url_id", sa.Integer, nullable=False),
        sa.Column("capture_id", sa.Integer, nullable=True),
        sa.Column("ip", sa.String(45), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("asn", sa.BigInteger, nullable=True),
        sa.Column("organisation", sa.Text, nullable=True),
        sa.Column("network", sa.String(64), nullable=True),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("abuse_emails", sa.Text, nullable=True),
        sa.Column("sources", sa.Text, nullable=False),
        sa.Column("traced_at", UTCDateTime, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_host_traces"),
        sa.ForeignKeyConstraint(
            ["url_id"], ["reported_urls.id"], name="fk_host_traces_url_id_reported_urls"
        ),
        sa.ForeignKeyConstraint(
            ["capture_id"], ["page_captures.id"], name="fk_host_traces_capture_id_page_captures"
        ),
    )
    op.create_index("ix_host_traces_url_id", "host_traces", ["url_id"])
    op.create_index("ix_host_traces_capture_id", "host_traces", ["capture_id"])
    op.create_index("ix_host_traces_country", "host_traces", ["country"])


def downgrade() -> None:
    op.drop_index("ix_host_traces_country", table_name="host_traces")
    op.drop_index("ix_host_traces_capture_id", table_name="host_traces")
    op.drop_index("ix_host_traces_url_id", table_name="host_traces")
    op.drop_table("host_traces")

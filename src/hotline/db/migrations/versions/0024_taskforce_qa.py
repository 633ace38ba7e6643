"""Taskforce QA: a senior's recorded review of a propagated member drawn for QA (agree, or
disagree with the corrected grade), from which each grader's QA error rate is computed.

Additive: one new table.

Revision ID: 0024_taskforce_qa
Revises: 0023_proactive_crawl
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db.base import UTCDateTime

revision: str = "0024_taskforce_qa"
down_revision: str | None = "0023_proactive_crawl"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "taskforce_qa_reviews",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("case_set_id", sa.Integer, nullable=False),
        sa.Column("cluster_id", sa.Integer, nullable=False),
        sa.Column("item_id", sa.Integer, nullable=False),
        sa.Column("media_id", sa.Integer, nullable=False),
        sa.Column("grader_id", sa.Integer, nullable=True),
        sa.Column("reviewer_id", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("given_category", sa.String(16), nullable=False),
        sa.Column("corrected_grade", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_taskforce_qa_reviews"),
        sa.UniqueConstraint("item_id", name="uq_taskforce_qa_reviews_item_id"),
        sa.ForeignKeyConstraint(
            ["media_id"], ["media_items.id"], name="fk_taskforce_qa_reviews_media_id_media_items"
        ),
        sa.ForeignKeyConstraint(
            ["grader_id"], ["users.id"], name="fk_taskforce_qa_reviews_grader_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name="fk_taskforce_qa_reviews_reviewer_id_users"
        ),
    )
    op.create_index("ix_taskforce_qa_reviews_case_set_id", "taskforce_qa_reviews", ["case_set_id"])
    op.create_index("ix_taskforce_qa_reviews_grader_id", "taskforce_qa_reviews", ["grader_id"])


def downgrade() -> None:
    op.drop_index("ix_taskforce_qa_reviews_grader_id", "taskforce_qa_reviews")
    op.drop_index("ix_taskforce_qa_reviews_case_set_id", "taskforce_qa_reviews")
    op.drop_table("taskforce_qa_reviews")

"""Media items found on reported pages, independent grades, viewing exposure, preferences.

Revision ID: 0005_media_grading_wellbeing
Revises: 0004_assessment_queue
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db.base import UTCDateTime

revision: str = "0005_media_grading_wellbeing"
down_revision: str | None = "0004_assessment_queue"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_items",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("url_id", sa.Integer, nullable=True),
        sa.Column("source_url", sa.Text, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("md5", sa.String(32), nullable=False),
        sa.Column("sha1", sa.String(40), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("pdq", sa.String(64), nullable=True),
        sa.Column("pdq_quality", sa.Integer, nullable=True),
        sa.Column("byte_count", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stored", sa.Boolean, nullable=False),
        sa.Column("purge_after", UTCDateTime, nullable=True),
        sa.Column("inherited_from", sa.Integer, nullable=True),
        sa.Column("final_grade", sa.Text, nullable=True),
        sa.Column("qa_sampled", sa.Boolean, nullable=False),
        sa.Column("decided_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_media_items"),
        sa.ForeignKeyConstraint(
            ["url_id"], ["reported_urls.id"], name="fk_media_items_url_id_reported_urls"
        ),
        sa.ForeignKeyConstraint(
            ["inherited_from"], ["media_items.id"], name="fk_media_items_inherited_from_media_items"
        ),
    )
    op.create_index("ix_media_items_url_id", "media_items", ["url_id"])
    op.create_index("ix_media_items_md5", "media_items", ["md5"])
    op.create_index("ix_media_items_sha256", "media_items", ["sha256"])
    op.create_index("ix_media_items_status", "media_items", ["status"])

    op.create_table(
        "page_captures",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("url_id", sa.Integer, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("new_items", sa.Integer, nullable=False),
        sa.Column("known_items", sa.Integer, nullable=False),
        sa.Column("failed_items", sa.Integer, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_page_captures"),
        sa.ForeignKeyConstraint(
            ["url_id"], ["reported_urls.id"], name="fk_page_captures_url_id_reported_urls"
        ),
    )
    op.create_index("ix_page_captures_url_id", "page_captures", ["url_id"])

    op.create_table(
        "grades",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("media_id", sa.Integer, nullable=False),
        sa.Column("grader_id", sa.Integer, nullable=False),
        sa.Column("is_resolution", sa.Boolean, nullable=False),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_grades"),
        sa.UniqueConstraint("media_id", "grader_id", name="uq_grades_media_id_grader_id"),
        sa.ForeignKeyConstraint(
            ["media_id"], ["media_items.id"], name="fk_grades_media_id_media_items"
        ),
        sa.ForeignKeyConstraint(["grader_id"], ["users.id"], name="fk_grades_grader_id_users"),
    )
    op.create_index("ix_grades_media_id", "grades", ["media_id"])
    op.create_index("ix_grades_grader_id", "grades", ["grader_id"])

    op.create_table(
        "media_views",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("media_id", sa.Integer, nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("seconds", sa.Integer, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_media_views"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_media_views_user_id_users"),
        sa.ForeignKeyConstraint(
            ["media_id"], ["media_items.id"], name="fk_media_views_media_id_media_items"
        ),
    )
    op.create_index("ix_media_views_user_id", "media_views", ["user_id"])
    op.create_index("ix_media_views_at", "media_views", ["at"])

    op.create_table(
        "staff_preferences",
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("blur_strength", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_staff_preferences"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_staff_preferences_user_id_users"
        ),
    )


def downgrade() -> None:
    op.drop_table("staff_preferences")
    op.drop_table("media_views")
    op.drop_table("grades")
    op.drop_table("page_captures")
    op.drop_table("media_items")

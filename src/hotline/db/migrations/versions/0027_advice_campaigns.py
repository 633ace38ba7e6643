"""Advice campaigns: a page per awareness campaign (dates, partners, titles and summaries per
language, its videos as ordinary video resources) and its page views per UTC day, counted
without cookies or anything about the visitor.

Additive: four new tables.

Revision ID: 0027_advice_campaigns
Revises: 0025_staff_search
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db.base import UTCDateTime

revision: str = "0027_advice_campaigns"
down_revision: str | None = "0025_staff_search"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "advice_campaigns",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("partners", sa.Text, nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=True),
        sa.Column("is_example", sa.Boolean, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_advice_campaigns"),
        sa.UniqueConstraint("slug", name="uq_advice_campaigns_slug"),
    )
    op.create_table(
        "advice_campaign_texts",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("campaign_id", sa.Integer, nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("summary", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_advice_campaign_texts"),
        sa.UniqueConstraint(
            "campaign_id", "language", name="uq_advice_campaign_texts_campaign_id_language"
        ),
        _fk("advice_campaign_texts", "campaign_id", "advice_campaigns"),
    )
    op.create_index(
        "ix_advice_campaign_texts_campaign_id", "advice_campaign_texts", ["campaign_id"]
    )
    op.create_table(
        "advice_campaign_videos",
        sa.Column("campaign_id", sa.Integer, nullable=False),
        sa.Column("resource_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "resource_id", name="pk_advice_campaign_videos"),
        _fk("advice_campaign_videos", "campaign_id", "advice_campaigns"),
        _fk("advice_campaign_videos", "resource_id", "advice_resources"),
    )
    op.create_index(
        "ix_advice_campaign_videos_resource_id", "advice_campaign_videos", ["resource_id"]
    )
    op.create_table(
        "advice_campaign_visits",
        sa.Column("campaign_id", sa.Integer, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("views", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "day", name="pk_advice_campaign_visits"),
        _fk("advice_campaign_visits", "campaign_id", "advice_campaigns"),
    )


def downgrade() -> None:
    op.drop_table("advice_campaign_visits")
    op.drop_index("ix_advice_campaign_videos_resource_id", "advice_campaign_videos")
    op.drop_table("advice_campaign_videos")
    op.drop_index("ix_advice_campaign_texts_campaign_id", "advice_campaign_texts")
    op.drop_table("advice_campaign_texts")
    op.drop_table("advice_campaigns")

"""Advice hub: age-band guides, and videos, links and helplines with per-language texts.

Revision ID: 0002_advice_hub
Revises: 0001_foundation
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db.base import UTCDateTime

revision: str = "0002_advice_hub"
down_revision: str | None = "0001_foundation"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "advice_age_guides",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("age_band", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("summary", sa.String(300), nullable=False),
        sa.Column("body_md", sa.Text, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_advice_age_guides"),
        sa.UniqueConstraint("age_band", "language", name="uq_advice_age_guides_age_band_language"),
    )
    op.create_table(
        "advice_resources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("category", sa.String(16), nullable=True),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("media_language", sa.String(8), nullable=True),
        sa.Column("is_example", sa.Boolean, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_advice_resources"),
        sa.UniqueConstraint("slug", name="uq_advice_resources_slug"),
    )
    op.create_index("ix_advice_resources_kind", "advice_resources", ["kind"])
    op.create_table(
        "advice_resource_texts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("resource_id", sa.Integer, nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("summary", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_advice_resource_texts"),
        sa.UniqueConstraint(
            "resource_id", "language", name="uq_advice_resource_texts_resource_id_language"
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["advice_resources.id"],
            name="fk_advice_resource_texts_resource_id_advice_resources",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_advice_resource_texts_resource_id", "advice_resource_texts", ["resource_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_advice_resource_texts_resource_id", table_name="advice_resource_texts")
    op.drop_table("advice_resource_texts")
    op.drop_index("ix_advice_resources_kind", table_name="advice_resources")
    op.drop_table("advice_resources")
    op.drop_table("advice_age_guides")

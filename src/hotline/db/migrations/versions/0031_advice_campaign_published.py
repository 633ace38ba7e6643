"""Advice campaigns: `published`, so that an editor can take a campaign's page down without
deleting it (its texts, videos and page views kept). Unpublished, its public page answers 404
and it leaves the public list; publishing it again brings both back.

Additive: one column with a server default, so existing campaigns stay published.

Revision ID: 0031_advice_campaign_published
Revises: 0030_media_source_domain
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031_advice_campaign_published"
down_revision: str | None = "0030_media_source_domain"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("advice_campaigns") as batch:
        batch.add_column(
            sa.Column("published", sa.Boolean, nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("advice_campaigns") as batch:
        batch.drop_column("published")

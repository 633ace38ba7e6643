"""Media items keep a video's vPDQ (Meta's text format), so verified videos join hash lists
with it and re-encoded copies match.

Revision ID: 0010_media_vpdq
Revises: 0009_queue_waiting_index
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_media_vpdq"
down_revision: str | None = "0009_queue_waiting_index"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("media_items") as batch:
        batch.add_column(sa.Column("vpdq", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("media_items") as batch:
        batch.drop_column("vpdq")

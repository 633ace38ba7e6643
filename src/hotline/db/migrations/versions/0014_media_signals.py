"""Hashes of plug-in signal types, one row per media item and signal type.

The built-in hashes (md5, sha1, sha256, pdq, vpdq) stay in media_items' columns; a signal
type added through the `hotline.signal_types` entry point is stored here, keyed by its name,
and looked up by (signal_type, value). `hotline media rehash --signal NAME` fills it for
media stored before the type was adopted.

Revision ID: 0014_media_signals
Revises: 0013_shared_rate_limits
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db.base import UTCDateTime

revision: str = "0014_media_signals"
down_revision: str | None = "0013_shared_rate_limits"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_signals",
        sa.Column("media_id", sa.Integer, nullable=False),
        sa.Column("signal_type", sa.String(32), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("computed_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("media_id", "signal_type", name="pk_media_signals"),
        sa.ForeignKeyConstraint(
            ["media_id"], ["media_items.id"], name="fk_media_signals_media_id_media_items"
        ),
    )
    op.create_index("ix_media_signals_signal_type_value", "media_signals", ["signal_type", "value"])


def downgrade() -> None:
    op.drop_index("ix_media_signals_signal_type_value", "media_signals")
    op.drop_table("media_signals")

"""Exchange feeds (issue 13, item 4): `exchange_feeds` (one configured pull from NCMEC,
StopNCII, ThreatExchange or a local file into a hash list: its settings, schedule, the
exchange client's checkpoint and what its fetches did) and `exchange_feed_records` (per
entry, the exchange record it came from; tombstones find their entry through it).

Additive: two new tables, nothing existing changes.

Revision ID: 0020_exchange_feeds
Revises: 0019_list_signal_distances
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db.base import UTCDateTime

revision: str = "0020_exchange_feeds"
down_revision: str | None = "0019_list_signal_distances"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exchange_feeds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("api", sa.String(32), nullable=False),
        sa.Column("list_id", sa.Integer, sa.ForeignKey("hash_lists.id"), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("interval_s", sa.Integer, nullable=False),
        sa.Column("next_fetch_at", UTCDateTime, nullable=True),
        sa.Column("checkpoint", sa.Text, nullable=True),
        sa.Column("checkpoint_seq", sa.Integer, nullable=False),
        sa.Column("checkpoint_at", UTCDateTime, nullable=True),
        sa.Column("last_started_at", UTCDateTime, nullable=True),
        sa.Column("last_finished_at", UTCDateTime, nullable=True),
        sa.Column("last_status", sa.String(16), nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("records_total", sa.Integer, nullable=False),
        sa.Column("added_total", sa.Integer, nullable=False),
        sa.Column("withdrawn_total", sa.Integer, nullable=False),
        sa.Column("skipped_total", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "exchange_feed_records",
        sa.Column(
            "feed_id", sa.Integer, sa.ForeignKey("exchange_feeds.id"), primary_key=True
        ),
        sa.Column("record_key", sa.String(200), primary_key=True),
        sa.Column(
            "entry_id", sa.Integer, sa.ForeignKey("hash_list_entries.id"), nullable=False
        ),
    )
    op.create_index(
        "ix_exchange_feed_records_entry_id", "exchange_feed_records", ["entry_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_exchange_feed_records_entry_id", table_name="exchange_feed_records")
    op.drop_table("exchange_feed_records")
    op.drop_table("exchange_feeds")

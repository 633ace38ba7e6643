"""Members' feedback and release webhooks: `member_feedback` (a false positive or a
confirmation per member and list entry, and the staff decision on it), `member_webhooks` (where
a member hears of new releases, its signing secret sealed) and `webhook_deliveries` (each
release told to each webhook: pending, delivered, failed or refused).

Additive: three new tables.

Revision ID: 0021_member_feedback
Revises: 0020_exchange_feeds
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db.base import UTCDateTime

revision: str = "0021_member_feedback"
down_revision: str | None = "0020_exchange_feeds"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "member_feedback",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("list_id", sa.Integer, nullable=False),
        sa.Column("entry_id", sa.Integer, nullable=False),
        sa.Column("member_id", sa.Integer, nullable=False),
        sa.Column("key_prefix", sa.String(16), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("decided_at", UTCDateTime, nullable=True),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_member_feedback"),
        _fk("member_feedback", "list_id", "hash_lists"),
        _fk("member_feedback", "entry_id", "hash_list_entries"),
        _fk("member_feedback", "member_id", "members"),
        sa.UniqueConstraint(
            "member_id", "entry_id", name="uq_member_feedback_member_id_entry_id"
        ),
    )
    op.create_index(
        "ix_member_feedback_state_created_at", "member_feedback", ["state", "created_at"]
    )
    op.create_table(
        "member_webhooks",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("member_id", sa.Integer, nullable=False),
        sa.Column("key_id", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("removed_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_member_webhooks"),
        _fk("member_webhooks", "member_id", "members"),
        _fk("member_webhooks", "key_id", "member_keys"),
    )
    op.create_index("ix_member_webhooks_member_id", "member_webhooks", ["member_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("webhook_id", sa.Integer, nullable=False),
        sa.Column("list_name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        _fk("webhook_deliveries", "webhook_id", "member_webhooks"),
        sa.UniqueConstraint(
            "webhook_id",
            "list_name",
            "version",
            name="uq_webhook_deliveries_webhook_id_list_name_version",
        ),
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_member_webhooks_member_id", "member_webhooks")
    op.drop_table("member_webhooks")
    op.drop_index("ix_member_feedback_state_created_at", "member_feedback")
    op.drop_table("member_feedback")

"""Assessment queue: priority, claims with a lease, and URL verdicts on reported URLs.

Revision ID: 0004_assessment_queue
Revises: 0003_members_and_match_lists
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db.base import UTCDateTime

revision: str = "0004_assessment_queue"
down_revision: str | None = "0003_members_and_match_lists"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reported_urls") as batch:
        batch.add_column(sa.Column("priority", sa.Integer, server_default="0", nullable=False))
        batch.add_column(sa.Column("claimed_by", sa.Integer, nullable=True))
        batch.add_column(sa.Column("claim_expires_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("verdict", sa.String(32), nullable=True))
        batch.add_column(sa.Column("verdict_reason", sa.String(64), nullable=True))
        batch.add_column(sa.Column("verdict_note", sa.Text, nullable=True))
        batch.add_column(sa.Column("verdict_by", sa.Integer, nullable=True))
        batch.add_column(sa.Column("verdict_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("duplicate_of_id", sa.Integer, nullable=True))
        batch.create_foreign_key(
            "fk_reported_urls_claimed_by_users", "users", ["claimed_by"], ["id"]
        )
        batch.create_foreign_key(
            "fk_reported_urls_verdict_by_users", "users", ["verdict_by"], ["id"]
        )
        batch.create_foreign_key(
            "fk_reported_urls_duplicate_of_id_reported_urls",
            "reported_urls",
            ["duplicate_of_id"],
            ["id"],
        )
    op.create_index(
        "ix_reported_urls_queue", "reported_urls", ["status", "priority", "first_reported_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_reported_urls_queue", table_name="reported_urls")
    with op.batch_alter_table("reported_urls") as batch:
        batch.drop_constraint("fk_reported_urls_duplicate_of_id_reported_urls", type_="foreignkey")
        batch.drop_constraint("fk_reported_urls_verdict_by_users", type_="foreignkey")
        batch.drop_constraint("fk_reported_urls_claimed_by_users", type_="foreignkey")
        for column in (
            "duplicate_of_id",
            "verdict_at",
            "verdict_by",
            "verdict_note",
            "verdict_reason",
            "verdict",
            "claim_expires_at",
            "claimed_by",
            "priority",
        ):
            batch.drop_column(column)

"""Taskforce case sets: the set, its sources (the resume cursor and provenance), its items.

Items are one row per distinct file of a set (exact SHA-256 duplicates counted in `copies`)
or per file that failed, with its reason. A source's SHA-256 is unique within its set, so the
same archive imported twice is a no-op.

Revision ID: 0017_taskforce_case_sets
Revises: 0016_known_material
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db.base import UTCDateTime

revision: str = "0017_taskforce_case_sets"
down_revision: str | None = "0016_known_material"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "taskforce_case_sets",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("hash_only", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("files", sa.BigInteger, nullable=False),
        sa.Column("items", sa.BigInteger, nullable=False),
        sa.Column("duplicates", sa.BigInteger, nullable=False),
        sa.Column("failed", sa.BigInteger, nullable=False),
        sa.Column("known", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_taskforce_case_sets"),
        sa.UniqueConstraint("name", name="uq_taskforce_case_sets_name"),
    )
    op.create_table(
        "taskforce_sources",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("case_set_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("byte_count", sa.BigInteger, nullable=False),
        sa.Column("members", sa.BigInteger, nullable=False),
        sa.Column("done", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("imported_by", sa.String(128), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_taskforce_sources"),
        sa.ForeignKeyConstraint(
            ["case_set_id"],
            ["taskforce_case_sets.id"],
            name="fk_taskforce_sources_case_set_id_taskforce_case_sets",
        ),
        sa.UniqueConstraint(
            "case_set_id", "sha256", name="uq_taskforce_sources_case_set_id_sha256"
        ),
    )
    op.create_index("ix_taskforce_sources_case_set_id", "taskforce_sources", ["case_set_id"])
    op.create_index("ix_taskforce_sources_state", "taskforce_sources", ["state"])
    op.create_table(
        "taskforce_items",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("case_set_id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("source_id", sa.Integer, nullable=False),
        sa.Column("member", sa.Text, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("md5", sa.String(32), nullable=True),
        sa.Column("sha1", sa.String(40), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("pdq", sa.String(64), nullable=True),
        sa.Column("pdq_quality", sa.Integer, nullable=True),
        sa.Column("byte_count", sa.BigInteger, nullable=True),
        sa.Column("copies", sa.Integer, nullable=False),
        sa.Column("stored", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("known_from", sa.Text, nullable=True),
        sa.Column("known_category", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        # No foreign keys: written in bulk (a million rows), where PostgreSQL's per-row
        # checks cost more than the rows; only the importer writes them (CaseItemRow).
        sa.PrimaryKeyConstraint("id", name="pk_taskforce_items"),
        sa.UniqueConstraint("case_set_id", "key", name="uq_taskforce_items_case_set_id_key"),
    )
    op.create_index("ix_taskforce_items_source_id", "taskforce_items", ["source_id"])
    op.create_index("ix_taskforce_items_status", "taskforce_items", ["status"])


def downgrade() -> None:
    op.drop_index("ix_taskforce_items_status", "taskforce_items")
    op.drop_index("ix_taskforce_items_source_id", "taskforce_items")
    op.drop_table("taskforce_items")
    op.drop_index("ix_taskforce_sources_state", "taskforce_sources")
    op.drop_index("ix_taskforce_sources_case_set_id", "taskforce_sources")
    op.drop_table("taskforce_sources")
    op.drop_table("taskforce_case_sets")

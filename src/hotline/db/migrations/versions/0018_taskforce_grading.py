"""Taskforce grading: near-duplicate clusters of a case set, each item's cluster and grade
state, the graders' decisions (undo, throughput), and the children recorded in a grade.

Additive: new tables, and nullable columns on taskforce_items (a million-row table gains
them without a rewrite).

Revision ID: 0018_taskforce_grading
Revises: 0017_taskforce_case_sets
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db.base import UTCDateTime

revision: str = "0018_taskforce_grading"
down_revision: str | None = "0017_taskforce_case_sets"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

_ITEM_COLUMNS = (
    "cluster_id",
    "cluster_distance",
    "grade_state",
    "media_id",
    "decided_by",
    "decided_at",
)


def upgrade() -> None:
    op.create_table(
        "taskforce_clusters",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("case_set_id", sa.Integer, nullable=False),
        sa.Column("representative_id", sa.Integer, nullable=False),
        sa.Column("pdq", sa.String(64), nullable=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("viewable", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("media_id", sa.Integer, nullable=True),
        sa.Column("graded_by", sa.Integer, nullable=True),
        sa.Column("split_from", sa.Integer, nullable=True),
        sa.Column("claimed_by", sa.Integer, nullable=True),
        sa.Column("claim_expires_at", UTCDateTime, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        # No foreign keys: written in bulk by the import (ClusterRow).
        sa.PrimaryKeyConstraint("id", name="pk_taskforce_clusters"),
    )
    op.create_index(
        "ix_taskforce_clusters_case_set_id_state", "taskforce_clusters", ["case_set_id", "state"]
    )
    op.create_index("ix_taskforce_clusters_media_id", "taskforce_clusters", ["media_id"])
    # The next cluster to grade, in id order, among a million: by state; held by whom.
    op.create_index("ix_taskforce_clusters_state_id", "taskforce_clusters", ["state", "id"])
    op.create_index("ix_taskforce_clusters_claimed_by", "taskforce_clusters", ["claimed_by"])
    op.create_table(
        "taskforce_decisions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("case_set_id", sa.Integer, nullable=False),
        sa.Column("cluster_id", sa.Integer, nullable=False),
        sa.Column("item_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("category", sa.String(16), nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("seconds", sa.Integer, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("undone_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_taskforce_decisions"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_taskforce_decisions_user_id_users"
        ),
    )
    op.create_index("ix_taskforce_decisions_case_set_id", "taskforce_decisions", ["case_set_id"])
    op.create_index("ix_taskforce_decisions_cluster_id", "taskforce_decisions", ["cluster_id"])
    op.create_index("ix_taskforce_decisions_user_id", "taskforce_decisions", ["user_id"])
    op.create_table(
        "grade_children",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("grade_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("age_band", sa.String(8), nullable=False),
        sa.Column("sex", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_grade_children"),
        sa.ForeignKeyConstraint(
            ["grade_id"], ["grades.id"], name="fk_grade_children_grade_id_grades"
        ),
    )
    op.create_index("ix_grade_children_grade_id", "grade_children", ["grade_id"])
    with op.batch_alter_table("taskforce_items") as batch:
        batch.add_column(sa.Column("cluster_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("cluster_distance", sa.Integer, nullable=True))
        batch.add_column(sa.Column("grade_state", sa.String(16), nullable=True))
        batch.add_column(sa.Column("media_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("decided_by", sa.Integer, nullable=True))
        batch.add_column(sa.Column("decided_at", UTCDateTime, nullable=True))
    op.create_index("ix_taskforce_items_cluster_id", "taskforce_items", ["cluster_id"])
    # Members waiting for a confirm or split: few at any time, found without a scan.
    op.create_index("ix_taskforce_items_grade_state", "taskforce_items", ["grade_state"])


def downgrade() -> None:
    op.drop_index("ix_taskforce_items_grade_state", "taskforce_items")
    op.drop_index("ix_taskforce_items_cluster_id", "taskforce_items")
    with op.batch_alter_table("taskforce_items") as batch:
        for column in reversed(_ITEM_COLUMNS):
            batch.drop_column(column)
    op.drop_index("ix_grade_children_grade_id", "grade_children")
    op.drop_table("grade_children")
    op.drop_index("ix_taskforce_decisions_user_id", "taskforce_decisions")
    op.drop_index("ix_taskforce_decisions_cluster_id", "taskforce_decisions")
    op.drop_index("ix_taskforce_decisions_case_set_id", "taskforce_decisions")
    op.drop_table("taskforce_decisions")
    op.drop_index("ix_taskforce_clusters_claimed_by", "taskforce_clusters")
    op.drop_index("ix_taskforce_clusters_state_id", "taskforce_clusters")
    op.drop_index("ix_taskforce_clusters_media_id", "taskforce_clusters")
    op.drop_index("ix_taskforce_clusters_case_set_id_state", "taskforce_clusters")
    op.drop_table("taskforce_clusters")

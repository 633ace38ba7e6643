"""Each hash list's maximum distance per signal type: `hash_lists.max_distances`, a JSON
object from signal type name to a whole number (`{"vpdq": 20, "NAME": 6}` for a plug-in
called NAME), for every distance type but PDQ, whose radius stays in `pdq_max_distance`. A
type the object does not name matches within its default (vPDQ frames: the list's PDQ
distance; a plug-in: its own `max_distance`).

Additive: one column with a server default, so existing rows read `{}` (today's behaviour).

Revision ID: 0019_list_signal_distances
Revises: 0018_taskforce_grading
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_list_signal_distances"
down_revision: str | None = "0018_taskforce_grading"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hash_lists") as batch:
        batch.add_column(sa.Column("max_distances", sa.Text, nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("hash_lists") as batch:
        batch.drop_column("max_distances")

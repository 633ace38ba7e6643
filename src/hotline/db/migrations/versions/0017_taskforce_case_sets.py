"""Taskforce case sets (a reserved slot: filled in by the work that owns it).

Revision ID: 0017_taskforce_case_sets
Revises: 0016_known_material
Create Date: 2026-12-04
"""

from collections.abc import Sequence

revision: str = "0017_taskforce_case_sets"
down_revision: str | None = "0016_known_material"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

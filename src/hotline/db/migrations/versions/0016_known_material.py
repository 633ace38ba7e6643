"""The known-material store (a reserved slot: filled in by the work that owns it).

Revision ID: 0016_known_material
Revises: 0015_list_entry_signals
Create Date: 2026-12-04
"""

from collections.abc import Sequence

revision: str = "0016_known_material"
down_revision: str | None = "0015_list_entry_signals"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

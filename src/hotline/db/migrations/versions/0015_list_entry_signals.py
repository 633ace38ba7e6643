"""Hashes of plug-in signal types on hash list entries (a reserved slot: filled in by the work that owns it).

Revision ID: 0015_list_entry_signals
Revises: 0014_media_signals
Create Date: 2026-12-04
"""

from collections.abc import Sequence

revision: str = "0015_list_entry_signals"
down_revision: str | None = "0014_media_signals"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

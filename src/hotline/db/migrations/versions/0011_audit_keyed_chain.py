"""Audit chain: keyed row hashes, unambiguous encoding, TRUNCATE refused.

Revision ID: 0011_audit_keyed_chain
Revises: 0010_media_vpdq
Create Date: 2026-12-04
"""

from collections.abc import Sequence

revision: str = "0011_audit_keyed_chain"
down_revision: str | None = "0010_media_vpdq"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass  # filled in by the change that owns this revision


def downgrade() -> None:
    pass

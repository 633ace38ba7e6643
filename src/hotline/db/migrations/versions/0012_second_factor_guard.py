"""Second-factor guessing limits and lockout state per account.

Failed two-factor codes are counted per account, apart from failed passwords (a right password
must not wipe the count of wrong codes), with the same progressive waits.

Revision ID: 0012_second_factor_guard
Revises: 0011_audit_keyed_chain
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db.base import UTCDateTime

revision: str = "0012_second_factor_guard"
down_revision: str | None = "0011_audit_keyed_chain"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_failures", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("totp_locked_until", UTCDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_locked_until")
        batch.drop_column("totp_failures")

"""Foundation: staff accounts, sessions, the hash-chained audit log, reported URLs and reports.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db.base import UTCDateTime

revision: str = "0001_foundation"
down_revision: str | None = None
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("roles", sa.String(256), nullable=False),
        sa.Column("totp_secret", sa.LargeBinary, nullable=True),
        sa.Column("totp_enabled", sa.Boolean, nullable=False),
        sa.Column("totp_last_step", sa.Integer, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("is_demo", sa.Boolean, nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("mfa_passed", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_staff_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_staff_sessions_token_hash"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_staff_sessions_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_staff_sessions_user_id", "staff_sessions", ["user_id"])

    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(64), nullable=False),
        sa.Column("object_id", sa.String(128), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("last_seq", sa.Integer, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    op.bulk_insert(
        sa.table(
            "audit_head",
            sa.column("id", sa.Integer),
            sa.column("last_seq", sa.Integer),
            sa.column("last_hash", sa.String),
        ),
        [{"id": 1, "last_seq": 0, "last_hash": GENESIS}],
    )
    _make_audit_append_only()

    op.create_table(
        "reported_urls",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url_hash", sa.String(64), nullable=False),
        sa.Column("normalized_url", sa.Text, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("report_count", sa.Integer, nullable=False),
        sa.Column("first_reported_at", UTCDateTime, nullable=False),
        sa.Column("last_reported_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reported_urls"),
        sa.UniqueConstraint("url_hash", name="uq_reported_urls_url_hash"),
    )
    op.create_index("ix_reported_urls_host", "reported_urls", ["host"])
    op.create_index("ix_reported_urls_status", "reported_urls", ["status"])
    op.create_index("ix_reported_urls_first_reported_at", "reported_urls", ["first_reported_at"])

    op.create_table(
        "reports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("url_id", sa.Integer, nullable=False),
        sa.Column("submitted_url", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("email_encrypted", sa.LargeBinary, nullable=True),
        sa.Column("content_type", sa.String(16), nullable=False),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("is_duplicate", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reports"),
        sa.UniqueConstraint("reference", name="uq_reports_reference"),
        sa.ForeignKeyConstraint(
            ["url_id"], ["reported_urls.id"], name="fk_reports_url_id_reported_urls"
        ),
    )
    op.create_index("ix_reports_url_id", "reports", ["url_id"])
    op.create_index("ix_reports_created_at", "reports", ["created_at"])


def _make_audit_append_only() -> None:
    """The database itself refuses UPDATE and DELETE on the audit log."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION hotline_audit_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit_log is append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION hotline_audit_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )


def downgrade() -> None:
    op.drop_table("reports")
    op.drop_table("reported_urls")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS hotline_audit_append_only()")
    op.drop_table("audit_head")
    op.drop_table("audit_log")
    op.drop_table("staff_sessions")
    op.drop_table("users")

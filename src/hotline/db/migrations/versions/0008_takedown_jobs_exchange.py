"""Notice and takedown: the host directory, takedown cases with their notices and re-checks,
durable jobs, and the signed exchange with partner hotlines (partners, this instance's key,
nonces, forwards out, reports in).

Revision ID: 0008_takedown_jobs_exchange
Revises: 0007_list_releases
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db.base import UTCDateTime

revision: str = "0008_takedown_jobs_exchange"
down_revision: str | None = "0007_list_releases"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exchange_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("private_sealed", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("retired_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_exchange_keys_key_id")),
    )
    op.create_table(
        "hosting_providers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("asns", sa.Text(), nullable=False),
        sa.Column("countries", sa.Text(), nullable=False),
        sa.Column("abuse_email", sa.String(length=320), nullable=True),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("webhook_secret_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hosting_providers")),
        sa.UniqueConstraint("name", name=op.f("uq_hosting_providers_name")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=128), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("run_at", UTCDateTime, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_token", sa.String(length=32), nullable=True),
        sa.Column("lease_expires_at", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=True),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_jobs_dedupe_key")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_due", ["state", "run_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_kind"), ["kind"], unique=False)

    op.create_table(
        "partner_hotlines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("countries", sa.Text(), nullable=False),
        sa.Column("base_url", sa.Text(), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_hotlines")),
        sa.UniqueConstraint("name", name=op.f("uq_partner_hotlines_name")),
    )
    op.create_table(
        "exchange_nonces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("seen_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner_hotlines.id"],
            name=op.f("fk_exchange_nonces_partner_id_partner_hotlines"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_nonces")),
        sa.UniqueConstraint(
            "partner_id", "nonce", name=op.f("uq_exchange_nonces_partner_id_nonce")
        ),
    )
    with op.batch_alter_table("exchange_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_nonces_seen_at"), ["seen_at"], unique=False)

    op.create_table(
        "exchange_inbound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("url_id", sa.Integer(), nullable=False),
        sa.Column("provenance", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("last_status_sent", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner_hotlines.id"],
            name=op.f("fk_exchange_inbound_partner_id_partner_hotlines"),
        ),
        sa.ForeignKeyConstraint(
            ["url_id"], ["reported_urls.id"], name=op.f("fk_exchange_inbound_url_id_reported_urls")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_inbound")),
        sa.UniqueConstraint(
            "partner_id", "remote_id", name=op.f("uq_exchange_inbound_partner_id_remote_id")
        ),
        sa.UniqueConstraint("reference", name=op.f("uq_exchange_inbound_reference")),
    )
    with op.batch_alter_table("exchange_inbound", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exchange_inbound_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_exchange_inbound_url_id"), ["url_id"], unique=False)

    op.create_table(
        "takedown_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("route", sa.String(length=16), nullable=True),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("host_name", sa.String(length=200), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column("first_reported_at", UTCDateTime, nullable=False),
        sa.Column("proposed_at", UTCDateTime, nullable=False),
        sa.Column("confirmed_by", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", UTCDateTime, nullable=True),
        sa.Column("first_notice_at", UTCDateTime, nullable=True),
        sa.Column("last_notice_at", UTCDateTime, nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("next_reminder_at", UTCDateTime, nullable=True),
        sa.Column("next_check_at", UTCDateTime, nullable=True),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("unreachable_streak", sa.Integer(), nullable=False),
        sa.Column("removed_at", UTCDateTime, nullable=True),
        sa.Column("removal_reason", sa.String(length=32), nullable=True),
        sa.Column("escalated_at", UTCDateTime, nullable=True),
        sa.Column("escalation", sa.String(length=32), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("flag_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["confirmed_by"], ["users.id"], name=op.f("fk_takedown_cases_confirmed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner_hotlines.id"],
            name=op.f("fk_takedown_cases_partner_id_partner_hotlines"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["hosting_providers.id"],
            name=op.f("fk_takedown_cases_provider_id_hosting_providers"),
        ),
        sa.ForeignKeyConstraint(
            ["url_id"], ["reported_urls.id"], name=op.f("fk_takedown_cases_url_id_reported_urls")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takedown_cases")),
        sa.UniqueConstraint("reference", name=op.f("uq_takedown_cases_reference")),
        sa.UniqueConstraint("url_id", name=op.f("uq_takedown_cases_url_id")),
    )
    with op.batch_alter_table("takedown_cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_takedown_cases_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_takedown_cases_provider_id"), ["provider_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_takedown_cases_state"), ["state"], unique=False)
        batch_op.create_index(
            "ix_takedown_cases_state_next_check", ["state", "next_check_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_takedown_cases_first_reported_at"), ["first_reported_at"], unique=False
        )

    op.create_table(
        "exchange_forwards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("remote_reference", sa.String(length=64), nullable=True),
        sa.Column("remote_status", sa.String(length=16), nullable=True),
        sa.Column("remote_status_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("delivered_at", UTCDateTime, nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["takedown_cases.id"],
            name=op.f("fk_exchange_forwards_case_id_takedown_cases"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner_hotlines.id"],
            name=op.f("fk_exchange_forwards_partner_id_partner_hotlines"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_forwards")),
        sa.UniqueConstraint("case_id", name=op.f("uq_exchange_forwards_case_id")),
    )
    with op.batch_alter_table("exchange_forwards", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exchange_forwards_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_exchange_forwards_state"), ["state"], unique=False)

    op.create_table(
        "takedown_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["takedown_cases.id"],
            name=op.f("fk_takedown_checks_case_id_takedown_cases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takedown_checks")),
    )
    with op.batch_alter_table("takedown_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_takedown_checks_case_id"), ["case_id"], unique=False)

    op.create_table(
        "takedown_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime, nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["takedown_cases.id"],
            name=op.f("fk_takedown_notices_case_id_takedown_cases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takedown_notices")),
        sa.UniqueConstraint("reference", name=op.f("uq_takedown_notices_reference")),
    )
    with op.batch_alter_table("takedown_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_takedown_notices_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_takedown_notices_message_id"), ["message_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_takedown_notices_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("takedown_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_takedown_notices_status"))
        batch_op.drop_index(batch_op.f("ix_takedown_notices_message_id"))
        batch_op.drop_index(batch_op.f("ix_takedown_notices_case_id"))

    op.drop_table("takedown_notices")
    with op.batch_alter_table("takedown_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_takedown_checks_case_id"))

    op.drop_table("takedown_checks")
    with op.batch_alter_table("exchange_forwards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_forwards_state"))
        batch_op.drop_index(batch_op.f("ix_exchange_forwards_partner_id"))

    op.drop_table("exchange_forwards")
    with op.batch_alter_table("takedown_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_takedown_cases_first_reported_at"))
        batch_op.drop_index("ix_takedown_cases_state_next_check")
        batch_op.drop_index(batch_op.f("ix_takedown_cases_state"))
        batch_op.drop_index(batch_op.f("ix_takedown_cases_provider_id"))
        batch_op.drop_index(batch_op.f("ix_takedown_cases_partner_id"))

    op.drop_table("takedown_cases")
    with op.batch_alter_table("exchange_inbound", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_inbound_url_id"))
        batch_op.drop_index(batch_op.f("ix_exchange_inbound_partner_id"))

    op.drop_table("exchange_inbound")
    with op.batch_alter_table("exchange_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_nonces_seen_at"))

    op.drop_table("exchange_nonces")
    op.drop_table("partner_hotlines")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_kind"))
        batch_op.drop_index("ix_jobs_due")

    op.drop_table("jobs")
    op.drop_table("hosting_providers")
    op.drop_table("exchange_keys")

"""Audit chain: keyed row hashes, unambiguous encoding, TRUNCATE refused.

Rows already written keep their unkeyed hashes and are marked chain version 1; nothing old is
rewritten (re-hashing would overwrite the only evidence of their state). When there are such
rows, this revision appends one keyed row, `audit.chain_keyed`, right after them: its HMAC
covers the last legacy hash, so it pins every legacy row, and verification refuses legacy rows
that this row does not follow (a chain cut and rewritten with the unkeyed scheme). That needs
the audit key, which `hotline db upgrade` and `hotline serve` bind before migrating. The app
writes version 2 (HMAC under a key outside the database) from here on. PostgreSQL also refuses
TRUNCATE of the audit tables (row triggers never see a TRUNCATE) and both databases refuse
deleting the head row.

Revision ID: 0011_audit_keyed_chain
Revises: 0010_media_vpdq
Create Date: 2026-12-04
"""

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from hotline.db.base import UTCDateTime
from hotline.security.audit_keys import AuditKeyMissing, key_for

revision: str = "0011_audit_keyed_chain"
down_revision: str | None = "0010_media_vpdq"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

_GUARDED = ("audit_log", "audit_head")


def upgrade() -> None:
    # Plain ADD COLUMN (not a batch copy): a copied table on SQLite would lose its triggers.
    op.add_column(
        "audit_log",
        sa.Column("chain_version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_table(
        "audit_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("verified_seq", sa.Integer, nullable=False),
        sa.Column("verified_hash", sa.String(64), nullable=False),
        sa.Column("verified_tag", sa.String(64), nullable=False),
        sa.Column("anchored_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_state"),
    )
    _append_rekey_row()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION hotline_audit_refuse() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in _GUARDED:
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION hotline_audit_refuse()"
            )
        op.execute(
            "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
            "FOR EACH ROW EXECUTE FUNCTION hotline_audit_refuse()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
            "BEGIN SELECT RAISE(ABORT, 'audit_head is append-only: DELETE refused'); END"
        )


def _append_rekey_row() -> None:
    """After existing (legacy) rows, one keyed row that pins them; none on a new database.
    The encoding is spelled out here (as security/audit.py has it today) so that this
    revision keeps doing what it did whatever that module becomes."""
    conn = op.get_bind()
    head = conn.execute(sa.text("SELECT last_seq, last_hash FROM audit_head WHERE id = 1")).one()
    if head.last_seq == 0:
        return
    try:
        key = key_for(conn)
    except AuditKeyMissing as exc:
        raise RuntimeError(
            "this database has audit rows, and keying the chain needs the audit key: run "
            "`hotline db upgrade` with HOTLINE_SECRET_KEY (or HOTLINE_AUDIT_KEY) set"
        ) from exc
    seq = head.last_seq + 1
    at = datetime.now(UTC)
    fields = ["system", "audit.chain_keyed", "audit_log", "*"]
    detail = json.dumps({"legacy_rows": head.last_seq}, sort_keys=True, separators=(",", ":"))
    payload = json.dumps(
        [head.last_hash, seq, at.isoformat(), *fields, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    row_hash = hmac.new(key, payload, hashlib.sha256).hexdigest()
    log = sa.table(
        "audit_log",
        *(sa.column(c) for c in ("seq", "actor", "action", "object_type", "object_id")),
        sa.column("at", UTCDateTime),
        *(sa.column(c) for c in ("detail", "prev_hash", "hash", "chain_version")),
    )
    conn.execute(
        log.insert().values(
            seq=seq,
            at=at,
            actor=fields[0],
            action=fields[1],
            object_type=fields[2],
            object_id=fields[3],
            detail=detail,
            prev_hash=head.last_hash,
            hash=row_hash,
            chain_version=2,
        )
    )
    conn.execute(
        sa.text("UPDATE audit_head SET last_seq = :seq, last_hash = :hash WHERE id = 1"),
        {"seq": seq, "hash": row_hash},
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_head_no_delete ON audit_head")
        for table in _GUARDED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS hotline_audit_refuse()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_head_no_delete")
    op.drop_table("audit_state")
    with op.batch_alter_table("audit_log", recreate="never") as batch:
        batch.drop_column("chain_version")

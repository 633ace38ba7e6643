"""Tables for staff accounts, sessions and the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, UTCDateTime


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(256))
    roles: Mapped[str] = mapped_column(String(256))  # comma-separated Role values
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # encrypted
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)  # refuses code replay
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # Failed passwords and failed two-factor codes are counted apart, with the same policy
    # (security/login_guard.py): a right password must not wipe the count of wrong codes.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    totp_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    totp_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffSessionRow(Base):
    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the cookie
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    mfa_passed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        # The audit log's search (hotline.security.audit_search), each in sequence order.
        Index("ix_audit_log_actor_seq", "actor", "seq"),
        Index("ix_audit_log_object_seq", "object_id", "seq"),
        Index("ix_audit_log_action_seq", "action", "seq"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(128))
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # 1: unkeyed legacy rows (before revision 0011); 2: keyed HMAC (security/audit.py).
    chain_version: Mapped[int] = mapped_column(Integer, server_default="1")


class AuditHeadRow(Base):
    """One row: the chain's last sequence number and hash. Locked to append, so the chain never
    forks, and compared on verify, so removing the newest rows is noticed too."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditStateRow(Base):
    """One row (written on first use): the last (seq, hash) a walk of the chain found intact,
    tagged with the audit key, so the staff page verifies only what was appended since; and
    when the last checkpoint was written, so the worker knows when the next is due."""

    __tablename__ = "audit_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    verified_seq: Mapped[int] = mapped_column(Integer)
    verified_hash: Mapped[str] = mapped_column(String(64))
    verified_tag: Mapped[str] = mapped_column(String(64))
    anchored_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

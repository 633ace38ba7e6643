"""Server-side staff sessions. The cookie holds a random token; the database holds its hash."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.security.crypto import sha256_hex
from hotline.security.tables import StaffSessionRow, UserRow

COOKIE_NAME = "hotline_session"


def create(session: Session, user_id: int, *, mfa_passed: bool, hours: int) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    # Tidy this user's expired sessions as a new one starts, so the table stays small.
    session.execute(
        delete(StaffSessionRow).where(
            StaffSessionRow.user_id == user_id, StaffSessionRow.expires_at <= now
        )
    )
    session.add(
        StaffSessionRow(
            token_hash=sha256_hex(token),
            user_id=user_id,
            mfa_passed=mfa_passed,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    session.flush()
    return token


def lookup(session: Session, token: str) -> tuple[StaffSessionRow, UserRow] | None:
    """The live session and its user, or None if unknown, expired or the user is disabled."""
    if not token or len(token) > 128:
        return None
    found = session.execute(
        select(StaffSessionRow, UserRow)
        .join(UserRow, UserRow.id == StaffSessionRow.user_id)
        .where(StaffSessionRow.token_hash == sha256_hex(token))
    ).first()
    if found is None:
        return None
    staff_session, user = found
    if staff_session.expires_at <= utcnow() or user.disabled:
        return None
    return staff_session, user


def mark_mfa_passed(session: Session, token: str) -> None:
    row = session.execute(
        select(StaffSessionRow).where(StaffSessionRow.token_hash == sha256_hex(token))
    ).scalar_one()
    row.mfa_passed = True
    session.flush()


def revoke(session: Session, token: str) -> None:
    session.execute(delete(StaffSessionRow).where(StaffSessionRow.token_hash == sha256_hex(token)))


def revoke_all_for(session: Session, user_id: int) -> None:
    session.execute(delete(StaffSessionRow).where(StaffSessionRow.user_id == user_id))

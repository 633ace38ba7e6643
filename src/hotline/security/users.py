"""Staff accounts: create, list, disable, enrol and check two-factor codes. Signing in, with
its guessing limits, is security/login_guard.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from hotline.security import passwords, totp
from hotline.security.crypto import Sealer
from hotline.security.permissions import Actor, Role, parse_roles
from hotline.security.tables import UserRow

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    roles: frozenset[Role]
    totp_enabled: bool
    disabled: bool
    is_demo: bool
    created_at: datetime

    def actor(self, mfa_passed: bool) -> Actor:
        return Actor(self.id, self.username, self.roles, mfa_passed)


def to_user(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        roles=parse_roles(row.roles),
        totp_enabled=row.totp_enabled,
        disabled=row.disabled,
        is_demo=row.is_demo,
        created_at=row.created_at,
    )


def _row(session: Session, username: str) -> UserRow | None:
    return session.execute(
        select(UserRow).where(UserRow.username == username.strip().lower())
    ).scalar_one_or_none()


def create_user(
    session: Session,
    username: str,
    password: str,
    roles: list[str] | frozenset[Role],
    *,
    display_name: str = "",
    is_demo: bool = False,
) -> User:
    username = username.strip().lower()
    errors: list[FieldError] = []
    if not USERNAME_RE.match(username):
        errors.append(
            FieldError("username", N_("2-64 characters: lower-case letters, digits, '.', '_', '-'"))
        )
    try:
        passwords.check_strength(password)
    except passwords.WeakPasswordError as exc:
        errors.append(FieldError("password", str(exc)))
    try:
        role_set = parse_roles(",".join(roles)) if not isinstance(roles, frozenset) else roles
        if not role_set:
            errors.append(FieldError("roles", N_("give at least one role")))
    except ValueError as exc:
        errors.append(FieldError("roles", str(exc)))
        role_set = frozenset()
    if len(display_name) > 128:
        errors.append(FieldError("display_name", N_("at most 128 characters")))
    if errors:
        raise InvalidInput(N_("the account cannot be created"), fields=errors)
    if _row(session, username) is not None:
        raise Conflict(N_("user '%(username)s' already exists", username=username))
    row = UserRow(
        username=username,
        display_name=display_name or username,
        password_hash=passwords.hash_password(password),
        roles=",".join(sorted(role_set)),
        totp_secret=None,
        totp_enabled=False,
        totp_last_step=0,
        disabled=False,
        is_demo=is_demo,
        failed_logins=0,
        locked_until=None,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return to_user(row)


def get_user(session: Session, username: str) -> User:
    row = _row(session, username)
    if row is None:
        raise NotFound(N_("no user '%(username)s'", username=username))
    return to_user(row)


def get_user_by_id(session: Session, user_id: int) -> User | None:
    row = session.get(UserRow, user_id)
    return to_user(row) if row else None


def list_users(session: Session) -> list[User]:
    return [
        to_user(r) for r in session.execute(select(UserRow).order_by(UserRow.username)).scalars()
    ]


def count_users(session: Session) -> int:
    return session.execute(select(func.count()).select_from(UserRow)).scalar_one()


def set_disabled(session: Session, username: str, disabled: bool) -> User:
    row = _row(session, username)
    if row is None:
        raise NotFound(N_("no user '%(username)s'", username=username))
    row.disabled = disabled
    session.flush()
    return to_user(row)


def begin_totp_enrolment(session: Session, user_id: int, sealer: Sealer) -> str:
    """Make a new secret (not yet active) and return it for the authenticator app."""
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFound(N_("no such user"))
    if row.totp_enabled:
        raise Conflict(N_("two-factor is already enabled for this account"))
    secret = totp.new_secret()
    row.totp_secret = sealer.seal(secret.encode())
    session.flush()
    return secret


def pending_totp_secret(session: Session, user_id: int, sealer: Sealer) -> str | None:
    row = session.get(UserRow, user_id)
    if row is None or row.totp_secret is None:
        return None
    return sealer.open(row.totp_secret).decode()


def check_totp(session: Session, user_id: int, code: str, sealer: Sealer, *, enrol: bool) -> bool:
    """Verify a code (and, when enrolling, switch two-factor on). A code works once."""
    row = session.get(UserRow, user_id)
    if row is None or row.totp_secret is None or row.totp_enabled == enrol:
        return False
    step = totp.verify(sealer.open(row.totp_secret).decode(), code, row.totp_last_step)
    if step is None:
        return False
    row.totp_last_step = step
    if enrol:
        row.totp_enabled = True
    session.flush()
    return True


def set_totp_secret(session: Session, user_id: int, secret: str, sealer: Sealer) -> None:
    """Used by the demo seed: an account enrolled with a known secret."""
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFound(N_("no such user"))
    row.totp_secret = sealer.seal(secret.encode())
    row.totp_enabled = True
    session.flush()

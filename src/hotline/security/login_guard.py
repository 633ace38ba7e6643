"""Guessing limits on staff sign-in, per account: progressive waits, one answer, one cost.

Policy (HOTLINE_LOGIN_MAX_FAILURES = N, HOTLINE_LOGIN_LOCKOUT_MINUTES = cap): an account may
fail N times; from then on each failure makes the next attempt wait 1, 2, 4, 8 ... seconds,
up to the cap. An attempt inside the wait is refused without looking at the password or code.
Failed passwords and failed two-factor codes are counted apart with the same policy, so a
right password never wipes the count of wrong codes. A success clears its own count.

Why waits and not a fixed lock: five wrong passwords from anywhere used to lock any account
for 15 minutes, a lever to keep staff out. Short, growing waits cost an online guesser the
same (a handful of guesses per cap, per account) while a colleague locked out by someone
else's guesses waits seconds, not minutes, at first. Per-address limits (the login rate
limiter) come on top, in the pages.

Whatever happens (unknown account, disabled, waiting, wrong password), the answer is the same
and the same argon2 work is done (a dummy hash when there is no real one to check), so
neither the words nor the timing say which accounts exist or are locked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.security import audit, passwords, sessions, users
from hotline.security.crypto import Sealer
from hotline.security.tables import UserRow

_LONGEST_EXPONENT = 40  # 2**40 s is far beyond any cap; stops the power growing without end


@dataclass(frozen=True)
class LockoutPolicy:
    free_failures: int
    max_wait: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> LockoutPolicy:
        return cls(settings.login_max_failures, timedelta(minutes=settings.login_lockout_minutes))

    def wait_after(self, failures: int) -> timedelta:
        """How long the next attempt must wait after `failures` failures in a row."""
        if failures < self.free_failures:
            return timedelta(0)
        exponent = min(failures - self.free_failures, _LONGEST_EXPONENT)
        return min(timedelta(seconds=2**exponent), self.max_wait)

    def until(self, failures: int, now: datetime) -> datetime | None:
        wait = self.wait_after(failures)
        return now + wait if wait else None


class Refusal(StrEnum):
    """Why an attempt failed: written to the audit log, never shown to the person signing in."""

    unknown_user = "unknown_user"
    disabled = "disabled"
    waiting = "waiting"
    wrong_password = "wrong_password"  # noqa: S105 (a reason, not a password)
    wrong_code = "wrong_code"


@dataclass(frozen=True)
class PasswordOutcome:
    user: users.User | None
    token: str | None = None  # the new session's cookie value when the password was right
    needs_code: bool = False
    refusal: Refusal | None = None


@dataclass(frozen=True)
class _Attempt:
    user_id: int | None
    stored_hash: str
    refusal: Refusal | None  # set when refused before the check
    failures: int  # this account's failed passwords in a row, counting this attempt


def _locked_row(session: Session, username: str) -> UserRow | None:
    # FOR UPDATE (PostgreSQL): parallel attempts on one account count one after another.
    # SQLite's writes already run one at a time (BEGIN IMMEDIATE).
    return session.execute(
        select(UserRow).where(UserRow.username == username).with_for_update()
    ).scalar_one_or_none()


def _begin(session: Session, username: str, policy: LockoutPolicy, now: datetime) -> _Attempt:
    row = _locked_row(session, username)
    if row is None:
        return _Attempt(None, passwords.DUMMY_HASH, Refusal.unknown_user, 0)
    if row.disabled:
        return _Attempt(row.id, passwords.DUMMY_HASH, Refusal.disabled, row.failed_logins)
    if row.locked_until is not None and row.locked_until > now:
        return _Attempt(row.id, passwords.DUMMY_HASH, Refusal.waiting, row.failed_logins)
    # Counted as a failure before the slow check, so a burst of parallel guesses cannot all
    # pass the wait test before any of them is counted; a right password clears it after.
    row.failed_logins += 1
    row.locked_until = policy.until(row.failed_logins, now)
    session.flush()
    return _Attempt(row.id, row.password_hash, None, row.failed_logins)


def _record_wait(
    session: Session, username: str, user_id: int, factor: str, failures: int, policy: LockoutPolicy
) -> None:
    """The lockout notice: one audit entry as an account's waits begin. Admins see the
    account on the staff accounts page until its waits end or an admin clears them."""
    if failures == policy.free_failures:
        audit.record(
            session,
            "system",
            "login.lockout",
            "user",
            user_id,
            {"username": username, "factor": factor, "failures": failures},
        )


def sign_in_with_password(
    db: Database,
    username: str,
    password: str,
    *,
    policy: LockoutPolicy,
    two_factor_required: bool,
    session_hours: int,
) -> PasswordOutcome:
    """The password step: count the attempt, check the password, then clear or record. The
    slow argon2 check sits between two short transactions, so it holds no database lock."""
    now = utcnow()
    with db.write() as session:
        attempt = _begin(session, username, policy, now)
    # Always one argon2 verification of the same cost, whatever was found.
    right = passwords.verify_password(attempt.stored_hash, password)
    right = right and attempt.refusal is None
    rehashed = (
        passwords.hash_password(password)
        if right and passwords.needs_rehash(attempt.stored_hash)
        else None
    )  # outside the transaction: argon2 holds no database lock
    with db.write() as session:
        if not right or attempt.user_id is None:
            refusal = attempt.refusal or Refusal.wrong_password
            audit.record(
                session,
                username or "(blank)",
                "login.failed",
                "user",
                username,
                {"reason": refusal.value},
            )
            if refusal is Refusal.wrong_password and attempt.user_id is not None:
                _record_wait(
                    session, username, attempt.user_id, "password", attempt.failures, policy
                )
            return PasswordOutcome(None, refusal=refusal)
        row = session.get(UserRow, attempt.user_id, with_for_update=True)
        if row is None or row.disabled:  # removed or disabled while the hash was checked
            return PasswordOutcome(None, refusal=Refusal.disabled)
        row.failed_logins = 0
        row.locked_until = None
        if rehashed is not None and row.password_hash == attempt.stored_hash:
            row.password_hash = rehashed
        user = users.to_user(row)
        needs_code = user.totp_enabled or two_factor_required
        token = sessions.create(session, user.id, mfa_passed=not needs_code, hours=session_hours)
        audit.record(session, user.username, "login.password_ok", "user", user.id, {})
    return PasswordOutcome(user, token, needs_code)


def check_second_factor(
    db: Database,
    user: users.User,
    session_token: str,
    code: str,
    sealer: Sealer,
    policy: LockoutPolicy,
) -> bool:
    """The two-factor step for an enrolled account: the same waits as passwords, on a count of
    its own; inside a wait the code is not looked at. A code works once (the last accepted
    time step is stored and anything up to it is refused)."""
    now = utcnow()
    with db.write() as session:
        row = session.get(UserRow, user.id, with_for_update=True)
        if row is None:
            return False
        waiting = row.totp_locked_until is not None and row.totp_locked_until > now
        ok = not waiting and users.check_totp(session, user.id, code, sealer, enrol=False)
        if ok:
            row.totp_failures = 0
            row.totp_locked_until = None
            sessions.mark_mfa_passed(session, session_token)
            audit.record(session, user.username, "login.2fa_ok", "user", user.id, {})
            return True
        if not waiting:
            row.totp_failures += 1
            row.totp_locked_until = policy.until(row.totp_failures, now)
        reason = Refusal.waiting if waiting else Refusal.wrong_code
        audit.record(
            session, user.username, "login.2fa_failed", "user", user.id, {"reason": reason.value}
        )
        if not waiting:
            _record_wait(session, user.username, user.id, "2fa", row.totp_failures, policy)
        session.flush()
    return False


@dataclass(frozen=True)
class GuardedAccount:
    """An account with repeated failures, for the admins' notice."""

    username: str
    failed_passwords: int
    failed_codes: int
    waits_until: datetime | None


def accounts_with_failures(session: Session, policy: LockoutPolicy) -> list[GuardedAccount]:
    """Accounts whose waits have begun (and not been cleared by a success or an admin)."""
    rows = session.execute(
        select(UserRow)
        .where(
            or_(
                UserRow.failed_logins >= policy.free_failures,
                UserRow.totp_failures >= policy.free_failures,
            )
        )
        .order_by(UserRow.username)
    ).scalars()
    now = utcnow()
    found = []
    for row in rows:
        ends = [t for t in (row.locked_until, row.totp_locked_until) if t is not None and t > now]
        found.append(
            GuardedAccount(
                row.username, row.failed_logins, row.totp_failures, max(ends, default=None)
            )
        )
    return found


def clear_failures(session: Session, username: str) -> users.User:
    """Clear an account's counts and waits. Only `security.actions.clear_failures` calls this
    (the staff accounts page and `hotline user clear-failures`); it checks and audits."""
    row = session.execute(
        select(UserRow).where(UserRow.username == username.strip().lower()).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        return users.get_user(session, username)  # raises NotFound, one message for both
    row.failed_logins = 0
    row.locked_until = None
    row.totp_failures = 0
    row.totp_locked_until = None
    return users.to_user(row)

"""Guessing limits per account (security/login_guard.py): second-factor guesses are counted
per account, waits grow instead of a fixed lock, and unknown, disabled, waiting and wrong
sign-ins look and cost the same. A settable clock moves time; nothing here is timed."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.security import login_guard, passwords, totp, users
from hotline.security.tables import AuditRow, UserRow
from hotline.web.app import create_app
from tests.conftest import StaffFactory, csrf_from, sign_in

FREE = 3  # HOTLINE_LOGIN_MAX_FAILURES in these tests
ERROR_RE = re.compile(r'<p class="error" role="alert">(.*?)</p>', re.S)


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(login_guard, "utcnow", moved)
    return moved


@pytest.fixture
def guarded_app(settings: Settings, db: Database) -> FastAPI:
    settings.login_max_failures = FREE
    settings.login_rate_limit = 1000  # the per-address limit is tested on its own
    return create_app(settings, db)


@pytest.fixture
def from_address(guarded_app: FastAPI) -> Iterator[Callable[[int], TestClient]]:
    """A client from a distinct address each call: the guesses are spread over addresses."""
    clients: list[TestClient] = []

    def make(n: int) -> TestClient:
        client = TestClient(guarded_app, client=(f"198.51.100.{n}", 40000 + n))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def post_login(client: TestClient, username: str, password: str):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/staff/login").text)
    return client.post(
        "/staff/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def post_code(client: TestClient, code: str):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/staff/2fa").text)
    return client.post(
        "/staff/2fa", data={"code": code, "csrf_token": token}, follow_redirects=False
    )


def wrong_code(secret: str) -> str:
    now = time.time()
    valid = {totp.current_code(secret, at=now + step * 30) for step in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def audit_details(db: Database, action: str) -> list[str]:
    with db.read() as session:
        return list(
            session.execute(
                select(AuditRow.detail).where(AuditRow.action == action).order_by(AuditRow.seq)
            ).scalars()
        )


def account(db: Database, username: str) -> UserRow:
    with db.read() as session:
        row = session.execute(select(UserRow).where(UserRow.username == username)).scalar_one()
        session.expunge(row)
        return row


# -- the policy ---------------------------------------------------------------------------------


def test_waits_double_from_one_second_up_to_the_cap() -> None:
    policy = login_guard.LockoutPolicy(free_failures=5, max_wait=timedelta(minutes=15))
    assert [policy.wait_after(n).total_seconds() for n in range(0, 5)] == [0] * 5
    assert [policy.wait_after(n).total_seconds() for n in range(5, 10)] == [1, 2, 4, 8, 16]
    assert policy.wait_after(15) == timedelta(minutes=15)
    assert policy.wait_after(10_000) == timedelta(minutes=15)  # no overflow, still the cap
    assert policy.until(4, utcnow()) is None


# -- second-factor guessing -----------------------------------------------------------------------


def test_wrong_codes_from_many_addresses_make_the_account_wait(
    from_address: Callable[[int], TestClient], staff: StaffFactory, db: Database, clock: Clock
) -> None:
    username, password, secret = staff.create(["analyst"])
    for n in range(FREE):  # each guess from its own address, each after a right password
        client = from_address(n)
        assert post_login(client, username, password).status_code == 303
        assert post_code(client, wrong_code(secret)).status_code == 401
    assert account(db, username).totp_failures == FREE
    # The right password does not clear the count of wrong codes...
    client = from_address(99)
    assert post_login(client, username, password).status_code == 303
    # ...and inside the wait even the right code is refused, without being looked at.
    refused = post_code(client, totp.current_code(secret))
    assert refused.status_code == 401
    assert client.get("/staff", follow_redirects=False).headers["location"] == "/staff/2fa"
    assert '"reason":"waiting"' in audit_details(db, "login.2fa_failed")[-1].replace(" ", "")
    # Once the wait is over, the right code works and clears the count.
    clock.advance(login_guard.LockoutPolicy(FREE, timedelta(minutes=15)).wait_after(FREE).seconds)
    assert post_code(client, totp.current_code(secret)).status_code == 303
    assert client.get("/staff", follow_redirects=False).status_code == 200
    assert account(db, username).totp_failures == 0


def test_thirty_wrong_codes_leave_the_right_one_refused_until_the_wait_ends(
    from_address: Callable[[int], TestClient], staff: StaffFactory, db: Database, clock: Clock
) -> None:
    """The probe's attack: 30 wrong codes after a right password, then the right code. Each
    guess waits out the wait before it, so all 30 are checked and counted; the waits grow
    to the cap."""
    username, password, secret = staff.create(["analyst"])
    client = from_address(1)
    assert post_login(client, username, password).status_code == 303
    for _ in range(30):
        row = account(db, username)
        if row.totp_locked_until is not None:
            clock.now = row.totp_locked_until
        assert post_code(client, wrong_code(secret)).status_code == 401
    row = account(db, username)
    assert row.totp_failures == 30
    assert row.totp_locked_until == clock.now + timedelta(minutes=15)  # the cap
    assert post_code(client, totp.current_code(secret)).status_code == 401
    clock.advance(15 * 60)
    assert post_code(client, totp.current_code(secret)).status_code == 303


def test_a_code_is_refused_once_used(
    from_address: Callable[[int], TestClient], staff: StaffFactory, db: Database
) -> None:
    username, password, secret = staff.create(["analyst"])
    code = totp.current_code(secret)  # one code for both: still valid a step later (drift)
    first = from_address(1)
    assert post_login(first, username, password).status_code == 303
    assert post_code(first, code).status_code == 303
    second = from_address(2)
    assert post_login(second, username, password).status_code == 303
    assert post_code(second, code).status_code == 401
    assert account(db, username).totp_last_step >= int(time.time() // 30) - 1


# -- password waits instead of a lock -------------------------------------------------------------


def test_failures_from_many_addresses_cost_seconds_not_a_fixed_lock(
    from_address: Callable[[int], TestClient], staff: StaffFactory, db: Database, clock: Clock
) -> None:
    username, password, _ = staff.create(["analyst"])
    for n in range(FREE):
        assert post_login(from_address(n), username, "wrong password!!").status_code == 401
    # Inside the wait (1 s) the right password is refused, unchecked.
    assert post_login(from_address(50), username, password).status_code == 401
    assert account(db, username).failed_logins == FREE  # the refused attempt was not counted
    clock.advance(1)
    ok = from_address(51)
    assert post_login(ok, username, password).status_code == 303
    row = account(db, username)
    assert row.failed_logins == 0 and row.locked_until is None


def test_waits_grow_with_each_failure(
    from_address: Callable[[int], TestClient], staff: StaffFactory, db: Database, clock: Clock
) -> None:
    username, _, _ = staff.create(["analyst"])
    for n in range(FREE):
        post_login(from_address(n), username, "wrong password!!")
    waits = []
    for n in range(4):
        row = account(db, username)
        assert row.locked_until is not None
        waits.append((row.locked_until - clock.now).total_seconds())
        clock.advance(waits[-1])
        assert post_login(from_address(10 + n), username, "wrong password!!").status_code == 401
    assert waits == [1, 2, 4, 8]


# -- one answer, one cost -------------------------------------------------------------------------


def _error_text(response) -> str:  # type: ignore[no-untyped-def]
    match = ERROR_RE.search(response.text)
    assert match, response.text
    return match.group(1)


def test_unknown_disabled_waiting_and_wrong_look_the_same(
    from_address: Callable[[int], TestClient], staff: StaffFactory, db: Database, clock: Clock
) -> None:
    waiting, _, _ = staff.create(["analyst"])
    for n in range(FREE):
        post_login(from_address(n), waiting, "wrong password!!")
    disabled, disabled_password, _ = staff.create(["analyst"])
    with db.write() as session:
        users.set_disabled(session, disabled, True)
    wrong, _, _ = staff.create(["analyst"])
    answers = [
        post_login(from_address(20), "nobody-at-all", "wrong password!!"),
        post_login(from_address(21), disabled, disabled_password),
        post_login(from_address(22), waiting, "wrong password!!"),
        post_login(from_address(23), wrong, "wrong password!!"),
    ]
    assert {a.status_code for a in answers} == {401}
    assert len({_error_text(a) for a in answers}) == 1
    assert "locked" not in answers[0].text.lower()
    reasons = [d.replace(" ", "") for d in audit_details(db, "login.failed")[-4:]]
    assert [r.split('"reason":"')[1].split('"')[0] for r in reasons] == [
        "unknown_user",
        "disabled",
        "waiting",
        "wrong_password",
    ]


def test_every_refusal_runs_one_argon2_check_of_the_same_cost(
    from_address: Callable[[int], TestClient],
    staff: StaffFactory,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    clock: Clock,  # stopped, so the wait outlasts the test
) -> None:
    waiting, _, _ = staff.create(["analyst"])
    for n in range(FREE):
        post_login(from_address(n), waiting, "wrong password!!")
    disabled, disabled_password, _ = staff.create(["analyst"])
    with db.write() as session:
        users.set_disabled(session, disabled, True)
    wrong, _, _ = staff.create(["analyst"])
    real_parameters = account(db, wrong).password_hash.rsplit("$", 2)[0]

    calls: list[str] = []
    real_verify = passwords.verify_password

    def spy(stored_hash: str, password: str) -> bool:
        calls.append(stored_hash)
        return real_verify(stored_hash, password)

    monkeypatch.setattr(passwords, "verify_password", spy)
    for n, (username, password) in enumerate(
        [
            ("nobody-at-all", "wrong password!!"),
            (disabled, disabled_password),
            (waiting, "wrong password!!"),
            (wrong, "wrong password!!"),
        ]
    ):
        before = len(calls)
        assert post_login(from_address(30 + n), username, password).status_code == 401
        assert len(calls) == before + 1, username
    # The same argon2 variant, version and cost parameters (memory, time, lanes) every time.
    assert {h.rsplit("$", 2)[0] for h in calls} == {real_parameters}
    # Unknown, disabled and waiting accounts are checked against the dummy, never their own
    # hash, so a right password inside a wait reveals nothing either.
    assert calls[:3] == [passwords.DUMMY_HASH] * 3


# -- the notice for admins ------------------------------------------------------------------------


def test_admins_see_accounts_whose_waits_began_and_can_clear_them(
    guarded_app: FastAPI,
    from_address: Callable[[int], TestClient],
    staff: StaffFactory,
    db: Database,
) -> None:
    target, password, _ = staff.create(["analyst"])
    for n in range(FREE):
        post_login(from_address(n), target, "wrong password!!")
    lockouts = audit_details(db, "login.lockout")
    assert len(lockouts) == 1 and target in lockouts[0] and '"password"' in lockouts[0]

    analyst = from_address(60)
    sign_in(analyst, *staff.create(["analyst"]))
    home = analyst.get("/staff").text
    assert "repeated failed sign-ins" not in home  # only those who can act see the notice
    token = csrf_from(home)
    assert (
        analyst.post(f"/staff/users/{target}/clear-failures", data={"csrf_token": token})
    ).status_code == 403

    admin = from_address(61)
    sign_in(admin, *staff.create(["admin"]))
    assert "Accounts with repeated failed sign-ins: 1." in admin.get("/staff").text
    page = admin.get("/staff/users")
    assert "Repeated failed sign-ins" in page.text
    assert f"/staff/users/{target}/clear-failures" in page.text
    cleared = admin.post(
        f"/staff/users/{target}/clear-failures",
        data={"csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert cleared.status_code == 303
    assert "Repeated failed sign-ins" not in admin.get("/staff/users").text
    assert audit_details(db, "user.failures_cleared")
    assert post_login(from_address(62), target, password).status_code == 303  # no wait left
    missing = admin.post(
        "/staff/users/ghost/clear-failures", data={"csrf_token": csrf_from(page.text)}
    )
    assert missing.status_code == 404


def test_no_notice_below_the_threshold(
    from_address: Callable[[int], TestClient], staff: StaffFactory, db: Database
) -> None:
    target, _, _ = staff.create(["analyst"])
    for n in range(FREE - 1):
        post_login(from_address(n), target, "wrong password!!")
    assert audit_details(db, "login.lockout") == []
    admin = from_address(70)
    sign_in(admin, *staff.create(["admin"]))
    assert "Repeated failed sign-ins" not in admin.get("/staff/users").text


def test_the_cli_clears_an_account_s_failures(
    db: Database, settings: Settings, staff: StaffFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from hotline.cli import app as cli

    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())  # production mode
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    username, _, _ = staff.create(["analyst"])
    with db.write() as session:
        row = session.execute(select(UserRow).where(UserRow.username == username)).scalar_one()
        row.failed_logins, row.locked_until = 9, utcnow() + timedelta(minutes=10)
        row.totp_failures, row.totp_locked_until = 7, utcnow() + timedelta(minutes=10)
    result = CliRunner().invoke(cli, ["user", "clear-failures", username])
    assert result.exit_code == 0, result.output
    row = account(db, username)
    assert (row.failed_logins, row.locked_until, row.totp_failures, row.totp_locked_until) == (
        0,
        None,
        0,
        None,
    )
    with db.read() as session:
        cleared = session.execute(
            select(AuditRow.actor, AuditRow.detail).where(
                AuditRow.action == "user.failures_cleared"
            )
        ).one()
    assert cleared.actor.startswith("cli:") and username in cleared.detail
    missing = CliRunner().invoke(cli, ["user", "clear-failures", "ghost"])
    assert missing.exit_code == 2 and "no user" in missing.output

"""Sign-in attempts are rate limited per client (HOTLINE_LOGIN_RATE_LIMIT), apart from the
per-account lockout: a burst from one client gets 429 with Retry-After, whichever accounts it
names, while the same account still signs in from another client."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.security import totp
from hotline.security.tables import AuditRow
from hotline.web.app import create_app
from tests.conftest import StaffFactory, csrf_from, sign_in

LIMIT = 3
BURSTING = ("203.0.113.5", 40000)
ELSEWHERE = ("198.51.100.7", 40001)


@pytest.fixture
def limited_app(settings: Settings, db: Database) -> FastAPI:
    settings.login_rate_limit = LIMIT
    return create_app(settings, db)


@pytest.fixture
def burst_client(limited_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(limited_app, client=BURSTING) as client:
        yield client


def post_login(client: TestClient, username: str, password: str):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/staff/login").text)
    return client.post(
        "/staff/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def wrong_code(secret: str) -> str:
    """A six-digit code that is not valid now, nor one step either side."""
    now = time.time()
    valid = {totp.current_code(secret, at=now + step * 30) for step in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def count_actions(db: Database, action: str) -> int:
    with db.read() as session:
        rows = session.execute(select(AuditRow.action).where(AuditRow.action == action))
        return len(rows.scalars().all())


def test_a_burst_of_sign_ins_gets_429_with_retry_after(
    burst_client: TestClient,
    limited_app: FastAPI,
    staff: StaffFactory,
    db: Database,
    settings: Settings,
) -> None:
    username, password, secret = staff.create(["analyst"])
    # Each attempt names a different (unknown) account, so no account lockout is in play.
    for i in range(LIMIT):
        assert post_login(burst_client, f"nobody{i}", "wrong password!!").status_code == 401
    refused = post_login(burst_client, username, password)  # even the right password
    assert refused.status_code == 429
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= settings.login_rate_window_seconds
    assert "Too many sign-in attempts" in refused.text
    # The refused attempt never reached the password check, so nothing more was counted.
    assert count_actions(db, "login.failed") == LIMIT
    assert count_actions(db, "login.password_ok") == 0
    # The limit is the client's, not the account's: it signs in at once from elsewhere.
    with TestClient(limited_app, client=ELSEWHERE) as elsewhere:
        sign_in(elsewhere, username, password, secret)
        assert elsewhere.get("/staff", follow_redirects=False).status_code == 200


def test_two_factor_guesses_count_against_the_same_limit(
    burst_client: TestClient, staff: StaffFactory
) -> None:
    username, password, secret = staff.create(["analyst"])
    assert post_login(burst_client, username, password).status_code == 303  # attempt 1
    for _ in range(LIMIT - 1):  # attempts 2 and 3: wrong codes
        token = csrf_from(burst_client.get("/staff/2fa").text)
        wrong = burst_client.post(
            "/staff/2fa", data={"code": wrong_code(secret), "csrf_token": token}
        )
        assert wrong.status_code == 401
    token = csrf_from(burst_client.get("/staff/2fa").text)
    refused = burst_client.post(
        "/staff/2fa",
        data={"code": totp.current_code(secret), "csrf_token": token},
        follow_redirects=False,
    )
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    # The code was never checked, so the session is still waiting for its second factor.
    assert burst_client.get("/staff", follow_redirects=False).headers["location"] == ("/staff/2fa")

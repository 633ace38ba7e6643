"""Signing in: passwords, two-factor, lockout, CSRF, cookies, permissions and audit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.db.engine import Database
from hotline.security import audit, totp
from hotline.security.tables import AuditRow
from tests.conftest import StaffFactory, csrf_from, sign_in


def post_login(client: TestClient, username: str, password: str) -> object:
    token = csrf_from(client.get("/staff/login").text)
    return client.post(
        "/staff/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def actions(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.execute(select(AuditRow.action).order_by(AuditRow.seq)).scalars())


def test_full_sign_in_with_two_factor(
    client: TestClient, staff: StaffFactory, db: Database
) -> None:
    username, password, secret = staff.create(["analyst"])
    response = post_login(client, username, password)
    assert response.status_code == 303 and response.headers["location"] == "/staff/2fa"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    # Password alone opens nothing.
    assert client.get("/staff/queue", follow_redirects=False).headers["location"] == "/staff/2fa"
    token = csrf_from(client.get("/staff/2fa").text)
    ok = client.post(
        "/staff/2fa",
        data={"code": totp.current_code(secret), "csrf_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert client.get("/staff/queue").status_code == 200
    assert actions(db)[-3:] == ["login.password_ok", "login.2fa_ok", "queue.view"]


def test_two_factor_code_cannot_be_replayed(client: TestClient, staff: StaffFactory) -> None:
    username, password, secret = staff.create(["analyst"])
    sign_in(client, username, password, secret)
    client.cookies.clear()
    post_login(client, username, password)
    token = csrf_from(client.get("/staff/2fa").text)
    again = client.post("/staff/2fa", data={"code": totp.current_code(secret), "csrf_token": token})
    assert again.status_code == 401
    assert "already used" in again.text


def test_secure_cookie_behind_tls(app, staff: StaffFactory) -> None:  # type: ignore[no-untyped-def]
    username, password, _ = staff.create(["analyst"])
    with TestClient(app, base_url="https://hotline.example") as tls_client:
        response = post_login(tls_client, username, password)
    assert "Secure" in response.headers["set-cookie"]


def test_wrong_password_then_a_wait(
    client: TestClient, staff: StaffFactory, db: Database, settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from hotline.db.base import utcnow
    from hotline.security import login_guard

    stopped = utcnow()
    monkeypatch.setattr(login_guard, "utcnow", lambda: stopped)  # the wait outlasts the test
    username, password, _ = staff.create(["analyst"])
    for _ in range(settings.login_max_failures):
        assert post_login(client, username, "wrong password!!").status_code == 401
    # Inside the wait even the right password is refused, with the same words as a wrong one.
    refused = post_login(client, username, password)
    assert refused.status_code == 401 and "locked" not in refused.text
    assert actions(db).count("login.failed") == settings.login_max_failures + 1
    assert actions(db).count("login.lockout") == 1


def test_unknown_user_and_disabled_user(
    client: TestClient, staff: StaffFactory, db: Database
) -> None:
    assert post_login(client, "nobody-here", "whatever password").status_code == 401
    username, password, _ = staff.create(["analyst"])
    from hotline.security import users

    with db.write() as session:
        users.set_disabled(session, username, True)
    assert post_login(client, username, password).status_code == 401


def test_forms_without_csrf_token_are_refused(client: TestClient, staff: StaffFactory) -> None:
    username, password, _ = staff.create(["analyst"])
    client.get("/staff/login")
    response = client.post("/staff/login", data={"username": username, "password": password})
    assert response.status_code == 403
    forged = client.post(
        "/staff/login", data={"username": username, "password": password, "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    report = client.post("/report", data={"url": "https://example.com/"})
    assert report.status_code == 403


def test_enrolment_when_two_factor_required(client: TestClient, db: Database, settings) -> None:  # type: ignore[no-untyped-def]
    from hotline.security import users
    from hotline.security.crypto import sealer_for

    with db.write() as session:
        users.create_user(session, "newstaff", "a long enough passphrase", ["analyst"])
    response = post_login(client, "newstaff", "a long enough passphrase")
    assert response.headers["location"] == "/staff/2fa/enrol"
    page = client.get("/staff/2fa/enrol")
    assert page.status_code == 200
    with db.read() as session:
        secret = users.pending_totp_secret(
            session,
            users.get_user(session, "newstaff").id,
            sealer_for(settings.secret, "totp-secret"),
        )
    assert secret and secret in page.text
    bad = client.post(
        "/staff/2fa/enrol", data={"code": "000000", "csrf_token": csrf_from(page.text)}
    )
    assert bad.status_code == 401
    good = client.post(
        "/staff/2fa/enrol",
        data={"code": totp.current_code(secret), "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert good.status_code == 303
    assert client.get("/staff").status_code == 200


def test_anonymous_is_sent_to_sign_in(client: TestClient) -> None:
    response = client.get("/staff/queue", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login?next=/staff/queue"


def test_open_redirect_after_login_is_refused(client: TestClient, staff: StaffFactory) -> None:
    username, password, _ = staff.create(["analyst"])
    token = csrf_from(client.get("/staff/login").text)
    response = client.post(
        "/staff/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": token,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/staff/2fa"


@pytest.mark.parametrize(
    ("roles", "path", "status"),
    [
        (["analyst"], "/staff/users", 403),
        (["analyst"], "/staff/audit", 403),
        (["content_editor"], "/staff/queue", 403),
        (["admin"], "/staff/users", 200),
        (["senior_analyst"], "/staff/audit", 200),
    ],
)
def test_pages_follow_permissions(login_as, roles: list[str], path: str, status: int) -> None:  # type: ignore[no-untyped-def]
    client = login_as(roles)
    assert client.get(path).status_code == status


def test_admin_manages_accounts(login_as, db: Database) -> None:  # type: ignore[no-untyped-def]
    client = login_as(["admin"])
    page = client.get("/staff/users")
    token = csrf_from(page.text)
    bad = client.post(
        "/staff/users",
        data={"username": "x", "password": "short", "roles": ["wizard"], "csrf_token": token},
    )
    assert bad.status_code == 422
    created = client.post(
        "/staff/users",
        data={
            "username": "analyst2",
            "display_name": "Second Analyst",
            "password": "another long passphrase",
            "roles": ["analyst"],
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    duplicate = client.post(
        "/staff/users",
        data={
            "username": "analyst2",
            "password": "another long passphrase",
            "roles": ["analyst"],
            "csrf_token": token,
        },
    )
    assert duplicate.status_code == 409
    disabled = client.post(
        "/staff/users/analyst2/disable", data={"csrf_token": token}, follow_redirects=False
    )
    assert disabled.status_code == 303
    assert "user.disabled" in actions(db)
    missing = client.post("/staff/users/ghost/disable", data={"csrf_token": token})
    assert missing.status_code == 404


def test_admin_cannot_disable_self(client: TestClient, staff: StaffFactory) -> None:
    username, password, secret = staff.create(["admin"])
    sign_in(client, username, password, secret)
    other, _, _ = staff.create(["analyst"])
    page = client.get("/staff/users").text
    # The page offers no buttons on your own row (the action would refuse them) ...
    assert f'action="/staff/users/{other}/disable"' in page
    assert f'action="/staff/users/{username}/disable"' not in page
    assert f'action="/staff/users/{username}/reset-2fa"' not in page
    # ... and the action refuses them anyway.
    token = csrf_from(page)
    response = client.post(f"/staff/users/{username}/disable", data={"csrf_token": token})
    assert response.status_code == 403


def test_sign_out_ends_the_session(login_as) -> None:  # type: ignore[no-untyped-def]
    client = login_as(["analyst"])
    token = csrf_from(client.get("/staff").text)
    client.post("/staff/logout", data={"csrf_token": token})
    assert client.get("/staff", follow_redirects=False).status_code == 303


def test_audit_chain_still_verifies_after_a_session(login_as, db: Database) -> None:  # type: ignore[no-untyped-def]
    client = login_as(["analyst"])
    client.get("/staff/queue")
    with db.read() as session:
        assert audit.verify(session).ok

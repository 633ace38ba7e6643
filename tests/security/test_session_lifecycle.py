"""Staff sessions live on the server: signing out ends the session itself (not only the
browser's cookie), and a session past its expiry is refused whatever cookie comes back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.security import sessions
from hotline.security.tables import StaffSessionRow
from tests.conftest import StaffFactory, csrf_from, sign_in


def signed_in_cookie(client: TestClient, staff: StaffFactory) -> str:
    sign_in(client, *staff.create(["analyst"]))
    cookie = client.cookies.get(sessions.COOKIE_NAME)
    assert cookie and client.get("/staff", follow_redirects=False).status_code == 200
    return cookie


def answer_to(app: FastAPI, cookie: str):  # type: ignore[no-untyped-def]
    """/staff for a fresh browser that presents `cookie` (a copy kept by someone else)."""
    with TestClient(app) as other:
        other.cookies.set(sessions.COOKIE_NAME, cookie)
        return other.get("/staff", follow_redirects=False)


def session_rows(db: Database) -> int:
    with db.read() as session:
        return session.execute(select(func.count()).select_from(StaffSessionRow)).scalar_one()


def test_sign_out_ends_the_session_on_the_server(
    app: FastAPI, client: TestClient, staff: StaffFactory, db: Database
) -> None:
    cookie = signed_in_cookie(client, staff)
    assert answer_to(app, cookie).status_code == 200  # the copy works while signed in
    token = csrf_from(client.get("/staff").text)
    out = client.post("/staff/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert session_rows(db) == 0
    refused = answer_to(app, cookie)
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/staff/login")


def test_an_expired_session_is_refused(
    app: FastAPI, client: TestClient, staff: StaffFactory, db: Database
) -> None:
    cookie = signed_in_cookie(client, staff)
    with db.write() as session:
        session.execute(update(StaffSessionRow).values(expires_at=utcnow() - timedelta(seconds=1)))
    refused = answer_to(app, cookie)
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/staff/login")


def test_a_session_lasts_its_hours_and_not_a_second_more(
    app: FastAPI,
    client: TestClient,
    staff: StaffFactory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = utcnow()
    cookie = signed_in_cookie(client, staff)
    lifetime = timedelta(hours=settings.session_hours)
    monkeypatch.setattr(sessions, "utcnow", lambda: started + lifetime - timedelta(seconds=5))
    assert answer_to(app, cookie).status_code == 200
    monkeypatch.setattr(sessions, "utcnow", lambda: utcnow() + lifetime)
    assert answer_to(app, cookie).status_code == 303

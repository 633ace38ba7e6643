"""One error shape everywhere, a 500 that says nothing internal, health, headers."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from hotline.db.engine import Database


def test_every_json_error_has_the_one_shape(client: TestClient) -> None:
    cases = [
        client.get("/api/v1/nothing-here"),
        client.delete("/api/v1/reports"),
        client.post("/api/v1/reports", content=b"{", headers={"content-type": "application/json"}),
        client.post("/api/v1/reports", json={"url": "nope"}),
        client.get("/api/v1/reports/AAAA-AAAA-AAAA"),
    ]
    assert [r.status_code for r in cases] == [404, 405, 400, 422, 404]
    for response in cases:
        body = response.json()
        assert list(body) == ["error"]
        assert {"code", "message"} <= set(body["error"]) <= {"code", "message", "fields"}


def test_500_reveals_nothing_and_logs_an_incident(
    app,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail: /var/lib/hotline")

    with TestClient(app, raise_server_exceptions=False) as c, caplog.at_level(logging.ERROR):
        response = c.get("/api/v1/boom")
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["code"] == "internal_error"
    incident = body["error"]["incident"]
    assert "secret internal detail" not in response.text
    assert any(incident in record.getMessage() for record in caplog.records)


def test_health(client: TestClient) -> None:
    assert client.get("/healthz/live").json() == {"status": "ok"}
    ready = client.get("/healthz/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "migrations": "current"}


def test_not_ready_when_migrations_are_behind(client: TestClient, db: Database) -> None:
    from hotline.db import migrate

    migrate.downgrade(db, "0001_foundation")
    response = client.get("/healthz/ready")
    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"
    migrate.upgrade(db)


def test_security_headers_on_pages(client: TestClient) -> None:
    response = client.get("/report")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "hotline_csrf" in response.headers["set-cookie"]


def test_components_decide_what_is_mounted(settings, db: Database) -> None:  # type: ignore[no-untyped-def]
    from hotline.web.app import create_app

    settings.components = "api"
    with TestClient(create_app(settings, db)) as api_only:
        assert api_only.get("/report").status_code == 404
        assert api_only.get("/staff/login").status_code == 404
        assert (
            api_only.post("/api/v1/reports", json={"url": "https://example.com/"}).status_code
            == 201
        )


def test_json_api_sets_no_cookies(client: TestClient) -> None:
    response = client.post("/api/v1/reports", json={"url": "https://example.com/c"})
    assert response.status_code == 201
    assert "set-cookie" not in response.headers
    assert response.headers["cache-control"] == "no-store"


def test_the_language_switcher_keeps_the_page_query() -> None:
    """A reporter's status page keeps its reference, a filtered list its filters."""
    from starlette.requests import Request

    from hotline.web.templating import lang_href

    scope = {"type": "http", "query_string": b"reference=HL-1&country=GB&lang=en", "headers": []}
    assert lang_href(Request(scope), "fr") == "?reference=HL-1&country=GB&lang=fr"
    bare = Request({"type": "http", "query_string": b"", "headers": []})
    assert lang_href(bare, "en") == "?lang=en"

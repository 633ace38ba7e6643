"""POST /api/v1/reports and GET /api/v1/reports/{reference}: good input, bad input, limits."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hotline.db.engine import Database
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.security.crypto import sealer_for
from tests.conftest import TEST_SECRET


def count_reports(db: Database) -> int:
    with db.read() as session:
        return session.execute(select(func.count()).select_from(ReportRow)).scalar_one()


def assert_error_shape(body: dict, code: str) -> None:
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert set(body["error"]) <= {"code", "message", "fields", "incident"}


def test_report_is_committed_before_201(client: TestClient, db: Database) -> None:
    response = client.post(
        "/api/v1/reports",
        json={
            "url": "https://www.example.com/gallery?utm_campaign=x",
            "description": "Seen in a forum signature",
            "content_type": "image",
            "country": "gb",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"reference", "status"}
    assert body["status"] == "received"
    # A new connection sees it: the row was committed before the answer.
    with db.read() as session:
        row = session.execute(
            select(ReportRow).where(ReportRow.reference == body["reference"])
        ).scalar_one()
        assert row.country == "GB" and row.content_type == "image" and row.source == "api"
        url = session.get(ReportedUrlRow, row.url_id)
        assert url is not None and url.normalized_url == "https://www.example.com/gallery"


def test_public_status_says_nothing_more(client: TestClient) -> None:
    reference = client.post("/api/v1/reports", json={"url": "https://example.org/x"}).json()[
        "reference"
    ]
    response = client.get(f"/api/v1/reports/{reference}")
    assert response.status_code == 200
    assert response.json() == {"reference": reference, "status": "received"}
    # Typed loosely (lower case, no dashes) it still resolves.
    loose = reference.lower().replace("-", "")
    assert client.get(f"/api/v1/reports/{loose}").json()["status"] == "received"


def test_same_url_after_normalisation_is_a_duplicate(client: TestClient, db: Database) -> None:
    first = client.post("/api/v1/reports", json={"url": "https://example.com/a?id=1"}).json()
    variants = [
        "HTTPS://EXAMPLE.COM:443/a?id=1#top",
        "https://example.com./a?id=1&utm_source=mail",
        "https://example.com/b/../a?id=1&fbclid=zz",
    ]
    for variant in variants:
        body = client.post("/api/v1/reports", json={"url": variant}).json()
        assert body["status"] == "duplicate"
        assert client.get(f"/api/v1/reports/{body['reference']}").json()["status"] == "duplicate"
    assert client.get(f"/api/v1/reports/{first['reference']}").json()["status"] == "received"
    with db.read() as session:
        urls = session.execute(select(ReportedUrlRow)).scalars().all()
        assert len(urls) == 1 and urls[0].report_count == 4
    assert count_reports(db) == 4


def test_email_is_stored_encrypted(client: TestClient, db: Database) -> None:
    client.post(
        "/api/v1/reports", json={"url": "https://example.com/e", "email": "reporter@example.org"}
    )
    with db.read() as session:
        stored = session.execute(select(ReportRow.email_encrypted)).scalar_one()
    assert stored is not None and b"reporter@example.org" not in stored
    assert (
        sealer_for(TEST_SECRET.encode(), "reporter-email").open(stored) == b"reporter@example.org"
    )


@pytest.fixture
def no_email_client(settings, db):  # type: ignore[no-untyped-def]
    from hotline.web.app import create_app

    settings.store_reporter_email = False
    with TestClient(create_app(settings, db)) as c:
        yield c


def test_email_not_stored_when_setting_is_off(no_email_client: TestClient, db: Database) -> None:
    response = no_email_client.post(
        "/api/v1/reports", json={"url": "https://example.com/e", "email": "r@example.org"}
    )
    assert response.status_code == 201
    with db.read() as session:
        assert session.execute(select(ReportRow.email_encrypted)).scalar_one() is None


BAD_BODIES = [
    ({"url": "example.com/no-scheme"}, "url"),
    ({"url": "/relative"}, "url"),
    ({"url": "ftp://example.com/x"}, "url"),
    ({"url": "https://user:pw@example.com/"}, "url"),
    ({"url": "https://example.com/" + "x" * 2100}, "url"),
    ({"url": "http://127.0.0.1/"}, "url"),
    ({"url": "http://[::1]/"}, "url"),
    ({"url": "http://169.254.169.254/"}, "url"),
    ({"url": "http://10.0.0.8/"}, "url"),
    ({"url": "http://192.168.0.1/"}, "url"),
    ({"url": "http://[fe80::1]/"}, "url"),
    ({}, "url"),
    ({"url": 12}, "url"),
    ({"url": "https://example.com/", "description": "d" * 5001}, "description"),
    ({"url": "https://example.com/", "email": "not-an-email"}, "email"),
    ({"url": "https://example.com/", "email": "a@" + "b" * 260 + ".com"}, "email"),
    ({"url": "https://example.com/", "content_type": "audio"}, "content_type"),
    ({"url": "https://example.com/", "content_type": ["image"]}, "content_type"),
    ({"url": "https://example.com/", "content_type": {"image": True}}, "content_type"),
    ({"url": "https://example.com/", "description": ["text"]}, "description"),
    ({"url": "https://example.com/", "country": "ZZ"}, "country"),
    ({"url": "https://example.com/", "country": "GBR"}, "country"),
    ({"url": "https://example.com/", "unexpected": 1}, "unexpected"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_bad_fields_give_422_and_store_nothing(
    client: TestClient, db: Database, body: dict, field: str
) -> None:
    response = client.post("/api/v1/reports", json=body)
    assert response.status_code == 422
    payload = response.json()
    assert_error_shape(payload, "invalid_input")
    assert field in [f["field"] for f in payload["error"]["fields"]]
    assert count_reports(db) == 0


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b'{"url": "https://example.com/"', "application/json", 400, "malformed_json"),
        (b"\xff\xfe", "application/json", 400, "malformed_json"),
        (b'["https://example.com/"]', "application/json", 422, "invalid_input"),
        (
            b"url=https://example.com/",
            "application/x-www-form-urlencoded",
            415,
            "unsupported_media_type",
        ),
        (b'{"url": "https://example.com/"}', "text/plain", 415, "unsupported_media_type"),
        (b'{"description": "' + b"x" * 20000 + b'"}', "application/json", 413, "payload_too_large"),
    ],
)
def test_bad_bodies(
    client: TestClient, db: Database, content: bytes, content_type: str, status: int, code: str
) -> None:
    response = client.post(
        "/api/v1/reports", content=content, headers={"content-type": content_type}
    )
    assert response.status_code == status
    assert_error_shape(response.json(), code)
    assert count_reports(db) == 0


def test_unknown_and_malformed_references(client: TestClient) -> None:
    missing = client.get("/api/v1/reports/AAAA-BBBB-CCCC")
    assert missing.status_code == 404
    assert_error_shape(missing.json(), "not_found")
    malformed = client.get("/api/v1/reports/not-a-reference!")
    assert malformed.status_code == 422
    assert_error_shape(malformed.json(), "invalid_input")


@pytest.fixture
def limited_client(settings, db):  # type: ignore[no-untyped-def]
    from hotline.web.app import create_app

    settings.report_rate_limit = 3
    with TestClient(create_app(settings, db)) as c:
        yield c


def test_burst_past_the_rate_limit_gets_429(limited_client: TestClient, db: Database) -> None:
    for i in range(3):
        ok = limited_client.post("/api/v1/reports", json={"url": f"https://example.com/{i}"})
        assert ok.status_code == 201
    refused = limited_client.post("/api/v1/reports", json={"url": "https://example.com/9"})
    assert refused.status_code == 429
    assert_error_shape(refused.json(), "rate_limited")
    assert int(refused.headers["Retry-After"]) >= 1
    assert count_reports(db) == 3


def test_rate_limiter_keeps_no_raw_address() -> None:
    from hotline.security.ratelimit import RateLimiter

    limiter = RateLimiter(b"k" * 32, limit=2, window_seconds=60)
    limiter.hit("203.0.113.7", now=0.0)
    keys = list(limiter.stored_keys())
    assert keys and all("203.0.113.7" not in k for k in keys)
    assert limiter.hit("203.0.113.7", now=1.0) is None
    assert limiter.hit("203.0.113.7", now=2.0) == 59
    assert limiter.hit("198.51.100.1", now=2.0) is None  # another client is unaffected
    assert limiter.hit("203.0.113.7", now=61.0) is None  # the window slid

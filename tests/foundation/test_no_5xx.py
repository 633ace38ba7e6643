"""No input gets a 5xx: what a probe found crashing the JSON APIs (a list where a string
belongs, thousands of brackets, a lone surrogate, integers past 64 bits) is a 4xx in the one
error shape on the public reports API, the member match and list APIs and the exchange API,
on both databases. tests/fuzz/ looks for what these examples miss."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.exchange import partners, protocol
from hotline.json_input import MAX_DEPTH, MAX_ID
from hotline.lists import release
from hotline.lists.api import release_root
from tests.exchange.helpers import Sender
from tests.lists.helpers import entries, new_list
from tests.matching.helpers import make_key

URL = "http://example.com/a"
DEEP = "[" * 5000 + "]" * 5000  # past any recursion limit
JUST_TOO_DEEP = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
HUGE = str(2**64 - 1)  # fits no signed 64-bit column
HUGER = "9" * 40  # beyond 64 bits even unsigned
NOW = '"2024-05-01T10:00:00+00:00"'


def obj(**raw: str) -> str:
    """A JSON object from members given as raw JSON text (which may be anything but JSON)."""
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in raw.items()) + "}"


def forward(**raw: str) -> str:
    fields = {"forward_id": '"41"', "url": f'"{URL}"', "first_reported_at": NOW}
    return obj(**{**fields, "category": '"C"', "reference": '"R-1"', **raw})


def status_update(**raw: str) -> str:
    return obj(**{"forward_id": '"1"', "status": '"removed"', "at": NOW, **raw})


def _err(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert set(body["error"]) <= {"code", "message", "fields"}
    for field in body["error"].get("fields", []):
        assert set(field) == {"field", "message"}
    return body["error"]


# The body with the bad value in it, the status, the code, the field named (or None).
REPORTS = [
    pytest.param(
        {"url": URL, "content_type": ["image"]},
        422,
        "invalid_input",
        "content_type",
        id="content_type list",
    ),
    pytest.param(
        {"url": URL, "content_type": {"a": 1}},
        422,
        "invalid_input",
        "content_type",
        id="content_type object",
    ),
    pytest.param(
        {"url": URL, "email": ["a@example.com"]}, 422, "invalid_input", "email", id="email list"
    ),
    pytest.param({"url": {"href": URL}}, 422, "invalid_input", "url", id="url object"),
    pytest.param(DEEP, 400, "malformed_json", None, id="deep nesting"),
    pytest.param(obj(url=DEEP), 400, "malformed_json", None, id="deep inside a field"),
    pytest.param(obj(description=JUST_TOO_DEEP), 400, "malformed_json", None, id="just too deep"),
    pytest.param(
        '{"url":"http://example.com/\\ud800"}',
        400,
        "malformed_json",
        None,
        id="lone surrogate in url",
    ),
    pytest.param(
        obj(url=f'"{URL}"', description='"\\udc00"'),
        400,
        "malformed_json",
        None,
        id="lone low surrogate",
    ),
    pytest.param(
        b'{"url":"http://example.com/\xed\xa0\x80"}',
        400,
        "malformed_json",
        None,
        id="surrogate as raw bytes",
    ),
    pytest.param(
        obj(url=f'"{URL}"', country=HUGE),
        422,
        "invalid_input",
        "country",
        id="int past 64 bits",
    ),
    pytest.param(obj(url=HUGER), 422, "invalid_input", "url", id="int far past 64 bits"),
    pytest.param(HUGE, 422, "invalid_input", "body", id="int as the body"),
    # PostgreSQL's text columns cannot hold a NUL: psycopg raised DataError mid-insert.
    pytest.param(
        obj(url=f'"{URL}"', description='"a\\u0000b"'),
        422,
        "invalid_input",
        "description",
        id="NUL in a stored field",
    ),
    pytest.param('{"url":1e999}', 400, "malformed_json", None, id="infinity"),
]


def _raw(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()


def _fields(error: dict[str, Any]) -> list[str]:
    return [f["field"] for f in error.get("fields", [])]


@pytest.mark.parametrize(("body", "status", "code", "field"), REPORTS)
def test_public_reports_api(
    client: TestClient, body: Any, status: int, code: str, field: str | None
) -> None:
    response = client.post(
        "/api/v1/reports", content=_raw(body), headers={"Content-Type": "application/json"}
    )
    error = _err(response, status, code)
    if field:
        assert field in _fields(error)


@pytest.mark.parametrize(
    "reference", ["%ED%A0%80", "\ud800".encode("utf-8", "surrogatepass").hex(), HUGER, "9" * 5000]
)
def test_public_report_status_with_odd_references(client: TestClient, reference: str) -> None:
    _err(client.get(f"/api/v1/reports/{reference}"), 422, "invalid_input")


# -- the member match API ------------------------------------------------------------------------

MATCH = [
    pytest.param(
        {"hashes": [{"type": ["pdq"], "value": "0" * 64}]},
        422,
        "invalid_input",
        "hashes.0.type",
        id="type list",
    ),
    pytest.param({"md5": {"a": 1}}, 422, "invalid_input", "md5", id="value object"),
    pytest.param({"hashes": {"type": "md5"}}, 422, "invalid_input", "hashes", id="hashes object"),
    pytest.param(DEEP, 400, "malformed_json", None, id="deep nesting"),
    pytest.param(obj(hashes=DEEP), 400, "malformed_json", None, id="deep batch"),
    pytest.param(obj(hashes=JUST_TOO_DEEP), 400, "malformed_json", None, id="just too deep"),
    pytest.param('{"md5":"\\ud800"}', 400, "malformed_json", None, id="lone surrogate"),
    pytest.param(obj(pdq=HUGE), 422, "invalid_input", "pdq", id="int past 64 bits"),
    pytest.param(
        obj(hashes="[" + obj(type='"md5"', value=HUGE) + "]"),
        422,
        "invalid_input",
        "hashes.0.value",
        id="int in a batch",
    ),
    pytest.param(obj(sha1=HUGER), 422, "invalid_input", "sha1", id="int far past 64 bits"),
    pytest.param(obj(md5='"\\u0000"'), 422, "invalid_input", "md5", id="NUL"),
]


@pytest.fixture
def member_key(db: Database, settings: Settings) -> str:
    new_list(db, "alpha", entries(2))
    release.publish(db, release_root(settings), "alpha", settings.secret, "test")
    return make_key(db, "example-platform", ["alpha"])


@pytest.mark.parametrize(("body", "status", "code", "field"), MATCH)
def test_member_match_api(
    client: TestClient,
    member_key: str,
    body: Any,
    status: int,
    code: str,
    field: str | None,
) -> None:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {member_key}"}
    error = _err(client.post("/api/v1/match", content=_raw(body), headers=headers), status, code)
    if field:
        assert field in _fields(error)
    # Without a key the same body is refused before it is read.
    del headers["Authorization"]
    _err(client.post("/api/v1/match", content=_raw(body), headers=headers), 401, "unauthorized")


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        (f"/api/v1/lists/alpha/releases/{HUGE}", 422, "invalid_input"),
        (f"/api/v1/lists/alpha/releases/{HUGER}", 422, "invalid_input"),
        (f"/api/v1/lists/alpha/releases/{MAX_ID}", 404, "not_found"),
        (f"/api/v1/lists/alpha/releases/{MAX_ID + 1}", 422, "invalid_input"),
        (f"/api/v1/lists/alpha/delta?since={MAX_ID + 1}", 422, "invalid_input"),
        ("/api/v1/lists/alpha/releases/%C2%B2", 422, "invalid_input"),  # '²' is a digit to isdigit
        (f"/api/v1/lists/alpha/releases/{HUGE}/files/manifest.json", 422, "invalid_input"),
        (f"/api/v1/lists/alpha/delta?since={HUGE}", 422, "invalid_input"),
        (f"/api/v1/lists/alpha/delta?since={HUGER}", 422, "invalid_input"),
        ("/api/v1/lists/alpha/delta?since=-1", 422, "invalid_input"),
        (f"/api/v1/lists/alpha/deltas/0-{HUGE}/files/manifest.json", 404, "not_found"),
        (f"/api/v1/lists/alpha/deltas/{HUGER}-1/files/manifest.json", 404, "not_found"),
        ("/api/v1/lists/alpha/deltas/%C2%B2-1/files/manifest.json", 404, "not_found"),
        ("/api/v1/lists/%ED%A0%80/releases", 403, "forbidden"),
    ],
)
def test_member_list_api_bounds_numbers_in_paths(
    client: TestClient, member_key: str, path: str, status: int, code: str
) -> None:
    response = client.get(path, headers={"Authorization": f"Bearer {member_key}"})
    _err(response, status, code)


# -- the partner exchange API --------------------------------------------------------------------

EXCHANGE = [
    (protocol.REPORTS_PATH, forward(url=f'["{URL}"]'), 422, "invalid_input", "url"),
    (protocol.REPORTS_PATH, forward(url=DEEP), 400, "malformed_json", None),
    (protocol.REPORTS_PATH, forward(url=JUST_TOO_DEEP), 400, "malformed_json", None),
    (
        protocol.REPORTS_PATH,
        forward(url='"http://example.com/\\ud800"'),
        400,
        "malformed_json",
        None,
    ),
    (protocol.REPORTS_PATH, forward(url=HUGE), 422, "invalid_input", "url"),
    (protocol.REPORTS_PATH, forward(reference='"R\\u0000"'), 422, "invalid_input", "reference"),
    (
        protocol.REPORTS_PATH,
        forward(first_reported_at='"0001-01-01T00:00:00+14:00"'),
        422,
        "invalid_input",
        "first_reported_at",
    ),
    (protocol.STATUS_PATH, status_update(status='["removed"]'), 422, "invalid_input", "status"),
    (protocol.STATUS_PATH, status_update(status='{"a":1}'), 422, "invalid_input", "status"),
    (protocol.STATUS_PATH, status_update(status=DEEP), 400, "malformed_json", None),
    (protocol.STATUS_PATH, status_update(status=HUGER), 422, "invalid_input", "status"),
    (
        protocol.STATUS_PATH,
        status_update(forward_id=f'"{HUGER}"'),
        422,
        "invalid_input",
        "forward_id",
    ),
    (
        protocol.STATUS_PATH,
        status_update(forward_id=f'"{HUGE}"'),
        422,
        "invalid_input",
        "forward_id",
    ),
    (
        protocol.STATUS_PATH,
        status_update(forward_id=f'"{MAX_ID + 1}"'),
        422,
        "invalid_input",
        "forward_id",
    ),
    (protocol.STATUS_PATH, status_update(forward_id=f'"{MAX_ID}"'), 404, "not_found", None),
]


@pytest.fixture
def sender(db: Database, settings: Settings) -> Sender:
    sender = Sender("Hotline A", recipient=settings.organisation_name)
    with db.write() as session:
        partners.add(session, sender.name, "GB", "http://127.0.0.1:9", sender.public_b64)
    return sender


@pytest.mark.parametrize(("path", "body", "status", "code", "field"), EXCHANGE)
def test_exchange_api_signed_and_unsigned(
    client: TestClient,
    sender: Sender,
    path: str,
    body: str,
    status: int,
    code: str,
    field: str | None,
) -> None:
    raw, headers = sender.request(path, body.encode())
    error = _err(client.post(path, content=raw, headers=headers), status, code)
    if field:
        assert field in _fields(error)
    # Unsigned, or signed by someone else: refused before the body is parsed.
    unsigned = {"Content-Type": "application/json"}
    _err(client.post(path, content=raw, headers=unsigned), 401, "unauthorized")
    stranger = Sender("Hotline Z", recipient=sender.recipient)
    raw, headers = stranger.request(path, body.encode())
    _err(client.post(path, content=raw, headers=headers), 401, "unauthorized")


@pytest.mark.parametrize("since", [MAX_ID + 1, HUGE, -1])
def test_delta_since_is_bounded_before_any_query(
    client: TestClient, member_key: str, since: int | str
) -> None:
    """Refused by the declared bounds (the schema says 0 to MAX_ID), not by a lookup."""
    response = client.get(
        f"/api/v1/lists/alpha/delta?since={since}",
        headers={"Authorization": f"Bearer {member_key}"},
    )
    error = _err(response, 422, "invalid_input")
    assert error["message"] == "the request has problems; nothing was stored"
    assert _fields(error) == ["since"]

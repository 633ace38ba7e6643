"""Every JSON API answer carries `X-Request-ID` (the caller's when sane, else a new one), and
every answer on which a rate limit was counted carries `RateLimit-Limit`, `RateLimit-Remaining`
and `RateLimit-Reset`: successes, refusals, the 429 itself and a crash alike (issue 13.5).
The routes walked are the schema fuzz's list, which its own test keeps whole."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.lists import release
from hotline.lists.api import release_root
from hotline.matching.service import MatchConfig
from hotline.web.app import create_app
from tests.fuzz.test_api_schema import OPERATIONS
from tests.lists.helpers import entries, new_list
from tests.matching.helpers import make_key

LIMIT = 60
MEMBER_PREFIXES = ("/api/v1/match", "/api/v1/lists", "/api/v1/webhooks", "/m/", "/c/")
PUBLIC = {"/api/v1/lists/keys"}  # no key, so no member's limit
PARAMETERS = {
    "name": "alpha",
    "version": "1",
    "file": "entries.jsonl",
    "span": "0-1",
    "entry": "1",
    "webhook": "1",
    "reference": "HL-0000-0000",
}
# A valid report, so the reporters' limit is counted (a bad body is refused before it).
BODIES = {"/api/v1/reports": {"url": "https://example.com/a-page"}}
# Required query parameters: without them FastAPI refuses the call before the key is read.
QUERIES = {"/api/v1/lists/{name}/delta": "?since=0"}
HEX_ID = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def api(settings: Settings, db: Database) -> Iterator[tuple[TestClient, str]]:
    app: FastAPI = create_app(settings, db)
    app.state.match_config = MatchConfig(refresh_seconds=0, rate_limit=LIMIT)

    def boom() -> None:
        raise RuntimeError("a deliberate crash")

    app.add_api_route("/api/v1/test-crash", boom)
    new_list(db, "alpha", entries(3))
    release.publish(db, release_root(settings), "alpha", settings.secret, "test")
    key = make_key(db, "example-platform", ["alpha"])
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, key


def _path(template: str) -> str:
    path = re.sub(r"\{(\w+)\}", lambda m: PARAMETERS.get(m.group(1), "1"), template)
    return path + QUERIES.get(template, "")


def _limits(headers: object) -> tuple[int, int, int]:
    values = [headers[f"ratelimit-{n}"] for n in ("limit", "remaining", "reset")]  # type: ignore[index]
    return int(values[0]), int(values[1]), int(values[2])


def test_every_operation_answers_with_a_request_id_and_its_limit(
    api: tuple[TestClient, str],
) -> None:
    client, key = api
    remaining = LIMIT
    for method, template in OPERATIONS:
        path = _path(template)
        own = f"trace-{method.lower()}-{len(path)}"
        body = {"json": BODIES.get(template, {})} if method in ("POST", "PUT") else {}
        answer = client.request(
            method,
            path,
            headers={"Authorization": f"Bearer {key}", "X-Request-ID": own},
            **body,
        )
        where = f"{method} {template} -> {answer.status_code}"
        assert answer.status_code < 500, where
        assert answer.headers["x-request-id"] == own, where
        member = template.startswith(MEMBER_PREFIXES) and template not in PUBLIC
        if member:
            limit, left, reset = _limits(answer.headers)
            assert limit == LIMIT and left == remaining - 1 and 1 <= reset <= 60, where
            remaining = left
        if template == "/api/v1/reports" and method == "POST":
            assert "ratelimit-limit" in answer.headers, where  # the reporters' own limit
        if template in PUBLIC:
            assert "ratelimit-limit" not in answer.headers, where


@pytest.mark.parametrize(
    "given",
    [None, "", "has spaces in it", "x" * 129, b"caf\xe9", "a\tb"],
)
def test_a_missing_or_odd_request_id_is_replaced(
    api: tuple[TestClient, str], given: str | bytes | None
) -> None:
    client, key = api
    headers: dict[str, str | bytes] = {"Authorization": f"Bearer {key}"}
    if given is not None:
        headers["X-Request-ID"] = given
    answer = client.get("/api/v1/lists", headers=headers)
    assert answer.status_code == 200
    assert HEX_ID.match(answer.headers["x-request-id"]), answer.headers["x-request-id"]
    again = client.get("/api/v1/lists", headers=headers)
    assert again.headers["x-request-id"] != answer.headers["x-request-id"]  # one per request


def test_errors_the_429_and_a_crash_carry_the_headers(api: tuple[TestClient, str]) -> None:
    client, key = api
    unknown = client.get("/api/v1/nothing-here")
    assert unknown.status_code == 404 and HEX_ID.match(unknown.headers["x-request-id"])
    no_key = client.get("/api/v1/lists")
    assert no_key.status_code == 401 and HEX_ID.match(no_key.headers["x-request-id"])
    assert "ratelimit-limit" not in no_key.headers  # no key: no member's limit was counted

    crash = client.get("/api/v1/test-crash", headers={"X-Request-ID": "crash-1"})
    assert crash.status_code == 500 and crash.headers["x-request-id"] == "crash-1"
    assert crash.json()["error"]["code"] == "internal_error"

    headers = {"Authorization": f"Bearer {key}"}
    seen = []
    for _ in range(LIMIT):
        answer = client.get("/api/v1/lists", headers=headers)
        assert answer.status_code == 200
        seen.append(_limits(answer.headers)[1])
    assert seen == list(range(LIMIT - 1, -1, -1))  # counts down to 0
    refused = client.get("/api/v1/lists", headers={**headers, "X-Request-ID": "over"})
    assert refused.status_code == 429
    limit, left, reset = _limits(refused.headers)
    assert (limit, left) == (LIMIT, 0)
    assert reset == int(refused.headers["retry-after"])
    assert refused.headers["x-request-id"] == "over"
    assert refused.json()["error"]["code"] == "rate_limited"

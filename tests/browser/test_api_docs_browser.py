"""A platform engineer opens the API docs, authorizes with a member key and calls the match
API from the page: Swagger UI from the package's own files, under the site's CSP, no CDN.
Real browser: Debian's chromium."""

from __future__ import annotations

import json

import pytest

from hotline.db.engine import Database
from hotline.hashing import hash_bytes
from tests.matching.helpers import BRIDGE, entry_for, make_key, make_list

pytestmark = pytest.mark.browser

ORIG = (BRIDGE / "aaa-orig.jpg").read_bytes()


def test_call_the_match_api_from_the_docs_page(live_server: str, page, db: Database) -> None:  # type: ignore[no-untyped-def]
    make_list(db, "alpha", [entry_for(ORIG, "A")])
    key = make_key(db, "platform", ["alpha"])
    pdq = hash_bytes(ORIG).pdq
    assert pdq is not None
    refused: list[str] = []  # CSP violations and requests that left this server
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on(
        "request",
        lambda r: None if r.url.startswith(live_server) else refused.append(r.url),
    )

    page.goto(f"{live_server}/api/docs")
    page.get_by_role("button", name="Authorize").first.click()
    member = page.locator(".auth-container").filter(has_text="memberKey")
    member.locator("input").fill(key)
    member.get_by_role("button", name="Apply credentials").click()
    member.get_by_role("button", name="Close").click()

    operation = page.locator("#operations-match-match_api_v1_match_post")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.locator("textarea.body-param__text").fill(json.dumps({"pdq": pdq.hex}))
    operation.get_by_role("button", name="Execute").click()

    answer = operation.locator(".live-responses-table tr.response .response-col_status").first
    answer.wait_for()
    assert answer.inner_text().strip().startswith("200")
    body = json.loads(operation.locator(".live-responses-table .microlight").first.inner_text())
    (match,) = body["results"][0]["matches"]
    assert (match["list"], match["category"], match["signal"]) == ("alpha", "A", "pdq")
    # The curl line Swagger UI shows carries the key as a bearer token.
    assert f"Bearer {key}" in operation.locator(".curl-command").inner_text()
    assert refused == []

"""The queue through the staff pages: claim, verdict, conflicts, permissions, audit."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.db.engine import Database
from hotline.security.tables import AuditRow
from tests.conftest import StaffFactory, csrf_from, sign_in


def test_claim_and_verdict_through_pages(
    client: TestClient,
    login_as,
    db: Database,  # type: ignore[no-untyped-def]
) -> None:
    reference = client.post("/api/v1/reports", json={"url": "https://example.com/p"}).json()[
        "reference"
    ]
    analyst = login_as(["analyst"])
    page = analyst.get("/staff/queue")
    assert "https://example.com/p" in page.text
    token = csrf_from(page.text)
    claimed = analyst.post(
        "/staff/queue/claim-next", data={"csrf_token": token}, follow_redirects=False
    )
    assert claimed.status_code == 303
    case_url = claimed.headers["location"]
    case = analyst.get(case_url)
    assert "Record verdict" in case.text
    bad = analyst.post(f"{case_url}/verdict", data={"csrf_token": token, "decision": "nope/x"})
    assert bad.status_code == 422 and "choose a verdict" in bad.text
    done = analyst.post(
        f"{case_url}/verdict",
        data={"csrf_token": token, "decision": "not_criminal/adult_content", "note": "adults only"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert client.get(f"/api/v1/reports/{reference}").json()["status"] == "no_action"
    with db.read() as session:
        actions = list(session.execute(select(AuditRow.action)).scalars())
    assert {"queue.view", "url.claim", "url.view", "url.verdict"} <= set(actions)


def test_second_analyst_gets_409(app, staff: StaffFactory) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as first, TestClient(app) as second:
        first.post("/api/v1/reports", json={"url": "https://example.com/q"})
        staff.login(first, ["analyst"])
        staff.login(second, ["analyst"])
        token1 = csrf_from(first.get("/staff/queue").text)
        location = first.post(
            "/staff/queue/claim-next", data={"csrf_token": token1}, follow_redirects=False
        ).headers["location"]
        token2 = csrf_from(second.get("/staff/queue").text)
        refused = second.post(f"{location}/claim", data={"csrf_token": token2})
        assert refused.status_code == 409
        assert "another analyst" in refused.text
        verdict = second.post(
            f"{location}/verdict",
            data={"csrf_token": token2, "decision": "criminal/indecent_images"},
        )
        assert verdict.status_code == 409


def test_takedown_officer_sees_but_cannot_assess(client: TestClient, staff: StaffFactory) -> None:
    client.post("/api/v1/reports", json={"url": "https://example.com/r"})
    username, password, secret = staff.create(["takedown_officer"])
    sign_in(client, username, password, secret)
    page = client.get("/staff/queue")
    assert page.status_code == 200
    refused = client.post("/staff/queue/claim-next", data={"csrf_token": csrf_from(page.text)})
    assert refused.status_code == 403


def test_unknown_case_is_404(login_as) -> None:  # type: ignore[no-untyped-def]
    assert login_as(["analyst"]).get("/staff/queue/999999").status_code == 404

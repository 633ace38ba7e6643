"""The staff review queue of members' feedback (`/staff/lists/feedback`): admins only, in
English and French, every view and decision audited, an upheld false positive withdrawn."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.db.engine import Database
from hotline.lists import feedback
from hotline.matching import store
from hotline.security.tables import AuditRow
from tests.conftest import csrf_from
from tests.lists.helpers import entries, ids, new_list
from tests.matching.helpers import make_key


@pytest.fixture
def pending(client: TestClient, db: Database) -> list[int]:
    """Two open feedbacks from a member: a false positive and a confirmation."""
    new_list(db, "alpha", entries(2))
    key = make_key(db, "example-platform", ["alpha"])
    first, second = ids(db, "alpha")
    found = []
    for entry, verdict in ((first, "false_positive"), (second, "confirmed")):
        answer = client.post(
            f"/api/v1/lists/alpha/entries/{entry}/feedback",
            json={"verdict": verdict, "note": "drawn test pattern"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert answer.status_code == 201
        found.append(answer.json()["id"])
    return found


def _audits(db: Database, action: str) -> list[AuditRow]:
    with db.read() as session:
        query = select(AuditRow).where(AuditRow.action == action).order_by(AuditRow.seq)
        return list(session.execute(query).scalars())


def test_admin_reviews_and_upholds_a_false_positive(
    login_as: Callable[[list[str]], TestClient], pending: list[int], db: Database
) -> None:
    client = login_as(["admin"])
    page = client.get("/staff/lists/feedback")
    assert page.status_code == 200
    assert "False positive" in page.text and "example-platform" in page.text
    assert "drawn test pattern" in page.text
    rows = re.findall(r'action="/staff/lists/feedback/(\d+)"', page.text)
    assert [int(r) for r in rows] == pending
    answer = client.post(
        f"/staff/lists/feedback/{pending[0]}",
        data={"decision": "uphold", "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert "Feedback upheld and the entry withdrawn." in client.get("/staff/lists/feedback").text
    with db.read() as session:
        info = store.get_list(session, "alpha")
    assert info.entries == 1  # withdrawn
    decided = _audits(db, "hash_list.feedback_decided")
    assert len(decided) == 1 and json.loads(decided[0].detail)["withdrawn"] == 1
    assert decided[0].actor.startswith("staff")  # the signed-in admin, not the member
    assert len(_audits(db, "hash_list.feedback_viewed")) == 2  # the queue, then the confirmation

    upheld = client.get("/staff/lists/feedback?state=upheld")
    assert "withdrawn" in upheld.text and decided[0].actor in upheld.text
    again = client.post(
        f"/staff/lists/feedback/{pending[0]}",
        data={"decision": "reject", "csrf_token": csrf_from(upheld.text)},
    )
    assert again.status_code == 409 and "already decided" in again.text
    unknown = client.post(
        "/staff/lists/feedback/99999",
        data={"decision": "reject", "csrf_token": csrf_from(upheld.text)},
    )
    assert unknown.status_code == 404
    odd = client.post(
        f"/staff/lists/feedback/{pending[1]}",
        data={"decision": "withdraw", "csrf_token": csrf_from(upheld.text)},
    )
    assert odd.status_code == 422
    assert feedback.STATES[0] == "open"
    with db.read() as session:
        assert store.get_list(session, "alpha").entries == 1  # nothing else changed


def test_the_page_speaks_french(
    login_as: Callable[[list[str]], TestClient], pending: list[int]
) -> None:
    client = login_as(["admin"])
    page = client.get("/staff/lists/feedback?lang=fr")
    assert "Retours des membres" in page.text and "Faux positif" in page.text
    assert "Retenir et retirer l’entrée" in page.text or "Retenir et retirer" in page.text


def test_only_list_managers_see_the_queue(
    login_as: Callable[[list[str]], TestClient], pending: list[int], db: Database
) -> None:
    client = login_as(["analyst"])
    assert client.get("/staff/lists/feedback").status_code == 403
    assert _audits(db, "hash_list.feedback_viewed") == []


def test_a_rejection_is_confirmed(
    login_as: Callable[[list[str]], TestClient], pending: list[int], db: Database
) -> None:
    client = login_as(["admin"])
    token = csrf_from(client.get("/staff/lists/feedback").text)
    for feedback_id, decision in ((pending[1], "uphold"), (pending[0], "reject")):
        answer = client.post(
            f"/staff/lists/feedback/{feedback_id}",
            data={"decision": decision, "csrf_token": token},
            follow_redirects=False,
        )
        assert answer.status_code == 303
        page = client.get("/staff/lists/feedback").text
        said = "Feedback upheld." if decision == "uphold" else "Feedback rejected."
        assert said in page and "entry withdrawn" not in page
    with db.read() as session:
        assert store.get_list(session, "alpha").entries == 2  # nothing withdrawn

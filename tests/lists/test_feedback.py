"""Members' feedback on list entries (issue 13.5): the API, the one-per-member rule, every bad
input in the one error shape, and the staff decision that withdraws an upheld false positive
so it leaves in the next delta."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import Conflict, Forbidden, InvalidInput, NotFound
from hotline.lists import feedback, release
from hotline.lists.api import release_root
from hotline.lists.feedback_tables import MemberFeedbackRow
from hotline.matching import store
from hotline.matching.tables import HashListEntryRow
from hotline.security.permissions import Actor, Role
from hotline.security.tables import AuditRow
from tests.lists.helpers import entries, ids, new_list
from tests.matching.conftest import assert_error_shape, bearer


@dataclass
class Setup:
    key: str  # may read alpha
    other: str  # another member's key, alpha too
    beta_only: str
    alpha: list[int]
    beta: list[int]


@pytest.fixture
def setup(db: Database, settings: Settings) -> Setup:
    new_list(db, "alpha", entries(3))
    new_list(db, "beta", entries(2, seed=7))
    with db.write() as session:
        store.create_member(session, "example-platform")
        store.create_member(session, "example-network")
        key, _ = store.create_key(session, "example-platform", ["alpha"])
        other, _ = store.create_key(session, "example-network", ["alpha", "beta"])
        beta_only, _ = store.create_key(session, "example-platform", ["beta"])
    return Setup(key.key, other.key, beta_only.key, ids(db, "alpha"), ids(db, "beta"))


def url(entry: int | str, name: str = "alpha") -> str:
    return f"/api/v1/lists/{name}/entries/{entry}/feedback"


def rows(db: Database) -> list[MemberFeedbackRow]:
    with db.read() as session:
        found = session.execute(select(MemberFeedbackRow).order_by(MemberFeedbackRow.id))
        return list(found.scalars())


def audit_actions(db: Database, prefix: str) -> list[AuditRow]:
    with db.read() as session:
        query = select(AuditRow).where(AuditRow.action.startswith(prefix)).order_by(AuditRow.seq)
        return list(session.execute(query).scalars())


ADMIN = Actor(1, "admin1", frozenset({Role.admin}), mfa_passed=True)


def test_feedback_is_stored_once_per_member_and_entry(
    client: TestClient, setup: Setup, db: Database
) -> None:
    entry = setup.alpha[0]
    first = client.post(url(entry), json={"verdict": "false_positive"}, headers=bearer(setup.key))
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["list"], body["entry"], body["verdict"], body["state"]) == (
        "alpha",
        entry,
        "false_positive",
        "open",
    )
    again = client.post(
        url(entry),
        json={"verdict": "confirmed", "note": "  seen again on our side  "},
        headers=bearer(setup.key),
    )
    assert again.status_code == 200  # replaced, not a second row
    assert again.json()["id"] == body["id"] and again.json()["note"] == "seen again on our side"
    other = client.post(url(entry), json={"verdict": "confirmed"}, headers=bearer(setup.other))
    assert other.status_code == 201 and other.json()["id"] != body["id"]
    stored = rows(db)
    assert [(r.verdict, r.state) for r in stored] == [("confirmed", "open"), ("confirmed", "open")]
    logged = audit_actions(db, "hash_list.feedback_")
    assert [r.action for r in logged] == [
        "hash_list.feedback_received",
        "hash_list.feedback_updated",
        "hash_list.feedback_received",
    ]
    assert logged[0].actor == "member:example-platform"
    detail = json.loads(logged[1].detail)
    assert detail["note_chars"] == len("seen again on our side") and "note" not in detail


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("no key", 401, "unauthorized"),
        ("list outside the key", 403, "forbidden"),
        ("unknown list", 403, "forbidden"),
        ("unknown entry", 404, "not_found"),
        ("entry of another list", 404, "not_found"),
        ("id not a number", 404, "not_found"),
        ("id past any column", 404, "not_found"),
        ("bad verdict", 422, "invalid_input"),
        ("no verdict", 422, "invalid_input"),
        ("note too long", 422, "invalid_input"),
        ("note not text", 422, "invalid_input"),
        ("unknown field", 422, "invalid_input"),
        ("not an object", 422, "invalid_input"),
        ("not JSON", 400, "malformed_json"),
        ("form body", 415, "unsupported_media_type"),
        ("too large", 413, "payload_too_large"),
    ],
)
def test_bad_feedback_is_refused_in_the_one_shape(
    client: TestClient, setup: Setup, db: Database, case: str, status: int, code: str
) -> None:
    entry = setup.alpha[0]
    good = {"verdict": "false_positive"}
    headers = bearer(setup.key)
    kwargs: dict = {"json": good}
    path = url(entry)
    if case == "no key":
        headers = {}
    elif case == "list outside the key":
        path = url(setup.beta[0], "beta")
    elif case == "unknown list":  # a key only ever names lists that exist: outside it
        path = url(1, "gamma")
    elif case == "unknown entry":
        path = url(max(setup.alpha + setup.beta) + 100)
    elif case == "entry of another list":
        path = url(setup.beta[0])  # alpha in the path, an entry of beta
    elif case == "id not a number":
        path = url("first")
    elif case == "id past any column":
        path = url(2**40)
    elif case == "bad verdict":
        kwargs = {"json": {"verdict": "maybe"}}
    elif case == "no verdict":
        kwargs = {"json": {"note": "no verdict"}}
    elif case == "note too long":
        kwargs = {"json": {**good, "note": "x" * (feedback.MAX_NOTE + 1)}}
    elif case == "note not text":
        kwargs = {"json": {**good, "note": ["a"]}}
    elif case == "unknown field":
        kwargs = {"json": {**good, "entry": 3}}
    elif case == "not an object":
        kwargs = {"json": ["false_positive"]}
    elif case == "not JSON":
        kwargs = {"content": b"{verdict", "headers": {"Content-Type": "application/json"}}
    elif case == "form body":
        kwargs = {"data": good}
    elif case == "too large":
        kwargs = {"json": {**good, "note": "x" * 20_000}}
    answer = client.post(path, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)
    assert answer.status_code == status, answer.text
    assert_error_shape(answer.json(), code)
    assert rows(db) == []  # nothing half-written
    assert audit_actions(db, "hash_list.feedback_") == []


def test_feedback_on_a_withdrawn_entry_is_a_conflict(
    client: TestClient, setup: Setup, db: Database
) -> None:
    with db.write() as session:
        store.withdraw_entries(session, "alpha", setup.alpha[:1], "found wrong")
    answer = client.post(
        url(setup.alpha[0]), json={"verdict": "confirmed"}, headers=bearer(setup.key)
    )
    assert answer.status_code == 409
    assert_error_shape(answer.json(), "conflict")
    assert "withdrawn" in answer.json()["error"]["message"]
    assert rows(db) == []


def _submit(client: TestClient, key: str, entry: int, verdict: str) -> int:
    answer = client.post(url(entry), json={"verdict": verdict}, headers=bearer(key))
    assert answer.status_code in (200, 201), answer.text
    return int(answer.json()["id"])


def test_upheld_false_positive_leaves_in_the_next_delta(
    client: TestClient, setup: Setup, db: Database, settings: Settings
) -> None:
    root = release_root(settings)
    release.publish(db, root, "alpha", settings.secret, "test")
    wrong, kept, confirmed = setup.alpha
    fp = _submit(client, setup.key, wrong, "false_positive")
    rejected = _submit(client, setup.key, kept, "false_positive")
    confirm = _submit(client, setup.other, confirmed, "confirmed")
    with db.write() as session:
        queue = feedback.open_queue(session, ADMIN)
    assert [f.id for f in queue] == [fp, rejected, confirm]  # oldest first
    assert {f.member for f in queue} == {"example-platform", "example-network"}

    with db.write() as session:
        upheld = feedback.decide(session, ADMIN, fp, "uphold")
        feedback.decide(session, ADMIN, rejected, "reject")
        feedback.decide(session, ADMIN, confirm, "uphold")
    assert upheld.state == "upheld" and upheld.entry_withdrawn
    with db.read() as session:
        live = {e.id for e in store.live_entries(session, store.get_list(session, "alpha").id)}
        version = store.get_list(session, "alpha").version
    assert live == {kept, confirmed}  # rejected and confirmed stay
    assert version == 2  # one new version: only the upheld false positive changed the list

    published = release.publish(db, root, "alpha", settings.secret, "test")
    delta = client.get("/api/v1/lists/alpha/delta?since=1", headers=bearer(setup.key)).json()
    assert (delta["since"], delta["version"], delta["withdrawals"]) == (1, 2, 1)
    assert published.manifest.withdrawals == 1
    lines = (published.path / "delta.jsonl").read_text().splitlines()
    withdrawn = [json.loads(line) for line in lines[1:]]
    assert [w.get("reason") for w in withdrawn] == [feedback.WITHDRAWAL_REASON]

    decided = audit_actions(db, "hash_list.feedback_decided")
    assert [json.loads(r.detail)["decision"] for r in decided] == ["uphold", "reject", "uphold"]
    assert [json.loads(r.detail)["withdrawn"] for r in decided] == [1, 0, 0]
    # A decided feedback is final: the member's repeat and a second decision are conflicts.
    repeat = client.post(url(kept), json={"verdict": "confirmed"}, headers=bearer(setup.key))
    assert repeat.status_code == 409
    assert_error_shape(repeat.json(), "conflict")
    with db.write() as session, pytest.raises(Conflict):
        feedback.decide(session, ADMIN, rejected, "uphold")


def test_review_needs_the_permission_and_a_known_decision(setup: Setup, db: Database) -> None:
    analyst = Actor(2, "analyst1", frozenset({Role.analyst}), mfa_passed=True)
    with db.write() as session, pytest.raises(Forbidden):
        feedback.open_queue(session, analyst)
    with db.write() as session, pytest.raises(Forbidden):
        feedback.decide(session, analyst, 1, "uphold")
    with db.write() as session, pytest.raises(InvalidInput):
        feedback.decide(session, ADMIN, 1, "withdraw")
    with db.write() as session, pytest.raises(NotFound):
        feedback.decide(session, ADMIN, 999, "uphold")
    with db.write() as session, pytest.raises(InvalidInput):
        feedback.open_queue(session, ADMIN, "closed")


def test_the_action_checks_the_scope_itself(setup: Setup, db: Database) -> None:
    """A caller that skipped the API's scope check is still refused by the action."""
    prefix = setup.beta_only.split("_")[1]
    with db.write() as session:
        key = store.find_key(session, prefix)
        assert key is not None
        with pytest.raises(Forbidden):
            feedback.submit(session, key, "alpha", setup.alpha[0], "confirmed", None)
    with db.read() as session:
        withdrawn = session.execute(
            select(HashListEntryRow.id).where(HashListEntryRow.withdrawn_at.is_not(None))
        ).all()
    assert withdrawn == [] and rows(db) == []

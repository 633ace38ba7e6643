"""assess.actions called directly, as a CLI, an API or a job would: each checks the one
permission itself, validates, writes and audits in one transaction, and a refusal leaves
nothing behind."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from hotline.assess import actions, queue
from hotline.db.engine import Database
from hotline.errors import Forbidden, InvalidInput
from hotline.intake.reports import UrlStatus
from hotline.security import users
from hotline.security.permissions import Actor, Role
from hotline.security.tables import AuditRow
from tests.queue.test_queue_domain import report

LEASE = timedelta(minutes=30)


@pytest.fixture
def ana(db: Database) -> Actor:
    with db.write() as session:
        user = users.create_user(session, "ana", "a long enough password", ["analyst"])
    return user.actor(mfa_passed=True)


def _entries(db: Database) -> list[tuple[str, str, str, dict[str, object]]]:
    with db.read() as session:
        rows = session.execute(
            select(AuditRow.actor, AuditRow.action, AuditRow.object_id, AuditRow.detail).order_by(
                AuditRow.seq
            )
        ).all()
    return [(r.actor, r.action, r.object_id, json.loads(r.detail)) for r in rows]


def test_a_claim_and_a_verdict_write_their_own_entries(db: Database, ana: Actor) -> None:
    url_id, _ = report(db, "https://example.com/direct")
    with db.write() as session:
        ben = users.create_user(session, "ben", "a long enough password", ["analyst"])
    with db.write() as session:
        assert actions.claim_next(session, ana, LEASE) == url_id
        # Nothing else is free: no claim, so no entry.
        assert actions.claim_next(session, ben.actor(mfa_passed=True), LEASE) is None
    with db.write() as session:
        status = actions.record_verdict(
            session, ana, url_id, "not_criminal", "adult_content", note="  adults  "
        )
    assert status is UrlStatus.no_action
    assert _entries(db) == [
        ("ana", "url.claim", str(url_id), {}),
        (
            "ana",
            "url.verdict",
            str(url_id),
            {
                "verdict": "not_criminal",
                "reason": "adult_content",
                "duplicate_of": None,
                "status": "no_action",
                "site_type": None,
                "hosting": None,
            },
        ),
    ]
    with db.read() as session:
        assert queue.get_case(session, url_id).verdict_note == "adults"


def test_a_bad_verdict_records_nothing_and_the_claim_is_let_go(db: Database, ana: Actor) -> None:
    url_id, _ = report(db, "https://example.com/bad-verdict")
    with db.write() as session:
        actions.claim(session, ana, url_id, LEASE)
    with pytest.raises(InvalidInput) as bad, db.write() as session:
        actions.record_verdict(
            session, ana, url_id, "duplicate", "same_content_as_other_url", note="x" * 2001
        )
    assert sorted(f.field for f in bad.value.fields) == ["duplicate_of", "note"]
    assert [action for _a, action, _o, _d in _entries(db)] == ["url.claim"]
    with db.read() as session:
        assert queue.get_case(session, url_id).verdict is None
    with db.write() as session:
        actions.release(session, ana, url_id)
    assert _entries(db)[-1] == ("ana", "url.release", str(url_id), {})
    with db.read() as session:
        assert queue.get_case(session, url_id).entry.status is UrlStatus.received


def test_views_are_audited_and_the_refused_form_reload_is_not(db: Database, ana: Actor) -> None:
    url_id, _ = report(db, "https://example.com/viewed")
    with db.write() as session:
        shown = actions.open_queue(session, ana, page_size=10, count_limit=100)
        case = actions.open_case(session, ana, url_id)
        again = actions.case_view(session, ana, url_id)  # beside a refused form
    assert [e.url_id for e in shown.page.entries] == [url_id] and shown.total == 1
    assert case.case.entry.url_id == url_id and not case.mine and again == case
    assert _entries(db) == [
        ("ana", "queue.view", "assessment", {"after": None, "before": None, "shown": 1}),
        ("ana", "url.view", str(url_id), {}),
    ]
    with pytest.raises(InvalidInput), db.write() as session:  # a forged page link
        actions.open_queue(session, ana, after="not-a-place")


NO_ROLE = Actor(99, "nobody", frozenset({Role.content_editor}), mfa_passed=True)
NO_2FA = Actor(98, "half-signed-in", frozenset({Role.analyst}), mfa_passed=False)
OFFICER = Actor(97, "officer", frozenset({Role.takedown_officer}), mfa_passed=True)

Call = Callable[..., object]
# (what, who is refused it): an officer may look at the queue but never assess.
REFUSED: list[tuple[str, Call, Actor]] = [
    ("open_queue", lambda s, a, u: actions.open_queue(s, a), NO_ROLE),
    ("open_case", lambda s, a, u: actions.open_case(s, a, u), NO_ROLE),
    ("case_view", lambda s, a, u: actions.case_view(s, a, u), NO_2FA),
    ("claim", lambda s, a, u: actions.claim(s, a, u, LEASE), OFFICER),
    ("claim_next", lambda s, a, u: actions.claim_next(s, a, LEASE), OFFICER),
    ("release", lambda s, a, u: actions.release(s, a, u), OFFICER),
    (
        "record_verdict",
        lambda s, a, u: actions.record_verdict(s, a, u, "criminal", "indecent_images"),
        OFFICER,
    ),
]


@pytest.mark.parametrize(("name", "call", "actor"), REFUSED, ids=[r[0] for r in REFUSED])
def test_each_action_checks_permission_itself(
    db: Database, ana: Actor, name: str, call: Call, actor: Actor
) -> None:
    url_id, _ = report(db, f"https://example.com/refused/{name}")
    if name in ("release", "record_verdict"):
        with db.write() as session:
            actions.claim(session, ana, url_id, LEASE)
    before = _entries(db)
    with pytest.raises(Forbidden), db.write() as session:
        call(session, actor, url_id)
    assert _entries(db) == before
    with db.read() as session:
        case = queue.get_case(session, url_id)
    assert case.verdict is None
    assert case.entry.claimed_by == ("ana" if name in ("release", "record_verdict") else None)

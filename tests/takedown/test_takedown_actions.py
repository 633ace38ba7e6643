"""takedown.actions called directly, as a CLI, an API or a job would: each checks the one
permission itself, validates every field, writes and audits in one transaction, and a
refusal leaves nothing behind."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import Conflict, Forbidden, InvalidInput
from hotline.security import users
from hotline.security.permissions import Actor, Role
from hotline.security.tables import AuditRow
from hotline.takedown import actions, cases
from tests.takedown.cases_support import add_provider, case_row, criminal_url, set_case

URL = "https://files.example.org/gallery/actions"


@pytest.fixture
def officer(db: Database) -> Actor:
    with db.write() as session:
        user = users.create_user(session, "olga", "a long enough password", ["takedown_officer"])
    return user.actor(mfa_passed=True)


@pytest.fixture
def case_id(db: Database, settings: Settings) -> int:
    with db.write() as session:
        found = cases.propose(session, criminal_url(db, URL), settings)
    assert found is not None
    set_case(db, found, first_reported_at=utcnow() - timedelta(hours=2))
    return found


def _entries(db: Database, actor: str) -> list[tuple[str, str, dict[str, object]]]:
    with db.read() as session:
        rows = session.execute(
            select(AuditRow.action, AuditRow.object_id, AuditRow.detail)
            .where(AuditRow.actor == actor)
            .order_by(AuditRow.seq)
        ).all()
    return [(r.action, r.object_id, json.loads(r.detail)) for r in rows]


def test_a_removal_by_hand_is_recorded_with_its_note(
    db: Database, officer: Actor, case_id: int
) -> None:
    at = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=5)
    with db.write() as session:
        actions.record_removal(
            session, officer, case_id, at=at.strftime("%Y-%m-%d %H:%M"), note=" by phone "
        )
    assert case_row(db, case_id).removed_at == at
    assert [(a, o) for a, o, _d in _entries(db, "olga")] == [
        ("takedown.removal_recorded", str(case_id)),
        ("takedown.removal_note", str(case_id)),
    ]
    assert _entries(db, "olga")[1][2] == {"note": "by phone"}
    with pytest.raises(Conflict), db.write() as session:
        actions.record_removal(session, officer, case_id, at="", note="")
    assert len(_entries(db, "olga")) == 2


def test_a_bad_removal_lists_every_field_and_records_nothing(
    db: Database, officer: Actor, case_id: int
) -> None:
    with pytest.raises(InvalidInput) as bad, db.write() as session:
        actions.record_removal(session, officer, case_id, at="yesterday", note="x" * 1001)
    assert sorted(f.field for f in bad.value.fields) == ["at", "note"]
    with pytest.raises(InvalidInput), db.write() as session:  # the domain's guard, too
        actions.record_removal(session, officer, case_id, at="2001-01-01 00:00", note="")
    assert case_row(db, case_id).removed_at is None and _entries(db, "olga") == []


def test_views_are_audited_and_the_refused_form_reload_is_not(
    db: Database, settings: Settings, officer: Actor, case_id: int
) -> None:
    provider = add_provider(db, settings)
    with db.write() as session:
        listed = actions.open_cases(session, officer, cases.CaseTab.proposed, page=1)
        shown = actions.open_case(session, officer, case_id)
        assert actions.case_page(session, officer, case_id) == shown  # beside a refused form
        assert [e.provider.id for e in actions.open_providers(session, officer)] == [provider.id]
        assert actions.open_provider(session, officer, provider.id).provider == provider
        assert actions.open_provider_deletion(session, officer, provider.id) == (provider, 0)
        actions.open_provider_form(session, officer, "new")
        actions.open_provider_form(session, officer, "import")
    assert [c.id for c in listed.items] == [case_id] and listed.counts[cases.CaseTab.proposed] == 1
    assert shown.view.case.id == case_id and shown.providers == [provider]
    pid = str(provider.id)
    assert _entries(db, "olga") == [
        ("takedown.cases_viewed", "proposed", {"page": 1, "shown": 1}),
        ("takedown.case_viewed", str(case_id), {}),
        ("hosting_provider.viewed", "*", {"page": "list"}),
        ("hosting_provider.viewed", pid, {"page": "edit"}),
        ("hosting_provider.viewed", pid, {"page": "delete"}),
        ("hosting_provider.viewed", "new", {"page": "new"}),
        ("hosting_provider.viewed", "*", {"page": "import"}),
    ]


ANALYST = Actor(99, "ana", frozenset({Role.analyst}), mfa_passed=True)
Call = Callable[..., object]
REFUSED: list[tuple[str, Call]] = [
    ("open_cases", lambda s, a, c: actions.open_cases(s, a, cases.CaseTab.proposed)),
    ("open_case", lambda s, a, c: actions.open_case(s, a, c)),
    ("case_page", lambda s, a, c: actions.case_page(s, a, c)),
    ("record_removal", lambda s, a, c: actions.record_removal(s, a, c, at="", note="")),
    ("open_providers", lambda s, a, c: actions.open_providers(s, a)),
    ("open_provider", lambda s, a, c: actions.open_provider(s, a, 1)),
    ("open_provider_deletion", lambda s, a, c: actions.open_provider_deletion(s, a, 1)),
    ("open_provider_form", lambda s, a, c: actions.open_provider_form(s, a, "new")),
]


@pytest.mark.parametrize(("name", "call"), REFUSED, ids=[r[0] for r in REFUSED])
def test_each_action_checks_permission_itself(
    db: Database, settings: Settings, case_id: int, name: str, call: Call
) -> None:
    add_provider(db, settings)
    with pytest.raises(Forbidden), db.write() as session:
        call(session, ANALYST, case_id)
    assert case_row(db, case_id).removed_at is None and _entries(db, "ana") == []

"""grading.actions: an independent grade and a senior's resolution, each with its permission
check, validation, decision, `grade.verified` event and audit entry in one transaction."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from hotline.db.engine import Database
from hotline.errors import Conflict, Forbidden, InvalidInput, NotFound
from hotline.grading import actions, service
from hotline.grading.consensus import Outcome
from hotline.jobs.events import EVENT_JOB
from hotline.jobs.tables import JobRow
from hotline.security import users
from hotline.security.permissions import Actor
from hotline.security.tables import AuditRow
from tests.grading.test_grading_store import add

GRADE = {"category": "B", "age_band": "7-10"}


@pytest.fixture
def people(db: Database) -> dict[str, Actor]:
    with db.write() as session:
        return {
            name: users.create_user(session, name, "a long enough password", [role]).actor(
                mfa_passed=True
            )
            for name, role in [
                ("ana", "analyst"),
                ("ben", "analyst"),
                ("sam", "senior_analyst"),
                ("ada", "admin"),
            ]
        }


def _entries(db: Database, action: str) -> list[tuple[str, str, dict[str, object]]]:
    with db.read() as session:
        rows = session.execute(
            select(AuditRow.actor, AuditRow.object_id, AuditRow.detail)
            .where(AuditRow.action == action)
            .order_by(AuditRow.seq)
        ).all()
    return [(r.actor, r.object_id, json.loads(r.detail)) for r in rows]


def _verified_events(db: Database) -> list[dict[str, object]]:
    with db.read() as session:
        payloads = session.execute(
            select(JobRow.payload).where(JobRow.kind == EVENT_JOB).order_by(JobRow.id)
        ).scalars()
        return [p["data"] for p in map(json.loads, payloads) if p["event"] == "grade.verified"]


def _grade(db: Database, actor: Actor, media_id: int, fields: dict[str, object]) -> Outcome:
    with db.write() as session:
        return actions.submit_grade(
            session, actor, media_id, fields, required=2, qa_share=0
        ).outcome


def test_agreement_audits_each_grade_and_records_the_event_once(
    db: Database, people: dict[str, Actor]
) -> None:
    item = add(db, 1)
    assert _grade(db, people["ana"], item, GRADE) is Outcome.waiting
    assert _verified_events(db) == []
    assert _grade(db, people["ben"], item, GRADE) is Outcome.agreed
    assert _entries(db, "media.grade") == [
        ("ana", str(item), {"category": "B", "outcome": "waiting"}),
        ("ben", str(item), {"category": "B", "outcome": "agreed"}),
    ]
    assert _verified_events(db) == [{"media_id": item, "category": "B"}]


def test_refusals_leave_no_grade_entry_or_event(db: Database, people: dict[str, Actor]) -> None:
    item = add(db, 2)
    with pytest.raises(Forbidden):  # an admin does not grade without a grading role
        _grade(db, people["ada"], item, GRADE)
    with pytest.raises(InvalidInput) as bad:
        _grade(db, people["ana"], item, {"category": "A"})  # no age band
    assert [f.field for f in bad.value.fields] == ["age_band"]
    with pytest.raises(NotFound):
        _grade(db, people["ana"], 999_999, GRADE)
    _grade(db, people["ana"], item, GRADE)
    with pytest.raises(Conflict):
        _grade(db, people["ana"], item, GRADE)
    assert len(_entries(db, "media.grade")) == 1
    with db.read() as session:
        assert not service.has_graded(session, item, people["ada"].id)
    assert _verified_events(db) == []


def test_a_senior_resolves_a_disagreement(db: Database, people: dict[str, Actor]) -> None:
    item = add(db, 3)
    _grade(db, people["ana"], item, {"category": "A", "age_band": "7-10"})
    assert _grade(db, people["ben"], item, {"category": "C", "age_band": "7-10"}) is (
        Outcome.disagreement
    )
    assert _verified_events(db) == []
    with pytest.raises(Forbidden), db.write() as session:  # an analyst is no senior
        actions.resolve(session, people["ana"], item, GRADE)
    with pytest.raises(InvalidInput), db.write() as session:
        actions.resolve(session, people["sam"], item, {"category": "wrong"})
    with db.write() as session:
        actions.resolve(session, people["sam"], item, GRADE)
    assert _entries(db, "media.resolve") == [("sam", str(item), {"category": "B"})]
    assert _verified_events(db) == [{"media_id": item, "category": "B"}]
    with pytest.raises(Conflict), db.write() as session:  # resolved already
        actions.resolve(session, people["sam"], item, GRADE)
    assert len(_entries(db, "media.resolve")) == 1


def test_wellbeing_settings_are_audited_actions(db: Database, people: dict[str, Actor]) -> None:
    from hotline.grading import wellbeing

    ana = people["ana"]
    with db.write() as session:
        actions.take_break(session, ana)
        assert actions.set_blur(session, ana, "20") == 20
    with pytest.raises(InvalidInput), db.write() as session:
        actions.set_blur(session, ana, "0")  # blur is never switched off
    with pytest.raises(Forbidden), db.write() as session:
        actions.take_break(session, Actor(ana.id, ana.username, ana.roles, mfa_passed=False))
    assert _entries(db, "wellbeing.break") == [("ana", str(ana.id), {})]
    assert _entries(db, "wellbeing.blur") == [("ana", str(ana.id), {"blur_strength": 20})]
    with db.read() as session:
        assert wellbeing.blur_strength(session, ana.id, default=12) == 20

"""security.audit_actions.open_audit_log called directly, as a CLI or an API would: it checks
`audit.view` itself, audits the visit before reading (so the page shows its own entry) and
moves the verified point on after an intact walk."""

from __future__ import annotations

import pytest

from hotline.db.engine import Database
from hotline.errors import Forbidden
from hotline.security import audit, audit_actions
from hotline.security.permissions import Actor, Role

SENIOR = Actor(5, "sam", frozenset({Role.senior_analyst}), mfa_passed=True)


def test_the_view_is_audited_first_and_the_walk_moves_on(db: Database) -> None:
    with db.write() as session:
        for i in range(4):
            audit.record(session, "ana", "report.view", "report", f"R{i}", {})
    first = audit_actions.open_audit_log(db, SENIOR, None, page_size=3, walk_limit=100)
    newest = first.entries[0]
    assert (newest.action, newest.actor) == ("audit.view", "sam")
    assert first.result.ok and first.older == first.entries[-1].seq
    with db.read() as session:
        verified = audit.last_verified(session)
    assert verified is not None and verified[0] == first.result.last_seq
    rest = audit_actions.open_audit_log(db, SENIOR, first.older, page_size=3, walk_limit=100)
    assert [e.seq for e in rest.entries] == list(range(first.entries[-1].seq - 1, 0, -1))
    assert rest.older is None  # the oldest page
    with db.read() as session:
        views = [e.detail for e in audit.recent(session, 10) if e.action == "audit.view"]
    assert views == [{"before": first.older}, {"before": None}]


@pytest.mark.parametrize(
    "actor",
    [
        Actor(6, "ana", frozenset({Role.analyst}), mfa_passed=True),
        Actor(5, "sam", frozenset({Role.senior_analyst}), mfa_passed=False),
    ],
    ids=["analyst", "no-2fa"],
)
def test_it_checks_permission_itself(db: Database, actor: Actor) -> None:
    with pytest.raises(Forbidden):
        audit_actions.open_audit_log(db, actor, None, page_size=10, walk_limit=10)
    with db.read() as session:
        assert audit.recent(session, 10) == [] and audit.last_verified(session) is None

"""The staff home's counts for today: each role sees the counts of its own work (through the
one permission check), with the right figures, and a capped count shows as "N+"."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from hotline.assess import queue
from hotline.db.engine import Database
from hotline.intake import reports
from hotline.security import users
from hotline.security.permissions import Actor, Role
from hotline.stats import today
from tests.conftest import StaffFactory

Login = Callable[[list[str]], TestClient]


def _report(db: Database, url: str) -> int:
    with db.write() as session:
        reports.submit(session, reports.validate({"url": url}), reports.Source.api, None)
    with db.read() as session:
        found = {e.url: e.url_id for e in queue.waiting(session, limit=100)}
    return found[reports.validate({"url": url}).url]


def _counts(html: str) -> dict[str, str]:
    block = html.split('<dl class="counts">')[1].split("</dl>")[0]
    pairs = {}
    for part in block.split("<div><dt>")[1:]:
        label = part.split('">')[1].split("</a>")[0]
        pairs[label] = part.split("<dd>")[1].split("</dd>")[0]
    return pairs


def test_an_analyst_sees_the_queue_and_their_claims(
    client: TestClient, staff: StaffFactory, db: Database
) -> None:
    first = _report(db, "https://example.com/one")
    second = _report(db, "https://example.org/two")
    other, _, _ = staff.create(["analyst"])
    staff.login(client, ["analyst"])
    counts = _counts(client.get("/staff").text)
    assert counts["Reports waiting"] == "2" and counts["Claimed by me"] == "0"
    assert counts["Images to grade"] == "0" and counts["My viewing time today (minutes)"] == "0"
    assert "Disagreements" not in counts and "Flagged notices" not in counts
    with db.write() as session:
        someone_else = users.get_user(session, other)
        queue.claim(session, second, someone_else.id)
    assert _counts(client.get("/staff").text)["Claimed by me"] == "0"  # not mine
    with db.write() as session:
        me = next(
            u
            for u in users.list_users(session)
            if Role.analyst in u.roles and u.id != someone_else.id
        )
        queue.claim(session, first, me.id)
    assert _counts(client.get("/staff").text)["Claimed by me"] == "1"


def test_each_role_sees_its_own_counts(login_as: Login, client: TestClient) -> None:
    counts = _counts(login_as(["takedown_officer"]).get("/staff").text)
    assert set(counts) == {"Reports waiting", "Takedown cases needing action", "Flagged notices"}
    client.cookies.clear()
    counts = _counts(login_as(["senior_analyst"]).get("/staff").text)
    assert "Disagreements" in counts and "Takedown cases needing action" not in counts
    client.cookies.clear()
    assert '<dl class="counts">' not in login_as(["content_editor"]).get("/staff").text


def test_a_long_backlog_is_capped(db: Database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(today, "CAP", 2)
    for n in range(3):
        _report(db, f"https://example.net/{n}")
    analyst = Actor(99, "nobody", frozenset({Role.analyst}), mfa_passed=True)
    with db.read() as session:
        found = {c.label: c for c in today.counts_for(session, analyst)}
    assert found["Claimed by me"].shown == "0"
    assert found["Reports waiting"].value == 2 and found["Reports waiting"].shown == "2+"

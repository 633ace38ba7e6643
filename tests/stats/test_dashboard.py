"""The managers' dashboard: totals over a date range, checked against a small fixed data set
on both databases; bad or reversed ranges refused; audited; no analyst named."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.grading.tables import MediaViewRow
from hotline.security.permissions import Actor
from hotline.security.tables import AuditRow, UserRow
from hotline.stats import actions
from tests.stats.published_data import add_url


def _iso(days_ago: float) -> str:
    return (utcnow() - timedelta(days=days_ago)).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def work(db: Database) -> None:
    with db.write() as session:
        # Waiting: 2 hours and 10 days old. Assessed: 5 hours after a report 3 days ago, and
        # 25 hours after one 2 days ago.
        add_url(
            session, "https://example.com/w1", "example.com", reports=[(_iso(2 / 24), "public")]
        )
        add_url(session, "https://example.com/w2", "example.com", reports=[(_iso(10), "public")])
        add_url(session, "https://example.org/a1", "example.org", reports=[(_iso(3), "public")],
                verdict="criminal", verdict_at=_iso(3 - 5 / 24),
                case=("GB", _iso(3), None))  # fmt: skip
        add_url(session, "https://example.org/a2", "example.org", reports=[(_iso(2), "public")],
                verdict="not_criminal", verdict_at=_iso(2 - 25 / 24))  # fmt: skip
        user = session.execute(select(UserRow.id)).first()
        assert user is None  # the views below need an account
    with db.write() as session:
        from hotline.security import users

        ana = users.create_user(session, "zqxuser", "a long enough password", ["analyst"])
        session.add(MediaViewRow(user_id=ana.id, media_id=None, kind="reveal", seconds=1800,
                                 at=utcnow() - timedelta(days=1)))  # fmt: skip
        # A break is not viewing.
        session.add(MediaViewRow(user_id=ana.id, media_id=None, kind="break", seconds=900,
                                 at=utcnow() - timedelta(days=1)))  # fmt: skip


def test_the_figures_match_the_data(db: Database, work: None) -> None:
    found = actions.view_dashboard(db, Actor.operator(), None, None, cap_minutes=120)
    assert found.by == "day"
    assert sum(n for _p, n, _a in found.flow) == 4 and sum(a for *_x, a in found.flow) == 2
    assert found.backlog == {"under_1d": 1, "1_to_3d": 0, "3_to_7d": 0, "7_to_30d": 1,
                             "over_30d": 0}  # fmt: skip
    assert found.oldest_hours is not None and 239 < found.oldest_hours < 241
    assert (found.verdicts, found.verdict_median_h, found.verdict_p90_h) == (2, 15.0, 25.0)
    assert found.cases_open["3_to_7d"] == 1
    assert (found.viewing_hours, found.cap_hours) == (0.5, 2.0)
    with db.read() as session:
        detail = session.execute(
            select(AuditRow.object_id).where(AuditRow.action == "stats.view")
        ).scalar_one()
    assert detail == "dashboard"


@pytest.mark.parametrize(
    ("query", "field"),
    [("from=2026-03-01&to=2026-02-01", "from"), ("from=yesterday", "from"),
     ("to=2026-13-01", "to"), ("from=2010-01-01&to=2026-01-01", "to")],
)  # fmt: skip
def test_bad_ranges_are_refused(login_as, query: str, field: str) -> None:  # type: ignore[no-untyped-def]
    officer = login_as(["takedown_officer"])
    page = officer.get(f"/staff/stats/dashboard?{query}")
    assert page.status_code == 422 and field in page.text


def test_the_page_in_both_languages(login_as, db: Database, work: None) -> None:  # type: ignore[no-untyped-def]
    officer = login_as(["takedown_officer"])
    english = officer.get("/staff/stats/dashboard")
    assert english.status_code == 200
    assert "Managers&#39; dashboard" in english.text or "Managers' dashboard" in english.text
    assert 'role="img"' in english.text and "zqxuser" not in english.text
    french = officer.get("/staff/stats/dashboard?lang=fr")
    assert "Tableau de bord des responsables" in french.text
    # Hours with the reader's decimal separator.
    assert 'data-figure="verdict-median">15.0<' in english.text
    assert 'data-figure="viewing">0.5 / 4.0<' in english.text
    assert 'data-figure="verdict-median">15,0<' in french.text
    assert 'data-figure="viewing">0,5 / 4,0<' in french.text


def test_no_login_no_dashboard(client: TestClient) -> None:
    assert client.get("/staff/stats/dashboard", follow_redirects=False).status_code == 303

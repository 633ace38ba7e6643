"""Takedown cases searched (/staff/takedown/search): by address, domain, host, case and report
reference; by list, category and country; sorted; pages by key; CSV (formula-safe, audited);
bad parameters; only takedown officers. Both databases (the `db` fixture)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hotline.db.engine import Database
from hotline.intake import actions as intake_actions
from hotline.intake import reports
from hotline.intake.tables import ReportRow
from hotline.security.tables import AuditRow
from hotline.takedown.tables import TakedownCaseRow

T0 = datetime(2026, 2, 1, tzinfo=UTC)
CASES = [  # url, state, category, country, flagged
    ("https://example.com/a", "proposed", "A", "GB", False),
    ("https://shop.example.com/b", "notified", "B", "FR", False),
    ("https://example.org/=cmd", "removed", "C", "GB", True),
    ("https://example.net/d", "escalated", "A", None, False),
]


def _seed(db: Database) -> dict[str, tuple[str, str]]:
    """url -> (case reference, report reference)."""
    out: dict[str, tuple[str, str]] = {}
    with db.write() as session:
        for i, (url, state, category, country, flagged) in enumerate(CASES):
            submitted = intake_actions.receive_report(
                session, reports.validate({"url": url}), reports.Source.web
            )
            url_id = session.execute(
                select(ReportRow.url_id).where(ReportRow.reference == submitted.reference)
            ).scalar_one()
            reference = f"TD-CASE000{i}"
            session.add(
                TakedownCaseRow(
                    url_id=url_id,
                    reference=reference,
                    state=state,
                    host_name="Example Hosting",
                    country=country,
                    category=category,
                    first_reported_at=T0 + timedelta(days=i),
                    proposed_at=T0 + timedelta(days=10 - i),
                    reminders_sent=0,
                    checks=0,
                    unreachable_streak=0,
                    flagged=flagged,
                )
            )
            out[url] = (reference, submitted.reference)
    return out


def _refs(html: str) -> list[str]:
    return [p.split("<")[0] for p in html.split('<td><a href="/staff/takedown/')[1:]]


def _case_refs(html: str) -> list[str]:
    return [r.split(">", 1)[1] for r in _refs(html)]


def test_search_filter_sort_and_pages(db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    seeded = _seed(db)
    officer = login_as(["takedown_officer"])
    get = lambda **p: _case_refs(officer.get("/staff/takedown/search", params=p).text)  # noqa: E731
    assert get() == ["TD-CASE0003", "TD-CASE0002", "TD-CASE0001", "TD-CASE0000"]
    assert get(q="HTTPS://Example.com/a") == ["TD-CASE0000"]
    assert get(q="example.com") == ["TD-CASE0001", "TD-CASE0000"]  # the domain: every host
    assert get(q="shop.example.com") == ["TD-CASE0001"]  # a host: that host
    assert get(q="td-case0002") == ["TD-CASE0002"]
    assert get(q=seeded["https://example.net/d"][1]) == ["TD-CASE0003"]  # the public reference
    assert get(tab="flagged") == ["TD-CASE0002"]
    assert get(tab="notified") == ["TD-CASE0001"]
    assert get(category="A") == ["TD-CASE0003", "TD-CASE0000"]
    assert get(country="gb") == ["TD-CASE0002", "TD-CASE0000"]
    assert get(sort="proposed", dir="asc") == [
        "TD-CASE0003",
        "TD-CASE0002",
        "TD-CASE0001",
        "TD-CASE0000",
    ]
    assert get(sort="reference", dir="asc") == sorted(get())
    seen: list[str] = []
    page = officer.get("/staff/takedown/search", params={"size": "3", "dir": "asc"})
    seen += _case_refs(page.text)
    href = page.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    page = officer.get("/staff/takedown/search" + href.replace("&amp;", "&"))
    seen += _case_refs(page.text)
    assert seen == ["TD-CASE0000", "TD-CASE0001", "TD-CASE0002", "TD-CASE0003"]
    assert 'rel="next"' not in page.text


def test_csv_formula_safe_and_audited(db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    _seed(db)
    officer = login_as(["takedown_officer"])
    response = officer.get("/staff/takedown/search.csv", params={"country": "GB", "dir": "asc"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:3] == ["reference", "url", "state"]
    assert [r[0] for r in rows[1:]] == ["TD-CASE0000", "TD-CASE0002"]
    assert rows[2][1] == "https://example.org/=cmd"  # not a formula: starts with h
    with db.read() as session:
        actions = set(session.execute(select(AuditRow.action)).scalars())
    assert "takedown.cases_exported" in actions


@pytest.mark.parametrize(
    "params,field",
    [
        ({"q": "not a search"}, "q"),
        ({"tab": "lost"}, "tab"),
        ({"category": "D"}, "category"),
        ({"country": "G1"}, "country"),
        ({"sort": "url"}, "sort"),
        ({"after": "bm9wZQ"}, "after"),
    ],
)
def test_bad_parameters(params, field, login_as) -> None:  # type: ignore[no-untyped-def]
    officer = login_as(["takedown_officer"])
    page = officer.get("/staff/takedown/search", params=params)
    assert page.status_code == 422 and f"<li>{field}:" in page.text
    assert officer.get("/staff/takedown/search.csv", params=params).status_code == 422


def test_only_takedown_officers(login_as) -> None:  # type: ignore[no-untyped-def]
    analyst = login_as(["analyst"])
    assert analyst.get("/staff/takedown/search").status_code == 403
    assert analyst.get("/staff/takedown/search.csv").status_code == 403

"""The time-to-removal page and its CSV exports through the in-process client, with cases
written straight into the tables: figures, charts, escaping, audit, bad filters, permissions."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.db.engine import Database
from hotline.security.tables import AuditRow
from tests.stats.helpers import add_case, at

RANGE = "from=2024-01-01&to=2024-03-31"
SCRIPT_HOST = "<script>alert(1)</script>.example"
FORMULA_HOST = '=HYPERLINK("http://evil.example","x")'
Login = Callable[[list[str]], TestClient]


@pytest.fixture
def cases(db: Database) -> dict[str, int]:
    return {
        # 12 h from report, 10 h from notice
        "a": add_case(
            db,
            "TD-A",
            reported=at("2024-01-01 00:00"),
            notice=at("2024-01-01 02:00"),
            removed=at("2024-01-01 12:00"),
            host=SCRIPT_HOST,
        ),
        # 36 h, 30 h
        "b": add_case(
            db,
            "TD-B",
            reported=at("2024-01-02 00:00"),
            notice=at("2024-01-02 06:00"),
            removed=at("2024-01-03 12:00"),
            host=FORMULA_HOST,
            country="NL",
            url='http://site.example/b,"quoted"',
        ),
        # notified, still open long after: against the share, not in medians
        "c": add_case(
            db, "TD-C", reported=at("2024-02-01 00:00"), notice=at("2024-02-01 01:00"), category="C"
        ),
        # outside the range
        "d": add_case(db, "TD-D", reported=at("2024-04-01 00:00"), removed=at("2024-04-01 01:00")),
    }


def audit_rows(db: Database, action: str) -> list[AuditRow]:
    with db.read() as session:
        return list(
            session.execute(
                select(AuditRow).where(AuditRow.action == action).order_by(AuditRow.seq)
            ).scalars()
        )


def figure(html: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}">(.*?)</dd>', html, re.S)
    assert match, name
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def test_page_shows_figures_charts_and_tables(
    login_as: Login, db: Database, cases: dict[str, int]
) -> None:
    client = login_as(["takedown_officer"])
    response = client.get(f"/staff/stats/removal?{RANGE}")
    assert response.status_code == 200
    html = response.text
    assert figure(html, "count") == "3"
    assert figure(html, "removed") == "2"
    assert figure(html, "open") == "1"
    assert figure(html, "median-report") == "24.0"  # (12 + 36) / 2
    assert figure(html, "p90-report") == "36.0"
    assert figure(html, "median-notice") == "20.0"
    assert figure(html, "p90-notice") == "30.0"
    assert figure(html, "share-24h") == "33% (1 of 3)"
    # Three charts inline, each an image with a name and a description.
    svgs = re.findall(r"<svg [^>]*>", html)
    assert len(svgs) == 3
    for tag in svgs:
        assert 'role="img"' in tag and 'aria-label="' in tag and "aria-describedby" in tag
    assert 'aria-label="Hours to removal by host"' in html
    # The hostile host name is data: escaped on the chart and in the table, never markup.
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.example" in html
    for heading in ("By host", "By country", "By category", "By month of first report"):
        assert f"<h2>{heading}</h2>" in html
    assert '<th scope="row">2024-01</th>' in html and '<th scope="row">2024-02</th>' in html
    assert "2024-04" not in html  # case d is outside the range
    assert 'href="/static/stats.css"' in html
    assert 'value="2024-01-01"' in html and 'value="2024-03-31"' in html
    [entry] = audit_rows(db, "stats.view")
    assert json.loads(entry.detail) == {"from": "2024-01-01", "to": "2024-03-31", "urls": 3}
    assert entry.object_type == "stats" and entry.object_id == "removal"
    # French figures: a decimal comma, a no-break space before the percent sign.
    french = client.get(f"/staff/stats/removal?{RANGE}&lang=fr").text
    assert figure(french, "median-report") == "24,0" and figure(french, "p90-notice") == "30,0"
    assert figure(french, "share-24h") == "33\u00a0% (1 sur 3)"


def test_page_with_no_cases_and_default_range(login_as: Login) -> None:
    client = login_as(["admin"])
    response = client.get("/staff/stats/removal")
    assert response.status_code == 200
    assert figure(response.text, "count") == "0"
    assert figure(response.text, "median-report") == "—"
    assert response.text.count('role="img"') == 3  # empty charts still say so, as images


def test_new_case_shows_with_the_default_range(login_as: Login, db: Database) -> None:
    from hotline.db.base import utcnow

    now = utcnow()
    add_case(db, "TD-NOW", reported=now, notice=now, removed=now)
    client = login_as(["takedown_officer"])
    html = client.get("/staff/stats/removal").text
    assert figure(html, "count") == "1" and figure(html, "removed") == "1"
    assert figure(html, "share-24h") == "100% (1 of 1)"


def test_url_csv(login_as: Login, db: Database, cases: dict[str, int]) -> None:
    client = login_as(["takedown_officer"])
    response = client.get(f"/staff/stats/removal.csv?{RANGE}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        response.headers["content-disposition"]
        == 'attachment; filename="time-to-removal_2024-01-01_2024-03-31.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["case_reference"] for r in rows] == ["TD-A", "TD-B", "TD-C"]
    a, b, c = rows
    assert a["host"] == SCRIPT_HOST  # CSV is not HTML: the name as it is
    assert (a["hours_report_to_removal"], a["hours_notice_to_removal"]) == ("12.00", "10.00")
    assert b["url"] == 'http://site.example/b,"quoted"'
    assert b["host"] == "'" + FORMULA_HOST  # never a live formula in a spreadsheet
    assert b["country"] == "NL"
    assert c["removed_at"] == "" and c["hours_report_to_removal"] == ""
    assert c["first_notice_at"] == "2024-02-01T01:00:00Z"
    [entry] = audit_rows(db, "stats.export")
    detail = json.loads(entry.detail)
    assert detail == {"from": "2024-01-01", "to": "2024-03-31", "file": "removal.csv", "rows": 3}


def test_groups_csv(login_as: Login, db: Database, cases: dict[str, int]) -> None:
    client = login_as(["admin"])
    response = client.get(f"/staff/stats/removal-groups.csv?{RANGE}")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["group_by"] for r in rows} == {"all", "host", "country", "category", "month"}
    overall = next(r for r in rows if r["group_by"] == "all")
    assert (overall["urls"], overall["removed"], overall["notified"]) == ("3", "2", "3")
    assert overall["median_hours_report_to_removal"] == "24.00"
    assert overall["share_removed_within_24h_of_notice"] == "0.3333"
    hosts = {r["group"] for r in rows if r["group_by"] == "host"}
    assert hosts == {SCRIPT_HOST, "'" + FORMULA_HOST, "host-one.example"}
    only_months = client.get(f"/staff/stats/removal-groups.csv?{RANGE}&by=month")
    months = list(csv.DictReader(io.StringIO(only_months.text)))
    assert [(r["group"], r["urls"]) for r in months] == [("2024-01", "2"), ("2024-02", "1")]
    assert len(audit_rows(db, "stats.export")) == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2024-02-30", "from"),
        ("from=01/02/2024", "from"),
        ("to=soon", "to"),
        ("from=2024-03-01&to=2024-02-01", "from"),
        ("from=2018-01-01&to=2024-01-01", "to"),
    ],
)
@pytest.mark.parametrize(
    "path", ["/staff/stats/removal", "/staff/stats/removal.csv", "/staff/stats/removal-groups.csv"]
)
def test_bad_filters_give_the_error_page(
    login_as: Login, db: Database, query: str, field: str, path: str
) -> None:
    client = login_as(["takedown_officer"])
    response = client.get(f"{path}?{query}")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "the date range has problems" in response.text
    assert f"<li>{field}: " in response.text
    assert audit_rows(db, "stats.view") == [] and audit_rows(db, "stats.export") == []


def test_bad_grouping(login_as: Login, db: Database) -> None:
    client = login_as(["takedown_officer"])
    response = client.get("/staff/stats/removal-groups.csv?by=colour")
    assert response.status_code == 422
    assert "<li>by: use one of: all, host, country, category, month</li>" in response.text
    assert audit_rows(db, "stats.export") == []


@pytest.mark.parametrize(
    "path", ["/staff/stats/removal", "/staff/stats/removal.csv", "/staff/stats/removal-groups.csv"]
)
def test_roles_without_stats_view_are_refused(
    login_as: Login, db: Database, cases: dict[str, int], path: str
) -> None:
    client = login_as(["analyst", "content_editor"])
    response = client.get(f"{path}?{RANGE}")
    assert response.status_code == 403
    assert "TD-A" not in response.text
    assert audit_rows(db, "stats.view") == [] and audit_rows(db, "stats.export") == []


def test_signed_out_is_sent_to_sign_in(client: TestClient) -> None:
    response = client.get("/staff/stats/removal.csv", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/login")

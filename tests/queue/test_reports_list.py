"""The staff reports list (/staff/reports): search by URL, domain, host or reference; filters;
sort; pages by key; CSV export (formula-safe, audited); bad parameters; permissions. Both
databases (the `db` fixture)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hotline.assess import reports_list
from hotline.db.engine import Database
from hotline.errors import InvalidInput
from hotline.intake import actions as intake_actions
from hotline.intake import reports
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.security.tables import AuditRow
from hotline.web import listing

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _seed(db: Database) -> dict[str, str]:
    """Five reports, one a day from T0: url -> reference."""
    specs = [
        ("https://example.com/a", reports.Source.web, "GB"),
        ("https://www.example.com/b?utm_source=x", reports.Source.api, "FR"),
        ("https://shop.example.org/c", reports.Source.web, None),
        ("https://example.net/=HYPERLINK(1)", reports.Source.api, "GB"),
        ("https://example.net/e", reports.Source.web, "DE"),
    ]
    refs: dict[str, str] = {}
    with db.write() as session:
        for i, (url, source, country) in enumerate(specs):
            report = reports.validate({"url": url, "country": country} if country else {"url": url})
            submitted = intake_actions.receive_report(session, report, source)
            refs[url] = submitted.reference
            session.execute(
                update(ReportRow)
                .where(ReportRow.reference == submitted.reference)
                .values(created_at=T0 + timedelta(days=i))
            )
    return refs


def _refs(html: str) -> list[str]:
    return [part.split('"')[0] for part in html.split('data-reference="')[1:]]


def test_search_by_url_domain_host_and_reference(db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    refs = _seed(db)
    analyst = login_as(["analyst"])
    # A URL, typed differently from how it was reported: normalised as intake does.
    page = analyst.get("/staff/reports", params={"q": "HTTPS://WWW.Example.com/b"})
    assert page.status_code == 200
    assert _refs(page.text) == [refs["https://www.example.com/b?utm_source=x"]]
    # A domain finds every host under it; a host finds that host only.
    page = analyst.get("/staff/reports", params={"q": "example.com"})
    assert sorted(_refs(page.text)) == sorted(
        [refs["https://example.com/a"], refs["https://www.example.com/b?utm_source=x"]]
    )
    page = analyst.get("/staff/reports", params={"q": "shop.example.org"})
    assert _refs(page.text) == [refs["https://shop.example.org/c"]]
    # A reference, however it was typed.
    ref = refs["https://example.net/e"]
    page = analyst.get("/staff/reports", params={"q": f" {ref.lower()} "})
    assert _refs(page.text) == [ref]
    page = analyst.get("/staff/reports", params={"q": "example.info"})
    assert _refs(page.text) == [] and 'id="no-reports"' in page.text


def test_what_a_search_means() -> None:
    key = reports_list.search_key
    # A reference as printed is one even with no digit (about 1 in 90 references);
    # undashed, it needs a digit, or a twelve-letter word would never reach the name search.
    assert key("ABCD-EFGH-JKMN") == ("reference", "ABCD-EFGH-JKMN")
    assert key("abcd-efgh-jkmn") == ("reference", "ABCD-EFGH-JKMN")
    assert key("abcd1fghjkmn") == ("reference", "ABCD-1FGH-JKMN")
    with pytest.raises(InvalidInput):
        key("abcdefghjkmn")
    assert key("www.Example.com") == ("domain", "example.com")
    assert key("shop.example.com") == ("host", "shop.example.com")


def test_filters_sort_and_pages(db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    refs = _seed(db)
    ordered = list(refs.values())  # received T0 .. T0+4 days
    analyst = login_as(["analyst"])
    # Default: newest first.
    assert _refs(analyst.get("/staff/reports").text) == ordered[::-1]
    # Oldest first.
    page = analyst.get("/staff/reports", params={"sort": "received", "dir": "asc"})
    assert _refs(page.text) == ordered
    # By reference.
    page = analyst.get("/staff/reports", params={"sort": "reference", "dir": "asc"})
    assert _refs(page.text) == sorted(ordered)
    # Filters.
    page = analyst.get("/staff/reports", params={"source": "api"})
    assert _refs(page.text) == [ordered[3], ordered[1]]
    page = analyst.get("/staff/reports", params={"country": "gb"})
    assert _refs(page.text) == [ordered[3], ordered[0]]
    page = analyst.get("/staff/reports", params={"from": "2026-03-02", "to": "2026-03-03"})
    assert _refs(page.text) == [ordered[2], ordered[1]]
    page = analyst.get("/staff/reports", params={"status": "actioned"})
    assert _refs(page.text) == []
    # Pages of two, by key, in both sort orders: every report once, in order.
    for params, expected in (
        ({"sort": "received", "dir": "desc"}, ordered[::-1]),
        ({"sort": "reference", "dir": "asc"}, sorted(ordered)),
    ):
        seen: list[str] = []
        url, query = "/staff/reports", {**params, "size": "2"}  # type: ignore[assignment]
        for _ in range(5):
            page = analyst.get(url, params=query)
            seen += _refs(page.text)
            if 'rel="next"' not in page.text:
                break
            href = page.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
            url, query = "/staff/reports" + href.replace("&amp;", "&"), None
        assert seen == expected


def test_csv_export_is_what_the_filter_shows_and_formula_safe(db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    refs = _seed(db)
    analyst = login_as(["analyst"])
    response = analyst.get(
        "/staff/reports/export.csv", params={"q": "example.net", "sort": "received", "dir": "asc"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:3] == ["reference", "received_at", "url"]
    assert [r[0] for r in rows[1:]] == [
        refs["https://example.net/=HYPERLINK(1)"],
        refs["https://example.net/e"],
    ]
    with db.read() as session:
        actions = list(session.execute(select(AuditRow.action, AuditRow.actor)).all())
    assert any(a == "report.export" for a, _ in actions)
    assert any(a == "report.list" for a, _ in actions) is False  # an export is not a page view


def test_safe_cell_and_csv_lines() -> None:
    assert listing.safe_cell("=SUM(A1)") == "'=SUM(A1)"
    for start in ("+", "-", "@", "\t", "\r"):
        assert listing.safe_cell(start + "x") == "'" + start + "x"
    assert listing.safe_cell("https://example.com/=x") == "https://example.com/=x"
    text = "".join(listing.csv_lines(["a", "b"], [["=1+1", None], ["x,y", 3]]))
    assert list(csv.reader(io.StringIO(text))) == [["a", "b"], ["'=1+1", ""], ["x,y", "3"]]


@pytest.mark.parametrize(
    "params,field",
    [
        ({"q": "not a search"}, "q"),
        ({"q": "http://127.0.0.1/x"}, "q"),
        ({"q": "x" * 400}, "q"),
        ({"status": "lost"}, "status"),
        ({"country": "GBR"}, "country"),
        ({"country": "1X"}, "country"),
        ({"from": "2026-13-01"}, "from"),
        ({"sort": "normalized_url; drop table reports"}, "sort"),
        ({"dir": "sideways"}, "dir"),
        ({"size": "100000"}, "size"),
        ({"size": "two"}, "size"),
        ({"after": "!!!"}, "after"),
        ({"after": "WyJ4IiwxXQ"}, "after"),  # ["x",1]: text where a time belongs
    ],
)
def test_bad_parameters_keep_what_was_typed(params, field, db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    analyst = login_as(["analyst"])
    page = analyst.get("/staff/reports", params=params)
    assert page.status_code == 422
    assert 'role="alert"' in page.text and f"<li>{field}:" in page.text
    if "q" in params and len(params["q"]) < 300:
        assert 'value="' + params["q"].replace('"', "&#34;") + '"' in page.text
    export = analyst.get("/staff/reports/export.csv", params=params)
    assert export.status_code == 422
    assert export.headers["content-type"].startswith("text/html")  # the error page, no CSV


def test_parse_listing_refuses_each_bad_field() -> None:
    from hotline.assess.reports_list import SPEC

    with pytest.raises(InvalidInput) as caught:
        listing.parse_listing({"sort": "x", "dir": "y", "size": "0"}, SPEC)
    assert {f.field for f in caught.value.fields} == {"sort", "dir", "size"}
    query = listing.parse_listing({"sort": "received", "dir": "asc"}, SPEC)
    token = listing.cursor_token(SPEC, query, T0, 7)
    again = listing.parse_listing({"sort": "received", "after": token}, SPEC)
    assert again.after == (T0, 7)


def test_roles_without_queue_view_are_refused(client: TestClient, staff) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/staff/reports", follow_redirects=False).status_code in (303, 401)
    staff.login(client, ["content_editor"])
    assert client.get("/staff/reports").status_code == 403
    assert client.get("/staff/reports/export.csv").status_code == 403


def test_page_view_is_audited(db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    _seed(db)
    login_as(["takedown_officer"]).get("/staff/reports", params={"q": "example.com"})
    with db.read() as session:
        rows = session.execute(select(AuditRow).where(AuditRow.action == "report.list")).scalars()
        details = [r.detail for r in rows]
    assert details and "example.com" in str(details[-1])


def test_domain_column_is_what_the_host_search_reads(db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    refs = _seed(db)
    with db.read() as session:
        domains = set(session.execute(select(ReportedUrlRow.domain)).scalars())
    assert "example.com" in domains
    page = login_as(["analyst"]).get("/staff/reports", params={"q": "www.example.com"})
    # www. is dropped: the site's domain, every host under it.
    assert len(_refs(page.text)) == 2 and refs["https://example.com/a"] in _refs(page.text)

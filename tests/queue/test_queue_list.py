"""The queue page's search over addresses in any state (/staff/queue with a search or a
filter): search, filters (status, priority, claim holder, source, country, dates), sorts,
pages by key, CSV (formula-safe, audited), bad parameters, permissions, and the flash
confirmations of claim, release and verdict. Both databases (the `db` fixture)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hotline.db.engine import Database
from hotline.intake import actions as intake_actions
from hotline.intake import reports
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.security.tables import AuditRow, UserRow
from tests.conftest import csrf_from

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
URLS = [
    "https://example.com/a",
    "https://www.example.com/b",
    "https://shop.example.org/c",
    "https://example.net/=HYPERLINK(1)",
    "https://example.net/e",
]


def _seed(db: Database) -> tuple[list[int], list[str]]:
    """Five addresses, one a day from T0 (ids and references in that order). The second is
    actioned, the third has priority 2 and three reports, the fourth came by the API from FR."""
    ids, refs = [], []
    with db.write() as session:
        for i, url in enumerate(URLS):
            fields = {"url": url, "country": "FR"} if i == 3 else {"url": url}
            source = reports.Source.api if i == 3 else reports.Source.web
            submitted = intake_actions.receive_report(session, reports.validate(fields), source)
            refs.append(submitted.reference)
            url_id = session.execute(
                select(ReportRow.url_id).where(ReportRow.reference == submitted.reference)
            ).scalar_one()
            ids.append(url_id)
            session.execute(
                update(ReportedUrlRow)
                .where(ReportedUrlRow.id == url_id)
                .values(first_reported_at=T0 + timedelta(days=i))
            )
        session.execute(
            update(ReportedUrlRow).where(ReportedUrlRow.id == ids[1]).values(status="actioned")
        )
        session.execute(
            update(ReportedUrlRow)
            .where(ReportedUrlRow.id == ids[2])
            .values(priority=2, report_count=3)
        )
    return ids, refs


def _ids(html: str) -> list[int]:
    table = html.split('id="addresses"', 1)[1] if 'id="addresses"' in html else ""
    return [int(part.split('"')[0]) for part in table.split('data-url-id="')[1:]]


def _claim(db: Database, url_id: int, username: str) -> None:
    with db.write() as session:
        user_id = session.execute(
            select(UserRow.id).where(UserRow.username == username)
        ).scalar_one()
        session.execute(
            update(ReportedUrlRow)
            .where(ReportedUrlRow.id == url_id)
            .values(claimed_by=user_id, claim_expires_at=datetime.now(UTC) + timedelta(hours=1))
        )


def test_search_and_filters(db: Database, client: TestClient, staff) -> None:  # type: ignore[no-untyped-def]
    ids, refs = _seed(db)
    username, _, _ = staff.create(["analyst"], "colleague")
    _claim(db, ids[4], username)
    analyst = staff.login(client, ["analyst"])

    def shown(**params: str) -> list[int]:
        page = analyst.get("/staff/queue", params=params)
        assert page.status_code == 200, page.text
        return _ids(page.text)

    # An empty search lists every address, any state, newest first.
    assert shown(q="") == ids[::-1]
    assert shown(q="https://WWW.example.com/b") == [ids[1]]
    assert shown(q="example.com") == [ids[1], ids[0]]
    assert shown(q="shop.example.org") == [ids[2]]
    assert shown(q=refs[3].replace("-", "").lower()) == [ids[3]]
    assert shown(status="actioned") == [ids[1]]
    assert shown(status="open") == [ids[4], ids[3], ids[2], ids[0]]
    assert shown(priority="2") == [ids[2]]
    assert shown(source="api") == [ids[3]]
    assert shown(country="fr") == [ids[3]]
    assert shown(**{"from": "2026-03-02", "to": "2026-03-03"}) == [ids[2], ids[1]]
    assert shown(assignee="colleague") == [ids[4]]
    assert shown(assignee="me") == []
    assert shown(assignee="unassigned") == ids[3::-1]
    # An expired claim is nobody's.
    with db.write() as session:
        session.execute(
            update(ReportedUrlRow)
            .where(ReportedUrlRow.id == ids[4])
            .values(claim_expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    assert shown(assignee="colleague") == []
    assert shown(assignee="unassigned") == ids[::-1]


def test_sorts_and_pages_by_key(db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    ids, _ = _seed(db)
    analyst = login_as(["analyst"])
    for params, expected in (
        ({"sort": "first_reported", "dir": "asc"}, ids),
        ({"sort": "first_reported", "dir": "desc"}, ids[::-1]),
        ({"sort": "priority", "dir": "desc"}, [ids[2], ids[4], ids[3], ids[1], ids[0]]),
        ({"sort": "reports", "dir": "asc"}, [ids[0], ids[1], ids[3], ids[4], ids[2]]),
    ):
        seen: list[int] = []
        url: str = "/staff/queue"
        query: dict[str, str] | None = {**params, "size": "2"}
        for _ in range(5):
            page = analyst.get(url, params=query)
            assert page.status_code == 200
            seen += _ids(page.text)
            if 'rel="next"' not in page.text:
                break
            href = page.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
            url, query = "/staff/queue" + href.replace("&amp;", "&"), None
        assert seen == expected, params


def test_a_page_link_with_only_its_place_continues_the_list(db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    ids, _ = _seed(db)
    analyst = login_as(["analyst"])
    first = analyst.get("/staff/queue", params={"size": "2"}).text
    href = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    after = dict(p.split("=", 1) for p in href.lstrip("?").split("&amp;"))["after"]
    page = analyst.get("/staff/queue", params={"after": after})
    assert page.status_code == 200 and 'id="addresses"' in page.text
    assert _ids(page.text) == ids[::-1][2:]  # the default order, from the third


def test_waiting_list_unchanged_without_a_search(db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    ids, _ = _seed(db)
    page = login_as(["analyst"]).get("/staff/queue")
    assert 'id="waiting-count"' in page.text and "4 " in page.text
    assert 'id="addresses"' not in page.text
    # Queue order: priority first, then the oldest; the actioned address is not waiting.
    rows = [int(p.split('"')[0]) for p in page.text.split('data-url-id="')[1:]]
    assert rows == [ids[2], ids[0], ids[3], ids[4]]


def test_csv_is_what_the_filter_shows_formula_safe_and_audited(db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    ids, _ = _seed(db)
    analyst = login_as(["analyst"])
    response = analyst.get(
        "/staff/queue/export.csv", params={"q": "example.net", "sort": "first_reported"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:4] == ["id", "url", "host", "status"]
    assert [int(r[0]) for r in rows[1:]] == [ids[4], ids[3]]
    formula = next(r for r in rows[1:] if int(r[0]) == ids[3])
    assert formula[1] == "https://example.net/=HYPERLINK(1)"  # "=" not first: as it is
    with db.write() as session:
        session.execute(
            update(ReportedUrlRow).where(ReportedUrlRow.id == ids[3]).values(host="=cmd|x")
        )
    rows = list(
        csv.reader(io.StringIO(analyst.get("/staff/queue/export.csv", params={"q": ""}).text))
    )
    assert "'=cmd|x" in [r[2] for r in rows[1:]]
    with db.read() as session:
        audited = session.execute(
            select(AuditRow.action, AuditRow.detail).where(AuditRow.action == "queue.export")
        ).all()
    assert len(audited) == 2 and "example.net" in str(audited[0][1])


@pytest.mark.parametrize(
    "params,field",
    [
        ({"q": "not a search"}, "q"),
        ({"q": "x" * 400}, "q"),
        ({"status": "lost"}, "status"),
        ({"priority": "high"}, "priority"),
        ({"assignee": "nobody-by-that-name"}, "assignee"),
        ({"country": "GBR"}, "country"),
        ({"from": "2026-02-30"}, "from"),
        ({"sort": "normalized_url"}, "sort"),
        ({"dir": "up"}, "dir"),
        ({"size": "0"}, "size"),
        ({"sort": "priority", "after": "WyJ4IiwxXQ"}, "after"),  # ["x",1]: text for a number
    ],
)
def test_bad_parameters_keep_what_was_typed(params, field, db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    _seed(db)
    analyst = login_as(["analyst"])
    page = analyst.get("/staff/queue", params=params)
    assert page.status_code == 422
    assert 'role="alert"' in page.text and f"<li>{field}:" in page.text
    assert 'id="addresses"' not in page.text
    if "q" in params and len(params["q"]) < 300:
        assert f'value="{params["q"]}"' in page.text
    if "assignee" in params:
        assert f'value="{params["assignee"]}"' in page.text
    export = analyst.get("/staff/queue/export.csv", params=params)
    assert export.status_code == 422 and export.headers["content-type"].startswith("text/html")
    with db.read() as session:
        assert not session.execute(
            select(AuditRow.action).where(AuditRow.action.in_(["queue.list", "queue.export"]))
        ).first()


def test_search_is_audited_and_needs_queue_view(db: Database, client: TestClient, staff) -> None:  # type: ignore[no-untyped-def]
    _seed(db)
    officer = staff.login(client, ["takedown_officer"])
    assert officer.get("/staff/queue", params={"q": "example.org"}).status_code == 200
    with db.read() as session:
        details = session.execute(
            select(AuditRow.detail).where(AuditRow.action == "queue.list")
        ).scalars()
        assert "example.org" in str(list(details))
    staff.login(client, ["content_editor"])
    assert client.get("/staff/queue", params={"q": ""}).status_code == 403
    assert client.get("/staff/queue/export.csv").status_code == 403


def test_claim_release_and_verdict_confirm_with_a_flash(db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    ids, _ = _seed(db)
    analyst = login_as(["analyst"])
    token = csrf_from(analyst.get("/staff/queue").text)
    claimed = analyst.post(f"/staff/queue/{ids[0]}/claim", data={"csrf_token": token})
    assert claimed.status_code == 200 and "The address is yours" in claimed.text
    assert "The address is yours" not in analyst.get(f"/staff/queue/{ids[0]}").text  # once
    released = analyst.post(f"/staff/queue/{ids[0]}/release", data={"csrf_token": token})
    assert "Claim released." in released.text
    analyst.post(f"/staff/queue/{ids[0]}/claim", data={"csrf_token": token})
    done = analyst.post(
        f"/staff/queue/{ids[0]}/verdict",
        data={"csrf_token": token, "decision": "not_criminal/adult_content"},
    )
    assert done.status_code == 200 and "Verdict recorded." in done.text

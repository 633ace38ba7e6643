"""The audit log searched (/staff/audit/entries): by who or which object, action, object
type and day; pages by key; CSV (formula-safe, itself audited); bad parameters; permissions.
Both databases (the `db` fixture)."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.db.engine import Database
from hotline.security import audit
from hotline.security.tables import AuditRow


def _seed(db: Database) -> None:
    with db.write() as session:
        for i in range(7):
            audit.record(session, "alice", "url.view", "reported_url", str(i))
        audit.record(session, "bob", "url.verdict", "reported_url", "3", {"note": "=1+2"})
        audit.record(session, "=cmd|' /C calc'!A0", "url.view", "reported_url", "9")


def _seqs(html: str) -> list[int]:
    return [int(part.split('"')[0]) for part in html.split('data-seq="')[1:]]


def test_search_filters_and_pages(db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    _seed(db)
    admin = login_as(["admin"])
    page = admin.get("/staff/audit/entries", params={"q": "alice"})
    assert page.status_code == 200
    assert len(_seqs(page.text)) == 7 and _seqs(page.text) == sorted(_seqs(page.text))[::-1]
    page = admin.get("/staff/audit/entries", params={"q": "3"})  # an object's id
    with db.read() as session:
        expected = session.execute(
            select(AuditRow.seq).where(AuditRow.object_id == "3").order_by(AuditRow.seq.desc())
        ).scalars()
        assert _seqs(page.text) == list(expected)
    page = admin.get("/staff/audit/entries", params={"action": "url.verdict"})
    assert len(_seqs(page.text)) == 1
    page = admin.get("/staff/audit/entries", params={"q": "alice", "size": "3", "dir": "asc"})
    seen = _seqs(page.text)
    while 'rel="next"' in page.text:
        href = page.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
        page = admin.get("/staff/audit/entries" + href.replace("&amp;", "&"))
        seen += _seqs(page.text)
    assert len(seen) == 7 and seen == sorted(seen)
    # A day with nothing in it.
    page = admin.get("/staff/audit/entries", params={"from": "2001-01-01", "to": "2001-01-02"})
    assert _seqs(page.text) == []


def test_csv_is_formula_safe_and_audited(db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    _seed(db)
    admin = login_as(["admin"])
    response = admin.get(
        "/staff/audit/entries.csv", params={"action": "url.view", "q": "=cmd|' /C calc'!A0"}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["seq", "at", "actor", "action", "object_type", "object_id", "detail"]
    assert len(rows) == 2 and rows[1][2] == "'=cmd|' /C calc'!A0"
    with db.read() as session:
        actions = set(session.execute(select(AuditRow.action)).scalars())
    assert {"audit.export"} <= actions
    with db.read() as session:
        assert audit.verify(session).ok  # searching and exporting leave the chain intact


@pytest.mark.parametrize(
    "params,field",
    [
        ({"from": "yesterday"}, "from"),
        ({"dir": "up"}, "dir"),
        ({"sort": "actor"}, "sort"),
        ({"after": "e30"}, "after"),
        ({"size": "501"}, "size"),
        ({"action": "x" * 65}, "action"),
    ],
)
def test_bad_parameters(params, field, login_as) -> None:  # type: ignore[no-untyped-def]
    admin = login_as(["admin"])
    page = admin.get("/staff/audit/entries", params=params)
    assert page.status_code == 422 and f"<li>{field}:" in page.text
    assert admin.get("/staff/audit/entries.csv", params=params).status_code == 422


def test_only_audit_readers(client: TestClient, staff) -> None:  # type: ignore[no-untyped-def]
    staff.login(client, ["analyst"])
    assert client.get("/staff/audit/entries").status_code == 403
    assert client.get("/staff/audit/entries.csv").status_code == 403

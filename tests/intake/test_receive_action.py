"""intake.actions.receive_report: the one path by which a report is stored and audited, for
the form, the API and the demo alike, in the caller's transaction."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hotline.db.engine import Database
from hotline.intake import actions, reports
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.security import audit
from hotline.security.crypto import sealer_for
from hotline.security.tables import AuditRow
from tests.conftest import TEST_SECRET, csrf_from


def _received(db: Database) -> list[tuple[str, str, dict[str, object]]]:
    with db.read() as session:
        rows = session.execute(
            select(AuditRow.actor, AuditRow.object_id, AuditRow.detail)
            .where(AuditRow.action == "report.received")
            .order_by(AuditRow.seq)
        ).all()
    return [(r.actor, r.object_id, json.loads(r.detail)) for r in rows]


def _count(db: Database) -> int:
    with db.read() as session:
        return session.execute(select(func.count()).select_from(ReportRow)).scalar_one()


def test_stores_and_audits_in_one_transaction(db: Database) -> None:
    report = reports.validate({"url": "https://example.com/a", "email": "me@example.org"})
    sealer = sealer_for(TEST_SECRET.encode(), "reporter-email")
    with db.write() as session:
        first = actions.receive_report(session, report, reports.Source.web, email_sealer=sealer)
        again = actions.receive_report(session, report, reports.Source.api)
    assert (first.status, again.status) == (
        reports.PublicStatus.received,
        reports.PublicStatus.duplicate,
    )
    assert _received(db) == [
        (audit.SYSTEM, first.reference, {"source": "web", "origin": "public", "duplicate": False}),
        (audit.SYSTEM, again.reference, {"source": "api", "origin": "public", "duplicate": True}),
    ]
    with db.read() as session:
        emails = dict(session.execute(select(ReportRow.reference, ReportRow.email_encrypted)).all())
    assert emails[first.reference] is not None and emails[again.reference] is None


def test_a_batch_is_stored_and_audited_as_one_report_at_a_time_would_be(db: Database) -> None:
    """receive_reports (a crawl's batch): a few statements, one audit append; a URL twice in
    the batch, or reported before, is a duplicate; entries in the reports' order."""
    a, b, c = (reports.validate({"url": f"https://example.com/{p}"}) for p in "abc")
    with db.write() as session:
        earlier = actions.receive_report(session, c, reports.Source.web)
    with db.write() as session:
        batch = actions.receive_reports(
            session, [a, b, a, c, a], reports.Source.api, origin=reports.Origin.proactive
        )
    assert [s.status for s in batch] == [
        reports.PublicStatus.received,
        reports.PublicStatus.received,
        reports.PublicStatus.duplicate,
        reports.PublicStatus.duplicate,
        reports.PublicStatus.duplicate,
    ]
    assert batch[0].url_id == batch[2].url_id == batch[4].url_id != batch[1].url_id
    assert batch[3].url_id == earlier.url_id
    assert len({s.reference for s in batch}) == 5
    assert _received(db)[1:] == [
        (audit.SYSTEM, s.reference, {"source": "api", "origin": "proactive", "duplicate": d})
        for s, d in zip(batch, [False, False, True, True, True], strict=True)
    ]
    with db.read() as session:
        counts = dict(session.execute(select(ReportedUrlRow.id, ReportedUrlRow.report_count)).all())
        stored = dict(session.execute(select(ReportRow.reference, ReportRow.url_id)).all())
    assert counts == {batch[0].url_id: 3, batch[1].url_id: 1, earlier.url_id: 2}
    assert all(stored[s.reference] == s.url_id for s in batch)
    with db.write() as session:
        assert actions.receive_reports(session, [], reports.Source.api) == []
    assert _count(db) == 6


def test_a_failed_transaction_keeps_neither_report_nor_entry(db: Database) -> None:
    report = reports.validate({"url": "https://example.com/b"})
    with pytest.raises(RuntimeError), db.write() as session:
        actions.receive_report(session, report, reports.Source.web)
        raise RuntimeError("the caller's later step failed")
    assert _count(db) == 0 and _received(db) == []


def test_form_and_api_write_the_same_entry(client: TestClient, db: Database) -> None:
    page = client.get("/report")
    form = client.post(
        "/report", data={"url": "https://example.net/c", "csrf_token": csrf_from(page.text)}
    )
    assert form.status_code == 200
    api = client.post("/api/v1/reports", json={"url": "https://example.net/d"})
    assert api.status_code == 201
    entries = _received(db)
    assert [(e[0], e[2]) for e in entries] == [
        (audit.SYSTEM, {"source": "web", "origin": "public", "duplicate": False}),
        (audit.SYSTEM, {"source": "api", "origin": "public", "duplicate": False}),
    ]
    assert entries[1][1] == api.json()["reference"]


def test_a_bad_report_stores_and_audits_nothing(client: TestClient, db: Database) -> None:
    assert client.post("/api/v1/reports", json={"url": "not a url"}).status_code == 422
    assert _count(db) == 0 and _received(db) == []


def test_the_demo_reports_are_received_the_same_way(db: Database) -> None:
    from hotline import demo

    seeded = demo.seed_reports(db)
    assert seeded > 0
    entries = _received(db)
    assert len(entries) == seeded == _count(db)
    assert all(e[0] == audit.SYSTEM and e[2]["source"] == "web" for e in entries)

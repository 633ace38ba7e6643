"""Match audit records: grouped into shared transactions, committed before any answer."""

from __future__ import annotations

import asyncio
import itertools
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.matching import audit_writer
from hotline.matching.audit_writer import AuditWriter, PendingRecord
from hotline.security import audit
from hotline.security.tables import AuditRow
from tests.matching.conftest import assert_error_shape, bearer
from tests.matching.helpers import make_key, make_list


def pending(i: int) -> PendingRecord:
    return PendingRecord(
        "member:m", "match.request", "member_key", "p", {"inputs": i}, None, utcnow()
    )


def test_concurrent_records_all_land_and_the_chain_holds(db: Database) -> None:
    writer = AuditWriter(db)
    threads = [threading.Thread(target=writer.record, args=(pending(i),)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with db.read() as session:
        count = session.execute(
            select(func.count()).select_from(AuditRow).where(AuditRow.action == "match.request")
        ).scalar_one()
        assert count == 40
        assert audit.verify(session).ok


def _rows(db: Database) -> list[AuditRow]:
    with db.read() as session:
        return list(session.execute(select(AuditRow).order_by(AuditRow.seq)).scalars())


def test_a_group_appends_what_audit_record_appends(db: Database) -> None:
    """The writer's bulk append and `audit.record` write the same chain, interleaved."""
    detail = {"form": "hash", "inputs": 1, "inputs_matched": 0, "lists": 1, "note": "é"}
    before = len(_rows(db))
    with db.write() as session:
        audit.record(session, "member:m", "match.request", "member_key", "p", detail)
    writer = AuditWriter(db)
    record = PendingRecord("member:m", "match.request", "member_key", "p", detail, None, utcnow())

    async def three() -> None:
        await asyncio.gather(*(writer.committed(record) for _ in range(3)))

    # A thread of its own: the session's Playwright browser keeps a loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, three()).result()
    with db.write() as session:
        audit.record(session, "member:m", "match.request", "member_key", "p", detail)
    rows = _rows(db)[before:]
    assert len(rows) == 5
    first = rows[0]
    for previous, row in itertools.pairwise(rows):
        assert row.seq == previous.seq + 1 and row.prev_hash == previous.hash
        assert (row.actor, row.action, row.object_type, row.object_id, row.detail) == (
            first.actor,
            first.action,
            first.object_type,
            first.object_id,
            first.detail,
        )
        assert row.at >= previous.at
    with db.read() as session:
        assert audit.verify(session).ok


def test_a_cancelled_caller_is_not_recorded_and_the_writer_goes_on(db: Database) -> None:
    writer = AuditWriter(db)
    gave_up: Future[None] = Future()
    assert gave_up.cancel()
    waiting: Future[None] = Future()
    before = len(_rows(db))
    writer._commit([(pending(1), gave_up), (pending(2), waiting)])
    assert waiting.result(0) is None
    writer.record(pending(3))
    assert [row.detail for row in _rows(db)[before:]] == ['{"inputs":2}', '{"inputs":3}']


def test_a_failed_commit_reaches_every_waiting_caller(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit_writer, "record_many", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        AuditWriter(db).record(pending(1))


def test_no_answer_without_its_audit_record(
    mclient: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_list(db, "alpha")
    key = make_key(db, "m", ["alpha"])

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit unavailable")

    monkeypatch.setattr(audit_writer, "record_many", broken)
    response = mclient.post("/api/v1/match", json={"md5": "0" * 32}, headers=bearer(key))
    assert response.status_code == 500
    body = response.json()
    assert_error_shape(body, "internal_error")
    assert "audit unavailable" not in response.text and "results" not in body


def test_body_problems_are_reported_only_after_the_key(mclient: TestClient, db: Database) -> None:
    """An unknown key learns nothing about its body: 401 even for an oversized one."""
    make_list(db, "alpha")
    big = b'{"md5": "' + b"0" * 300_000 + b'"}'
    headers = {
        "content-type": "application/json",
        "Authorization": "Bearer hlk_" + "0" * 12 + "_" + "0" * 64,
    }
    assert mclient.post("/api/v1/match", content=big, headers=headers).status_code == 401
    assert mclient.post("/api/v1/match", content=b"{", headers=headers).status_code == 401


def test_the_writer_survives_a_dropped_connection(db: Database) -> None:
    """On PostgreSQL the writer holds its connection between groups; if the server drops it
    (a restart), the next group is written on a new one and nobody sees an error."""
    writer = AuditWriter(db)
    before = len(_rows(db))
    writer.record(pending(1))
    if not db.is_sqlite:
        held = writer._conn
        assert held is not None
        pid = held.connection.driver_connection.info.backend_pid
        with db.writer.begin() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    writer.record(pending(2))
    assert [row.detail for row in _rows(db)[before:]] == ['{"inputs":1}', '{"inputs":2}']
    with db.read() as session:
        assert audit.verify(session).ok

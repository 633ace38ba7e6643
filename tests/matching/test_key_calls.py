"""Calls per member key (`member_key_calls`): every answered call of the match API and the
HMA-compatible lookup is counted once, by the audit writer, in the transaction that writes
its audit record (one upsert per key and UTC day a group, never a row per call); a refused
call (401, 403, 429, bad input) has no audit record and is not counted. The counts show in
`hotline member key list` and on /staff/members."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from hotline.cli import app as cli
from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.matching import store
from hotline.matching.audit_writer import AuditWriter, PendingRecord, Waiter
from hotline.matching.model import KeyCalls
from hotline.matching.service import MatchConfig
from hotline.matching.tables import MemberKeyCallsRow
from tests.matching.conftest import bearer, build_app
from tests.matching.helpers import entry, flat_png, make_key, make_list

MD5 = "0123456789abcdef" * 2


def _key_id(db: Database, key: str) -> int:
    prefix = key.split("_")[1]
    with db.read() as session:
        found = store.find_key(session, prefix)
    assert found is not None
    return found.id


def _calls(db: Database, key: str) -> KeyCalls:
    key_id = _key_id(db, key)
    with db.read() as session:
        return store.key_calls(session, [key_id]).get(key_id, KeyCalls())


def _rows(db: Database) -> int:
    with db.read() as session:
        return int(
            session.execute(select(func.count()).select_from(MemberKeyCallsRow)).scalar_one()
        )


def test_each_answered_call_counts_once(mclient: TestClient, db: Database) -> None:
    make_list(db, "alpha", [entry(md5=MD5, category="A")])
    key = make_key(db, "platform", ["alpha"])
    other = make_key(db, "platform", ["alpha"])
    for _ in range(5):
        ok = mclient.post("/api/v1/match", json={"md5": MD5}, headers=bearer(key))
        assert ok.status_code == 200, ok.text
    batch = {"hashes": [{"type": "md5", "value": MD5}] * 3}
    assert mclient.post("/api/v1/match", json=batch, headers=bearer(key)).status_code == 200
    upload = mclient.post(
        "/api/v1/match", files={"file": ("a.png", flat_png(), "image/png")}, headers=bearer(key)
    )
    assert upload.status_code == 200, upload.text
    hma = mclient.get(
        "/m/lookup", params={"signal_type": "md5", "signal": MD5}, headers=bearer(key)
    )
    assert hma.status_code == 200, hma.text
    # 5 single hashes, 1 batch (one call, whatever its size), 1 upload, 1 HMA lookup.
    assert _calls(db, key) == KeyCalls(today=8, last_7_days=8, total=8)
    assert _calls(db, other) == KeyCalls()  # nothing for a key that made no call
    assert _rows(db) == 1  # one row per key and day, not one per call


def test_refused_calls_are_not_counted(mclient: TestClient, db: Database) -> None:
    make_list(db, "alpha", [entry(md5=MD5, category="A")])
    make_list(db, "beta")
    key = make_key(db, "platform", ["alpha"])
    wrong = key[:-4] + ("0000" if not key.endswith("0000") else "1111")
    assert (
        mclient.post("/api/v1/match", json={"md5": MD5}, headers=bearer(wrong)).status_code == 401
    )
    out_of_scope = mclient.post(
        "/api/v1/match", params={"list": "beta"}, json={"md5": MD5}, headers=bearer(key)
    )
    assert out_of_scope.status_code == 403
    bad = mclient.post("/api/v1/match", json={"md5": "zz"}, headers=bearer(key))
    assert bad.status_code in (400, 422)
    assert mclient.get(
        "/m/lookup", params={"signal_type": "pdq", "signal": "nope"}, headers=bearer(key)
    ).status_code in (400, 422)
    assert _calls(db, key) == KeyCalls()
    with db.write() as session:
        store.revoke_key(session, key.split("_")[1])
    assert mclient.post("/api/v1/match", json={"md5": MD5}, headers=bearer(key)).status_code == 401
    assert _calls(db, key) == KeyCalls() and _rows(db) == 0


def test_rate_limited_calls_are_not_counted(settings: Settings, db: Database) -> None:
    make_list(db, "alpha", [entry(md5=MD5, category="A")])
    key = make_key(db, "platform", ["alpha"])
    app = build_app(settings, db, MatchConfig(refresh_seconds=0, rate_limit=2))
    with TestClient(app) as client:
        codes = [
            client.post("/api/v1/match", json={"md5": MD5}, headers=bearer(key)).status_code
            for _ in range(4)
        ]
    assert codes == [200, 200, 429, 429]
    assert _calls(db, key).total == 2


def _pending(key_id: int, at_days_ago: int = 0) -> PendingRecord:
    at = utcnow() - timedelta(days=at_days_ago)
    return PendingRecord("member:m", "match.request", "member_key", "p", {}, None, at, key_id)


def test_a_group_counts_each_record_once(db: Database) -> None:
    """Many records in one group: summed in memory, added with one upsert, each counted once;
    a caller who gave up (not answered, not recorded) is not counted."""
    make_list(db, "alpha")
    key = make_key(db, "platform", ["alpha"])
    key_id = _key_id(db, key)
    writer = AuditWriter(db)
    waiting = [Future[None]() for _ in range(30)]
    gave_up: Future[None] = Future()
    assert gave_up.cancel()
    group: list[tuple[PendingRecord, Waiter]] = [(_pending(key_id), done) for done in waiting]
    writer._commit([*group, (_pending(key_id), gave_up)])
    assert all(done.result(0) is None for done in waiting)
    writer._commit([(_pending(key_id), Future()) for _ in range(12)])  # adds to today's row
    assert _calls(db, key) == KeyCalls(42, 42, 42)
    assert _rows(db) == 1


def test_concurrent_callers_are_each_counted(db: Database) -> None:
    make_list(db, "alpha")
    key = make_key(db, "platform", ["alpha"])
    key_id = _key_id(db, key)
    writer = AuditWriter(db)
    threads = [threading.Thread(target=writer.record, args=(_pending(key_id),)) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert _calls(db, key).total == 40


def test_today_week_and_total_are_utc_days(db: Database) -> None:
    make_list(db, "alpha")
    key = make_key(db, "platform", ["alpha"])
    key_id = _key_id(db, key)
    today = utcnow().date()
    with db.write() as session:
        store.add_key_calls(
            session,
            {
                (key_id, today): 3,
                (key_id, today - timedelta(days=6)): 5,  # still in the last 7 days
                (key_id, today - timedelta(days=7)): 7,  # not any more
            },
        )
        store.add_key_calls(session, {(key_id, today): 1})  # added to, not replaced
    assert _calls(db, key) == KeyCalls(today=4, last_7_days=9, total=16)
    with db.read() as session:
        (info,) = store.list_keys(session)
    assert info.calls == KeyCalls(4, 9, 16)


def test_cli_and_page_show_the_counts(
    db: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    login_as: Callable[[list[str]], TestClient],
) -> None:
    make_list(db, "alpha")
    key = make_key(db, "platform", ["alpha"])
    key_id = _key_id(db, key)
    today = utcnow().date()
    with db.write() as session:
        store.add_key_calls(session, {(key_id, today): 2, (key_id, today - timedelta(30)): 5})
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()
    listed = runner.invoke(cli, ["member", "key", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["calls"] == {"today": 2, "last_7_days": 2, "total": 7}
    text = runner.invoke(cli, ["member", "key", "list"])
    assert "calls today 2, 7 days 2, total 7" in text.stdout
    page = login_as(["admin"]).get("/staff/members")
    assert page.status_code == 200
    assert "2 today, 2 in 7 days, 7 in all" in page.text

"""Exchange feeds as staff and operators meet them: the status page (EN and FR, audited,
admins only), the schedule on the durable jobs, and `hotline lists feed …`.

The fetches read the local-file exchange (threatexchange's own) or the loopback StopNCII
server of tests/lists/exchange_fakes.py: no credentials, no network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from hotline.cli import app as cli_app
from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.jobs import queue
from hotline.lists import feed_actions, feed_jobs
from hotline.lists.feed_tables import ExchangeFeedRow
from hotline.security.permissions import Actor
from hotline.security.tables import AuditRow
from tests.conftest import csrf_from
from tests.jobs.drain import drain
from tests.lists import exchange_fakes as fx
from tests.lists.test_exchange_feeds import LOOPBACK, T0

Login = Callable[[list[str]], TestClient]


@pytest.fixture
def stopncii(monkeypatch: pytest.MonkeyPatch) -> Iterator[fx.FakeExchanges]:
    monkeypatch.setenv(
        "TX_STOPNCII_KEYS", f"{fx.STOPNCII_FUNCTION_KEY},{fx.STOPNCII_SUBSCRIPTION_KEY}"
    )
    fakes = fx.FakeExchanges(stopncii=[fx.stopncii_record(T0 + i) for i in range(3)])
    yield from (fakes for _ in fx.serve(fakes))


def _add_stopncii(db: Database, fakes: fx.FakeExchanges, name: str = "ncii") -> None:
    with db.write() as session:
        feed_actions.add_feed(
            session,
            Actor.operator("tester"),
            name,
            "stopncii",
            f"{name}-list",
            create_list=True,
            base_url=fakes.base + "/stopncii",
            interval_s=600,
        )


def test_the_schedule_fetches_due_feeds_and_waits_for_the_next(
    db: Database, settings: Settings, stopncii: fx.FakeExchanges
) -> None:
    _add_stopncii(db, stopncii)
    kinds = frozenset({feed_jobs.TICK_JOB, feed_jobs.FETCH_JOB})
    with db.write() as session:
        queue.enqueue(session, feed_jobs.TICK_JOB, {})
    drain(db, settings, LOOPBACK, kinds=kinds)
    with db.read() as session:
        row = session.execute(select(ExchangeFeedRow)).scalar_one()
    assert row.last_status == "ok" and row.added_total == 3
    assert row.next_fetch_at is not None and row.next_fetch_at > utcnow() + timedelta(seconds=500)
    requests = len(stopncii.requests)
    with db.write() as session:  # the next tick: nothing due, nothing fetched
        queue.enqueue(session, feed_jobs.TICK_JOB, {}, dedupe_key="again")
    drain(db, settings, LOOPBACK, kinds=kinds)
    assert len(stopncii.requests) == requests
    with db.write() as session:  # its time comes
        session.execute(update(ExchangeFeedRow).values(next_fetch_at=utcnow()))
        queue.enqueue(session, feed_jobs.TICK_JOB, {}, dedupe_key="third")
    drain(db, settings, LOOPBACK, kinds=kinds)
    assert len(stopncii.requests) == requests + 1
    with db.read() as session:
        actors = (
            session.execute(
                select(AuditRow.actor).where(AuditRow.action == "exchange_feed.fetched")
            )
            .scalars()
            .all()
        )
    assert actors == ["system", "system"]


def test_a_disabled_feed_is_not_scheduled(
    db: Database, settings: Settings, stopncii: fx.FakeExchanges
) -> None:
    _add_stopncii(db, stopncii)
    with db.write() as session:
        feed_actions.set_feed_enabled(session, Actor.operator("tester"), "ncii", False)
        queue.enqueue(session, feed_jobs.TICK_JOB, {})
    drain(db, settings, LOOPBACK, kinds=frozenset({feed_jobs.TICK_JOB, feed_jobs.FETCH_JOB}))
    assert stopncii.requests == []


def test_status_page_in_english_and_french_audited_admins_only(
    login_as: Login, db: Database, stopncii: fx.FakeExchanges
) -> None:
    _add_stopncii(db, stopncii)
    stopncii.faults.append(("/stopncii", 401, {}, b"{}"))
    feed_actions.fetch_feed(db, Actor.operator("tester"), "ncii", LOOPBACK)
    analyst = login_as(["analyst"])
    assert analyst.get("/staff/exchange-feeds").status_code == 403
    admin = login_as(["admin"])
    page = admin.get("/staff/exchange-feeds")
    assert page.status_code == 200
    assert "Exchange feeds" in page.text and "ncii-list" in page.text
    assert "HTTP 401" in page.text and "failed" in page.text
    french = admin.get("/staff/exchange-feeds?lang=fr").text
    assert "Flux d’échange" in french and "Dernière récupération" in french
    with db.read() as session:
        views = (
            session.execute(select(AuditRow.actor).where(AuditRow.action == "exchange_feed.viewed"))
            .scalars()
            .all()
        )
    assert len(views) == 2 and all(not actor.startswith("cli:") for actor in views)


@pytest.fixture
def runner(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    return CliRunner()


def test_cli_adds_fetches_and_shows_a_file_feed(runner: CliRunner, tmp_path: Path) -> None:
    signals = tmp_path / "signals.txt"
    signals.write_text(f"pdq {fx.hex_hash(256)}\nvideo_md5 {fx.hex_hash(128)}\n")
    added = runner.invoke(
        cli_app,
        [
            "lists",
            "feed",
            "add",
            "partner-file",
            "--api",
            "file",
            "--list",
            "partner",
            "--create-list",
            "--file",
            str(signals),
        ],
    )
    assert added.exit_code == 0, added.output
    fetched = runner.invoke(cli_app, ["lists", "feed", "fetch", "partner-file"])
    assert fetched.exit_code == 0, fetched.output
    assert "2 added" in fetched.output
    shown = runner.invoke(cli_app, ["lists", "feed", "status"])
    assert "partner-file: file -> partner" in shown.output and "2 live" in shown.output
    signals.unlink()
    failed = runner.invoke(cli_app, ["lists", "feed", "fetch", "partner-file"])
    assert failed.exit_code == 1 and "No such file" in failed.output


def test_cli_refuses_bad_settings_and_unknown_feeds(runner: CliRunner) -> None:
    bad = runner.invoke(
        cli_app,
        [
            "lists",
            "feed",
            "add",
            "x",
            "--api",
            "ncmec",
            "--list",
            "l",
            "--create-list",
            "--environment",
            "Moon",
            "--interval",
            "1",
        ],
    )
    assert bad.exit_code == 2
    assert "environment" in bad.output and "interval" in bad.output
    missing = runner.invoke(cli_app, ["lists", "feed", "fetch", "nope"])
    assert missing.exit_code == 2 and "no feed called 'nope'" in missing.output


def test_admin_fetches_now_disables_and_enables_a_feed(
    login_as: Login, db: Database, stopncii: fx.FakeExchanges
) -> None:
    _add_stopncii(db, stopncii)
    later = utcnow() + timedelta(hours=1)
    with db.write() as session:
        session.execute(update(ExchangeFeedRow).values(next_fetch_at=later))
    admin = login_as(["admin"])
    token = csrf_from(admin.get("/staff/exchange-feeds").text)

    def post(action: str) -> int:
        answer = admin.post(
            f"/staff/exchange-feeds/ncii/{action}",
            data={"csrf_token": token},
            follow_redirects=False,
        )
        return answer.status_code

    assert post("fetch") == 303
    assert "Fetch requested." in admin.get("/staff/exchange-feeds").text
    with db.write() as session:
        assert feed_actions.enqueue_due(session) == ["ncii"]  # the next tick takes it
    assert post("disable") == 303
    page = admin.get("/staff/exchange-feeds").text
    assert "Feed disabled." in page and "(disabled)" in page and "/ncii/fetch" not in page
    assert post("fetch") == 409  # a disabled feed is not fetched
    assert post("enable") == 303 and "Feed enabled." in admin.get("/staff/exchange-feeds").text
    assert post("nowhere") in (404, 405)
    gone = admin.post("/staff/exchange-feeds/missing/fetch", data={"csrf_token": token}).status_code
    assert gone == 404
    with db.read() as session:
        trail = (
            session.execute(select(AuditRow.action).where(AuditRow.object_type == "exchange_feed"))
            .scalars()
            .all()
        )
    assert trail.count("exchange_feed.fetch_requested") == 1
    assert "exchange_feed.disabled" in trail and "exchange_feed.enabled" in trail
    assert (
        login_as(["analyst"])
        .post("/staff/exchange-feeds/ncii/fetch", data={"csrf_token": token})
        .status_code
        == 403
    )

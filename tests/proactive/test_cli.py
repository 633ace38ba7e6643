"""`hotline crawl start|status|stop|allow` as the operator: the same actions, exit 2 on a
refusal with the reason."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.proactive.tables import CrawlRow
from hotline.security.tables import AuditRow
from tests.proactive.support import confirm


@pytest.fixture
def runner(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    return CliRunner()


URL = "https://gallery.example.org/page"


def test_start_status_stop(runner: CliRunner, db: Database) -> None:
    confirm(db, URL)
    started = runner.invoke(app, ["crawl", "start", URL, "--depth", "2", "--min-delay", "2"])
    assert started.exit_code == 0, started.output
    assert "crawl 1 started" in started.output
    status = runner.invoke(app, ["crawl", "status", "1", "--json"])
    assert status.exit_code == 0, status.output
    (view,) = json.loads(status.output)
    assert view["state"] == "running" and view["queued"] == 1 and view["pages"] == 0
    with db.read() as session:
        scope = json.loads(session.execute(select(CrawlRow.scope)).scalar_one())
        assert scope["max_depth"] == 2
        actions = set(session.execute(select(AuditRow.action)).scalars())
    assert {"crawl.started", "crawl.viewed"} <= actions
    stopped = runner.invoke(app, ["crawl", "stop", "1"])
    assert stopped.exit_code == 0 and "stopped" in stopped.output
    again = runner.invoke(app, ["crawl", "stop", "1"])
    assert again.exit_code == 2 and "not running" in again.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["crawl", "start", "https://unconfirmed.example.org/"], "confirmed material"),
        (["crawl", "start", URL, "--scope", "world"], "scope"),
        (["crawl", "start", URL, "--depth", "-1"], "max_depth"),
        (["crawl", "start", URL, "--pages", "0"], "max_pages"),
        (["crawl", "start", URL, "--skip", "(unclosed"], "skip"),
        (["crawl", "start", URL, "--concurrency", "5"], "concurrency"),
        (["crawl", "start", URL, "--min-delay", "0"], "min_delay"),
        (["crawl", "status", "99"], "no crawl"),
        (["crawl", "allow", "www.example.org", "--reason", "r"], "registrable"),
        (["crawl", "allow", "example.org", "--reason", "r", "--days", "0"], "days"),
    ],
)
def test_bad_input_exits_2_and_starts_nothing(
    runner: CliRunner, db: Database, args: list[str], message: str
) -> None:
    confirm(db, URL)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(CrawlRow)) == 0


def test_allow_then_start_on_the_domain(runner: CliRunner, db: Database) -> None:
    allowed = runner.invoke(app, ["crawl", "allow", "example.net", "--reason", "case 4"])
    assert allowed.exit_code == 0, allowed.output
    started = runner.invoke(
        app, ["crawl", "start", "https://www.example.net/x", "--scope", "domain"]
    )
    assert started.exit_code == 0, started.output

"""The refresh as the operator runs it (`hotline stats refresh`) and as the worker does (the
periodic, durable job `stats.refresh`): both write the cache and are audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.jobs.worker import ensure_periodic
from hotline.security.tables import AuditRow
from hotline.stats import cache
from hotline.stats.job_handlers import REFRESH_JOB
from hotline.stats.tables import StatsRefreshRow
from tests.jobs.drain import drain
from tests.stats.published_data import seed


@pytest.fixture
def runner(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    return CliRunner()


def _refreshes(db: Database) -> list[str]:
    with db.read() as session:
        return list(
            session.execute(
                select(AuditRow.actor).where(AuditRow.action == "stats.refresh")
            ).scalars()
        )


def test_the_command_refreshes_and_refuses_a_second_at_once(
    runner: CliRunner, db: Database
) -> None:
    seed(db)
    done = runner.invoke(app, ["stats", "refresh"])
    assert done.exit_code == 0, done.output
    assert "generation 1" in done.output and "years 2025, 2026" in done.output
    assert [a.startswith("cli:") for a in _refreshes(db)] == [True]
    with db.write() as session:
        row = session.get(StatsRefreshRow, 1)
        assert row is not None
        row.holder, row.lease_until = "another", utcnow() + timedelta(minutes=5)
    busy = runner.invoke(app, ["stats", "refresh"])
    assert busy.exit_code == 2 and "already running" in busy.output


def test_the_periodic_job_refreshes(db: Database, settings: Settings) -> None:
    seed(db)
    drain(db, settings)  # registers the handlers
    ensure_periodic(db)
    drain(db, settings, kinds=frozenset({REFRESH_JOB}))
    assert _refreshes(db) == ["system"]
    with db.read() as session:
        assert cache.state(session).years == [2025, 2026]

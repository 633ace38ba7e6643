"""`hotline worker`: --once runs what is due and keeps the periodic schedule in the database;
a wrong --kind is a usage error."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.jobs import queue
from hotline.jobs.tables import JobRow


@pytest.fixture
def cli_env(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    return CliRunner()


def test_once_runs_due_jobs_and_schedules_periodic_ones(cli_env: CliRunner, db: Database) -> None:
    # --kind: other tests register handlers of their own in this process.
    once = ["worker", "--once", "--kind", "takedown.tick"]
    result = cli_env.invoke(app, once)
    assert result.exit_code == 0, result.output
    assert "ran 1 job(s)" in result.output  # the takedown tick, due at once on a new database
    with db.read() as s:
        ticks = s.scalars(select(JobRow).where(JobRow.kind == "takedown.tick")).all()
    # One done, the next one queued a minute later: the schedule survives a restart.
    assert sorted(t.state for t in ticks) == ["done", "queued"]
    again = cli_env.invoke(app, once)
    assert again.exit_code == 0 and "ran 0 job(s)" in again.output


def test_a_failed_job_stays_visible(cli_env: CliRunner, db: Database) -> None:
    with db.write() as s:
        job_id = queue.enqueue(s, "takedown.send_notice", {"notice_id": 999_999}, max_attempts=1)
    result = cli_env.invoke(app, ["worker", "--once", "--kind", "takedown.send_notice"])
    assert result.exit_code == 0
    with db.read() as s:
        view = queue.get(s, job_id)
    assert view is not None and view.state in ("done", "failed")


def test_unknown_kind_is_a_usage_error(cli_env: CliRunner) -> None:
    result = cli_env.invoke(app, ["worker", "--once", "--kind", "no.such.kind"])
    assert result.exit_code == 2
    assert "unknown job kind" in result.output and "takedown.tick" in result.output

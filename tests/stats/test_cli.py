"""`hotline stats removal`: the group figures as a table or CSV; exit 2 on bad dates."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.security.permissions import Actor
from hotline.security.tables import AuditRow
from tests.stats.helpers import add_case, at


@pytest.fixture
def runner(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    return CliRunner()


@pytest.fixture
def cases(db: Database) -> None:
    add_case(
        db,
        "TD-A",
        reported=at("2024-01-01 00:00"),
        notice=at("2024-01-01 02:00"),
        removed=at("2024-01-01 12:00"),
        host="h1.example",
    )
    add_case(
        db,
        "TD-B",
        reported=at("2024-02-02 00:00"),
        notice=at("2024-02-02 06:00"),
        removed=at("2024-02-03 12:00"),
        host="h2.example",
    )
    add_case(db, "TD-C", reported=at("2024-02-05 00:00"), notice=at("2024-02-05 01:00"), host=None)


def run(runner: CliRunner, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["stats", "removal", *args])
    assert result.exit_code == code, result.output
    return result.output


def test_overall_table(runner: CliRunner, db: Database, cases: None) -> None:
    out = run(runner, "--from", "2024-01-01", "--to", "2024-03-31")
    lines = out.splitlines()
    assert lines[0] == "First reported 2024-01-01 to 2024-03-31 (UTC)"
    assert lines[1].split() == [
        "group", "urls", "removed", "median_h", "p90_h", "median_notice_h", "p90_notice_h",
        "within_24h",
    ]  # fmt: skip
    assert lines[2].split() == ["all", "3", "2", "24.0", "36.0", "20.0", "30.0", "33%", "(1/3)"]
    with db.read() as session:
        [entry] = session.execute(select(AuditRow).where(AuditRow.action == "stats.view")).scalars()
    assert entry.actor == Actor.operator().username  # the operator, as every command acts


def test_by_host_and_month(runner: CliRunner, cases: None) -> None:
    hosts = run(runner, "--from", "2024-01-01", "--to", "2024-03-31", "--by", "host")
    assert [line.split()[0] for line in hosts.splitlines()[2:]] == [
        "h1.example",
        "h2.example",
        "(unknown)",
    ]
    months = run(runner, "--from", "2024-01-01", "--to", "2024-03-31", "--by", "month")
    assert [line.split()[:3] for line in months.splitlines()[2:]] == [
        ["2024-01", "1", "1"],
        ["2024-02", "2", "1"],
    ]


def test_csv(runner: CliRunner, db: Database, cases: None) -> None:
    out = run(runner, "--from", "2024-01-01", "--to", "2024-03-31", "--by", "country", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["group_by"], r["group"], r["urls"]) for r in rows] == [("country", "GB", "3")]
    assert rows[0]["p90_hours_report_to_removal"] == "36.00"
    with db.read() as session:
        actions = [r.action for r in session.execute(select(AuditRow)).scalars()]
    assert actions == ["stats.export"]


@pytest.mark.parametrize(
    "args",
    [
        ("--from", "2024-02-30"),
        ("--to", "tomorrow"),
        ("--from", "2024-03-01", "--to", "2024-02-01"),
        ("--from", "2010-01-01", "--to", "2024-01-01"),
    ],
)
def test_bad_dates_exit_2(runner: CliRunner, db: Database, args: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, ["stats", "removal", *args])
    assert result.exit_code == 2, result.output
    assert "the date range has problems" in result.output
    with db.read() as session:
        assert list(session.execute(select(AuditRow)).scalars()) == []


def test_unknown_grouping_exit_2(runner: CliRunner) -> None:
    result = runner.invoke(app, ["stats", "removal", "--by", "colour"])
    assert result.exit_code == 2

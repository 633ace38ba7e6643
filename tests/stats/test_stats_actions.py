"""stats.actions called directly, as an API or a job would: each checks `stats.view` itself
and validates before it reads; `hotline stats removal` and a direct call write the same
entry but for the actor."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import Forbidden, InvalidInput
from hotline.security.permissions import Actor, Role
from hotline.security.tables import AuditRow
from hotline.stats import actions
from hotline.stats.removal import GroupBy
from tests.stats.helpers import add_case, at

OFFICER = Actor(7, "olga", frozenset({Role.takedown_officer}), mfa_passed=True)
ANALYST = Actor(8, "ana", frozenset({Role.analyst}), mfa_passed=True)
RANGE = ("2024-01-01", "2024-03-31")


@pytest.fixture
def cases(db: Database) -> None:
    add_case(db, "TD-A", reported=at("2024-01-01 00:00"), removed=at("2024-01-01 12:00"))
    add_case(db, "TD-B", reported=at("2024-02-02 00:00"), host="other.example")


def _entries(db: Database) -> list[tuple[str, str, dict[str, object]]]:
    with db.read() as session:
        rows = session.execute(
            select(AuditRow.actor, AuditRow.action, AuditRow.detail).order_by(AuditRow.seq)
        ).all()
    return [(r.actor, r.action, json.loads(r.detail)) for r in rows]


def test_the_view_and_the_exports_audit_what_they_gave(db: Database, cases: None) -> None:
    figures = actions.view_removal(db, OFFICER, *RANGE)
    clocks = actions.export_clocks(db, OFFICER, *RANGE)
    groups = actions.export_groups(db, OFFICER, *RANGE, by="host")
    assert figures.summary.overall.count == 2 and len(figures.clocks) == 2
    assert len(clocks.content.splitlines()) == 3  # the header and a row per URL
    assert groups.dates == figures.dates and "other.example" in groups.content
    span = {"from": "2024-01-01", "to": "2024-03-31"}
    assert _entries(db) == [
        ("olga", "stats.view", {**span, "urls": 2}),
        ("olga", "stats.export", {**span, "file": "removal.csv", "rows": 2}),
        ("olga", "stats.export", {**span, "file": "removal-groups.csv", "rows": 2}),
    ]


def test_the_command_and_the_action_write_the_same_entry(
    db: Database, settings: Settings, cases: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    args = ["stats", "removal", "--from", RANGE[0], "--to", RANGE[1], "--by", "host", "--csv"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    dates, groups = actions.removal_groups(db, OFFICER, *RANGE, GroupBy.host, as_csv=True)
    assert [g.key for g in groups] == ["host-one.example", "other.example"]
    (cli_actor, *cli_entry), (actor, *entry) = _entries(db)
    assert cli_actor == Actor.operator().username and actor == "olga"
    assert cli_entry == entry == ["stats.export", {**_span(dates), "by": "host"}]


def _span(dates: actions.DateRange) -> dict[str, str]:
    return {"from": dates.start.isoformat(), "to": dates.end.isoformat()}


def test_bad_input_is_refused_before_anything_is_read(db: Database) -> None:
    with pytest.raises(InvalidInput) as bad:
        actions.export_groups(db, OFFICER, "2024-02-30", "tomorrow", by="planet")
    assert [f.field for f in bad.value.fields] == ["by"]
    with pytest.raises(InvalidInput) as dates:
        actions.view_removal(db, OFFICER, "2024-02-30", "tomorrow")
    assert sorted(f.field for f in dates.value.fields) == ["from", "to"]
    assert _entries(db) == []


Call = Callable[[Database, Actor], object]
REFUSED: list[tuple[str, Call]] = [
    ("view", lambda db, a: actions.view_removal(db, a)),
    ("clocks", lambda db, a: actions.export_clocks(db, a)),
    ("groups", lambda db, a: actions.export_groups(db, a, by="no-such-grouping")),
    ("command", lambda db, a: actions.removal_groups(db, a, None, None, GroupBy.all)),
]


@pytest.mark.parametrize(("name", "call"), REFUSED, ids=[r[0] for r in REFUSED])
def test_each_action_checks_permission_first(
    db: Database, cases: None, name: str, call: Call
) -> None:
    with pytest.raises(Forbidden):  # an analyst does not see the figures, not even an error
        call(db, ANALYST)
    assert _entries(db) == []

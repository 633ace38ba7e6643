"""The case-set page (taskforce graders only, English and French) and the actions behind it:
permission checked in the action, views and imports audited."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.db.engine import Database
from hotline.errors import Forbidden
from hotline.security.permissions import Actor, Role
from hotline.security.tables import AuditRow
from hotline.taskforce import actions
from tests.taskforce.conftest import run_import


def _audit(db: Database, action: str) -> list[tuple[str, dict[str, object]]]:
    with db.read() as session:
        rows = session.execute(
            select(AuditRow.actor, AuditRow.detail)
            .where(AuditRow.action == action)
            .order_by(AuditRow.seq)
        ).all()
    return [(r.actor, json.loads(r.detail)) for r in rows]


def _manifest(tmp_path: Path) -> Path:
    path = tmp_path / "hashes.csv"
    path.write_text("md5\n" + "1" * 32 + "\n" + "2" * 32 + "\n")
    return path


def test_graders_see_case_sets_with_progress(
    db: Database, login_as: Callable[[list[str]], TestClient], tmp_path: Path
) -> None:
    run_import(db, "Operation Example", [_manifest(tmp_path)], None)
    client = login_as(["taskforce_grader"])
    page = client.get("/staff/taskforce")
    assert page.status_code == 200
    assert "Operation Example" in page.text and "100%" in page.text
    french = client.get("/staff/taskforce?lang=fr")
    assert "Lots d’affaires" in french.text and "1 sur 1 terminées" in french.text
    assert [actor for actor, _ in _audit(db, "taskforce.view")][-1].startswith("staff")


def test_other_roles_cannot_open_the_page(
    login_as: Callable[[list[str]], TestClient],
) -> None:
    client = login_as(["analyst"])
    assert client.get("/staff/taskforce").status_code == 403


def test_the_action_checks_the_permission_itself(db: Database, tmp_path: Path) -> None:
    analyst = Actor(7, "ana", frozenset({Role.analyst}), mfa_passed=True)
    with db.write() as session, pytest.raises(Forbidden):
        actions.list_case_sets(session, analyst)
    with db.write() as session, pytest.raises(Forbidden):
        actions.start_import(session, analyst, "x", ["a.csv"], hash_only=True)
    assert _audit(db, "taskforce.view") == []


def test_an_import_is_audited_with_its_sources(db: Database, tmp_path: Path) -> None:
    path = _manifest(tmp_path)
    run_import(db, "audited", [path], None)
    run_import(db, "audited", [path], None)
    started = _audit(db, "taskforce.import_started")
    assert [d["created"] for _, d in started] == [True, False]
    assert started[0][0] == "cli:tester" and started[0][1]["sources"] == [str(path)]
    finished = _audit(db, "taskforce.imported")
    assert [d["sources"][0]["outcome"] for _, d in finished] == ["imported", "already imported"]


def test_the_command_imports_a_manifest_and_says_when_there_is_nothing_new(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hotline.cli import app
    from tests.conftest import TEST_SECRET

    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HOTLINE_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("HOTLINE_MODE", "development")
    path = _manifest(tmp_path)
    runner = CliRunner()
    first = runner.invoke(app, ["taskforce", "import", "cli-set", str(path)])
    assert first.exit_code == 0, first.output
    assert "hashes.csv (csv): imported: 2 files, 2 new items" in first.output
    again = runner.invoke(app, ["taskforce", "import", "cli-set", str(path)])
    assert again.exit_code == 0
    assert "nothing to import: every source is already in case set 'cli-set'" in again.output
    bad = tmp_path / "bad.csv"
    bad.write_text("md5\nnothex\n")
    refused = runner.invoke(app, ["taskforce", "import", "cli-set", str(bad)])
    assert refused.exit_code == 1 and "refused: bad rows" in refused.output
    missing = runner.invoke(app, ["taskforce", "import", "cli-set", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no such file or folder" in missing.output

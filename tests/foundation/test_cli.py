"""The `hotline` command: accounts, migrations, exit codes, and the demo server end to end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from hotline.cli import app
from hotline.db.engine import Database
from tests.conftest import TEST_SECRET, hotline_env, start_serve


@pytest.fixture
def cli_env(db: Database, settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    return CliRunner()


def test_version() -> None:
    result = CliRunner().invoke(app, ["version"])
    assert result.exit_code == 0 and re.fullmatch(r"\d+\.\d+\.\d+\n", result.output)


def test_user_add_list_disable(cli_env: CliRunner) -> None:
    added = cli_env.invoke(
        app,
        [
            "user",
            "add",
            "Dana",
            "--role",
            "analyst",
            "--role",
            "senior_analyst",
            "--password-stdin",
        ],
        input="a sufficiently long pass\n",
    )
    assert added.exit_code == 0, added.output
    assert "added dana (analyst, senior_analyst)" in added.output
    listed = cli_env.invoke(app, ["user", "list", "--json"])
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert rows == [
        {
            "username": "dana",
            "name": "dana",
            "roles": ["analyst", "senior_analyst"],
            "two_factor": False,
            "disabled": False,
        }
    ]
    assert cli_env.invoke(app, ["user", "disable", "dana"]).exit_code == 0
    assert "disabled" in cli_env.invoke(app, ["user", "list"]).output


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["user", "add", "eve", "--role", "wizard", "--password-stdin"],
            "long enough password\n",
            "unknown role",
        ),
        (["user", "add", "eve", "--role", "analyst", "--password-stdin"], "short\n", "at least 12"),
        (
            ["user", "add", "Not Valid!", "--role", "analyst", "--password-stdin"],
            "long enough password\n",
            "username",
        ),
        (["user", "disable", "ghost"], "", "no user"),
        (["user", "code", "ghost"], "", "no user"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    cli_env: CliRunner, args: list[str], stdin: str, message: str
) -> None:
    result = cli_env.invoke(app, args, input=stdin)
    assert result.exit_code == 2
    assert message in result.output


def test_duplicate_user_is_refused(cli_env: CliRunner) -> None:
    args = ["user", "add", "sam", "--role", "analyst", "--password-stdin"]
    assert cli_env.invoke(app, args, input="long enough password\n").exit_code == 0
    again = cli_env.invoke(app, args, input="long enough password\n")
    assert again.exit_code == 2 and "already exists" in again.output


def test_code_refused_for_real_accounts(cli_env: CliRunner) -> None:
    cli_env.invoke(
        app,
        ["user", "add", "real", "--role", "analyst", "--password-stdin"],
        input="long enough password\n",
    )
    result = cli_env.invoke(app, ["user", "code", "real"])
    assert result.exit_code == 2 and "only demo accounts" in result.output


def test_production_start_without_secret_is_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["HOTLINE_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "hotline", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "HOTLINE_SECRET_KEY is not set" in result.stderr


def test_db_upgrade_on_a_fresh_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env |= {"HOTLINE_DATA_DIR": str(tmp_path), "HOTLINE_SECRET_KEY": TEST_SECRET}
    result = subprocess.run(
        [sys.executable, "-m", "hotline", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "hotline.db").exists()


@pytest.mark.slow
def test_serve_demo_end_to_end(tmp_path: Path) -> None:
    """The README's first command, minus the set-up: demo data, printed log-in, a live app."""
    env = hotline_env(HOTLINE_DATA_DIR=str(tmp_path))
    proc, base = start_serve(env, "--demo", ready_within=60)
    try:
        assert httpx.get(f"{base}/advice").status_code == 200
        assert httpx.get(f"{base}/report").status_code == 200
        code = subprocess.run(
            [sys.executable, "-m", "hotline", "user", "code", "analyst"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert code.returncode == 0 and re.fullmatch(r"\d{6}\n", code.stdout)
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    assert f"hotline demo running at {base}" in output
    assert "Background jobs run in this process" in output
    assert re.search(r"analyst\s+password \S{12,}", output)
    assert (tmp_path / "demo-credentials.json").stat().st_mode & 0o777 == 0o600


def test_media_purge_runs_and_is_audited(cli_env: CliRunner, db: Database) -> None:
    from sqlalchemy import select

    from hotline.security.tables import AuditRow

    result = cli_env.invoke(app, ["media", "purge"])
    assert result.exit_code == 0 and "purged 0" in result.output
    with db.read() as session:
        assert "media.purged" in session.execute(select(AuditRow.action)).scalars().all()

"""The CLI finds its instance: without HOTLINE_DATA_DIR it looks for ./hotline-data, then the
one beside the virtual environment that runs it, so a command works from any directory; it
refuses, creating nothing, when there is none; it reads a demo's data in demo mode; and the
demo banner's commands work as printed."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from hotline import demo
from hotline.cli import app as cli_app
from hotline.cli import command_prefix
from hotline.config import MODE_FILE, Mode, load_instance_settings
from hotline.db import migrate
from hotline.db.engine import Database
from tests.conftest import hotline_env, start_serve


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout whose .venv runs hotline (sys.prefix), no HOTLINE_* settings, and the
    current directory elsewhere."""
    root = tmp_path / "checkout"
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "hotline").touch()
    monkeypatch.setattr(sys, "prefix", str(root / ".venv"))
    for name in ("HOTLINE_DATA_DIR", "HOTLINE_MODE", "HOTLINE_DATABASE_URL", "HOTLINE_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return root


@pytest.fixture
def cli() -> Callable[..., Result]:
    runner = CliRunner()
    return lambda *args: runner.invoke(cli_app, list(args))


def test_no_data_directory_refuses_and_creates_nothing(
    checkout: Path, cli: Callable[..., Result]
) -> None:
    for command in (
        ["user", "list"],
        ["member", "list"],
        ["db", "current"],
        ["audit", "verify"],
        ["worker", "--once"],
        ["backup", "create", "--out", "backup.tar"],
    ):
        result = cli(*command)
        assert result.exit_code == 2, (command, result.output)
        assert "no data directory found" in result.output
        assert "HOTLINE_DATA_DIR" in result.output
    assert list(Path.cwd().iterdir()) == []  # no second instance here
    assert not (checkout / "hotline-data").exists()


def test_a_demo_beside_the_environment_is_found_from_any_directory(
    checkout: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(checkout)  # as scripts/demo.sh does: serve from the checkout
    settings = load_instance_settings(create=True, mode=Mode.demo)
    assert settings.data_dir == checkout / "hotline-data"
    (settings.data_dir / MODE_FILE).write_text("demo\n")
    db = Database(settings.database_url)
    migrate.upgrade(db)
    demo.seed_accounts(db, settings)
    db.dispose()

    monkeypatch.chdir(checkout.parent / "elsewhere")
    found = load_instance_settings()
    assert found.data_dir == checkout / "hotline-data" and found.mode is Mode.demo
    code = cli("user", "code", "analyst")
    assert code.exit_code == 0 and re.fullmatch(r"\d{6}\n", code.output), code.output
    listed = cli("user", "list")
    assert listed.exit_code == 0 and "senior2" in listed.output, listed.output
    assert list(Path.cwd().iterdir()) == []

    # ./hotline-data, where there is one, comes first.
    here = Path.cwd() / "hotline-data"
    here.mkdir()
    assert load_instance_settings(mode=Mode.development).data_dir == here


def test_db_upgrade_starts_an_instance_where_none_exists(
    checkout: Path, cli: Callable[..., Result]
) -> None:
    result = cli("db", "upgrade")
    assert result.exit_code == 2 and "HOTLINE_SECRET_KEY is not set" in result.output
    assert not (Path.cwd() / "hotline-data").exists()  # production refuses before creating
    assert load_instance_settings(create=True, mode=Mode.development).data_dir == (
        Path.cwd() / "hotline-data"
    )


def test_the_banner_prefix(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(checkout)
    settings = load_instance_settings(create=True, mode=Mode.demo)
    assert command_prefix(settings) == ".venv/bin/hotline"
    monkeypatch.chdir(checkout.parent / "elsewhere")
    assert command_prefix(settings) == str(checkout / ".venv" / "bin" / "hotline")
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    assert command_prefix(settings) == (
        f"HOTLINE_DATA_DIR={shlex.quote(str(settings.data_dir))} "
        f"{checkout / '.venv' / 'bin' / 'hotline'}"
    )


@pytest.mark.slow
def test_the_demo_banner_commands_work_as_printed(tmp_path: Path) -> None:
    env = hotline_env(HOTLINE_DATA_DIR=str(tmp_path / "data"))
    proc, _base = start_serve(env, "--demo")
    try:
        assert proc.stdout is not None
        banner = []
        while not any("member key create" in line for line in banner):
            banner.append(proc.stdout.readline())
        printed = next(line for line in banner if "user code USERNAME" in line).strip()
        assert re.search(r"/bin/hotline user code USERNAME$", printed), printed
        command = printed.replace("USERNAME", "senior2")
        # Run as printed, by a shell, from the directory the demo was started in.
        code = subprocess.run(
            ["bash", "-c", command],
            capture_output=True,
            text=True,
            timeout=120,
            env=hotline_env(),
            cwd=Path.cwd(),
        )
        assert code.returncode == 0 and re.fullmatch(r"\d{6}\n", code.stdout), code.stderr
        assert any("http://127.0.0.1:" in line and "/mail" in line for line in banner)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)

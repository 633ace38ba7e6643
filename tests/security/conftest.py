"""Fixtures shared by the security tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from hotline.cli import app as cli_app
from hotline.db.engine import Database
from tests.conftest import TEST_SECRET


@pytest.fixture
def cli(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """`hotline …` in-process, on the test database, with the test secret."""
    for name in ("HOTLINE_AUDIT_KEY", "HOTLINE_AUDIT_ANCHOR_PATH", "HOTLINE_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    return lambda *args: runner.invoke(cli_app, list(args))

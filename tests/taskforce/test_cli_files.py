"""`hotline taskforce import NAME FOLDER` through the CLI: files hashed on a LocalCluster it
starts itself (its dashboard address printed), or on the scheduler `--scheduler` names."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from distributed import LocalCluster
from typer.testing import CliRunner

from hotline.db.engine import Database
from tests.conftest import TEST_SECRET
from tests.taskforce.conftest import drawn

DASHBOARD = re.compile(r"Dask dashboard: (http://\S+)")


@pytest.fixture
def cli_env(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HOTLINE_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("HOTLINE_MODE", "development")
    monkeypatch.delenv("HOTLINE_DASK_SCHEDULER", raising=False)
    folder = tmp_path / "files"
    folder.mkdir()
    for seed in range(3):
        (folder / f"a{seed}.png").write_bytes(drawn(seed))
    (folder / "notes.txt").write_text("not media")
    return folder


def _import(*args: str) -> str:
    from hotline.cli import app

    result = CliRunner().invoke(app, ["taskforce", "import", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_command_hashes_a_folder_on_its_own_local_cluster(cli_env: Path) -> None:
    output = _import("cli-files", str(cli_env), "--workers", "1", "--hash-only")
    assert DASHBOARD.search(output), output
    assert "files (folder): imported: 4 files, 3 new items, 0 duplicates, 0 known, 1 failed" in (
        output
    )
    again = _import("cli-files", str(cli_env), "--workers", "1")
    assert "nothing to import" in again and not DASHBOARD.search(again)  # no cluster started


def test_the_command_uses_the_scheduler_it_is_given(cli_env: Path) -> None:
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as given:
        output = _import(
            "cli-given", str(cli_env), "--scheduler", given.scheduler_address, "--hash-only"
        )
        link = DASHBOARD.search(output)
        assert link is not None  # the given cluster's dashboard (its host may be named otherwise)
        assert urlsplit(link.group(1)).port == urlsplit(given.dashboard_link).port
        assert "imported: 4 files, 3 new items" in output
        # The hashing ran on the given cluster's scheduler, not on one the command started.
        assert "hash_chunk" in given.scheduler.task_prefixes

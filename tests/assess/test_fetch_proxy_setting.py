"""HOTLINE_FETCH_PROXY: checked when settings load, and the one policy built from it reaches the
web app, the worker inside `hotline serve` and `hotline worker`."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hotline.assess.fetcher import FetchPolicy, fetch_policy_from
from hotline.config import Settings, SettingsError, load_settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.web.app import create_app
from tests.conftest import TEST_SECRET

PROXY = "http://fetcher:s3cret-pass@proxy.internal:3128"


def make_settings(tmp_path: Path, db: Database | None = None, **overrides: Any) -> Settings:
    return load_settings(
        mode="development",
        data_dir=tmp_path / "data",
        database_url=db.url if db else f"sqlite:///{tmp_path / 'x.db'}",
        secret_key=TEST_SECRET,
        **overrides,
    )


@pytest.mark.parametrize(
    "value", [PROXY, "https://proxy.internal", "http://10.0.0.8:8080/", "HTTP://Proxy:1"]
)
def test_good_values_reach_the_policy(tmp_path: Path, value: str) -> None:
    settings = make_settings(tmp_path, fetch_proxy=value)
    assert fetch_policy_from(settings).proxy_url == value


def test_empty_means_direct(tmp_path: Path) -> None:
    assert fetch_policy_from(make_settings(tmp_path)).proxy_url is None
    assert fetch_policy_from(make_settings(tmp_path, fetch_proxy="  ")).proxy_url is None


def test_read_from_the_environment_and_kept_out_of_reprs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_FETCH_PROXY", PROXY)
    settings = make_settings(tmp_path)
    assert fetch_policy_from(settings).proxy_url == PROXY
    assert "s3cret-pass" not in repr(settings)  # a proxy password is a secret


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("socks5://127.0.0.1:1080", "SOCKS"),
        ("socks5h://proxy.internal:1080", "SOCKS"),
        ("ftp://proxy.internal:21", "http or https"),
        ("proxy.internal:3128", "http or https"),
        ("http://", "http or https"),
        ("http://proxy.internal:99999", "http or https"),
        ("http://proxy.internal:3128/some/path", "nothing after"),
        ("http://proxy.internal:3128?x=1", "nothing after"),
    ],
)
def test_bad_values_are_refused(tmp_path: Path, value: str, why: str) -> None:
    with pytest.raises(SettingsError, match="fetch_proxy") as refused:
        make_settings(tmp_path, fetch_proxy=value)
    assert why in str(refused.value)


def test_the_web_app_fetches_through_it(tmp_path: Path, db: Database) -> None:
    app = create_app(make_settings(tmp_path, db, fetch_proxy=PROXY), db)
    policy: FetchPolicy = app.state.fetch_policy
    assert policy.proxy_url == PROXY


def _handler_policy(settings: Settings) -> FetchPolicy:
    """The policy a job handler fetches under when its worker was handed none: the settings'."""
    from hotline.jobs.queue import Job
    from hotline.jobs.worker import JobContext
    from hotline.takedown.job_handlers import fetch_policy

    job = Job(1, "takedown.recheck", {}, 1, 3, "token", utcnow())
    return fetch_policy(JobContext(None, settings, job))  # type: ignore[arg-type]


def test_serve_gives_its_in_process_worker_the_same_policy(
    tmp_path: Path, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from hotline import cli
    from hotline.jobs import worker

    given: list[FetchPolicy] = []

    def fake_start(db: Database, settings: Settings, resources: Any = None) -> Any:
        given.append(_handler_policy(settings))
        return None, threading.Event()

    monkeypatch.setattr(worker, "start_in_process", fake_start)
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    settings = make_settings(tmp_path, db, fetch_proxy=PROXY, worker_in_process=True)
    cli._serve(settings, db, demo=False)
    assert [p.proxy_url for p in given] == [PROXY]


def test_hotline_worker_fetches_through_it(
    tmp_path: Path, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hotline.cli import app
    from hotline.jobs import cli as jobs_cli

    given: list[FetchPolicy] = []

    class RecordingWorker:
        def __init__(self, db: Database, settings: Settings, **kw: Any):
            given.append(_handler_policy(settings))

        def run_until_idle(self) -> int:
            return 0

    monkeypatch.setattr(jobs_cli, "Worker", RecordingWorker)
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HOTLINE_FETCH_PROXY", PROXY)
    result = CliRunner().invoke(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert [p.proxy_url for p in given] == [PROXY]

    monkeypatch.setenv("HOTLINE_FETCH_PROXY", "socks5://127.0.0.1:1080")
    refused = CliRunner().invoke(app, ["worker", "--once"])
    assert refused.exit_code != 0 and "SOCKS" in refused.output

"""`hotline serve --workers N`: several web processes on one port, built from the settings the
supervising process hands over in the environment, all appending to one audit chain."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from hotline.config import Settings, load_settings, settings_environment
from hotline.db import migrate
from hotline.db.engine import Database
from hotline.matching import store
from hotline.security import audit
from hotline.security.audit_keys import audit_key, use_key
from tests.conftest import hotline_env, start_serve


def _plain(settings: Settings) -> dict[str, object]:
    return {
        name: value.get_secret_value() if isinstance(value, SecretStr) else value
        for name, value in settings.model_dump().items()
    }


def test_settings_survive_the_trip_through_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("HOTLINE_"):
            monkeypatch.delenv(name)
    settings = load_settings(
        mode="demo",
        data_dir=tmp_path,
        port=8123,
        web_workers=3,
        worker_in_process=False,
        match_refresh_seconds=0.25,
        smtp_password="a password with spaces",
        fetch_proxy="http://proxy.example.net:3128",
    )
    env = settings_environment(settings)
    assert "HOTLINE_REQUIRE_2FA" not in env  # unset (None) stays unset: the default decides
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    rebuilt = load_settings()
    assert _plain(rebuilt) == _plain(settings)
    assert rebuilt.secret == settings.secret  # the generated demo secret, not a new one


def _child_pids(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" (", 1)
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(rest.rsplit(")", 1)[1].split()[1]) == parent and b"spawn_main" in cmdline:
            found.append(int(pid))
    return found


def test_two_web_processes_answer_and_share_one_audit_chain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hotline.db'}"
    db = Database(url)
    migrate.upgrade(db)
    with db.write() as session:
        store.create_list(session, "alpha", "benign test entries")
        store.create_member(session, "platform")
        issued, _ = store.create_key(session, "platform", ["alpha"])
    db.dispose()

    env = hotline_env(
        HOTLINE_MODE="development", HOTLINE_DATA_DIR=str(tmp_path), HOTLINE_LOG_LEVEL="warning"
    )
    proc, base = start_serve(env, "--workers", "2")
    try:
        assert len(_child_pids(proc.pid)) == 2

        headers = {"Authorization": f"Bearer {issued.key}"}

        def call(i: int) -> int:
            # A fresh connection each time, so the kernel spreads them over both processes.
            response = httpx.post(
                f"{base}/api/v1/match", json={"md5": f"{i:032x}"}, headers=headers, timeout=30
            )
            return response.status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(call, range(60)))
        assert statuses == [200] * 60
        bad = httpx.post(f"{base}/api/v1/match", json={"md5": "xyz"}, headers=headers)
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    assert "2 web processes" in output

    db = Database(url)
    # The chain is keyed from the secret the server generated in its data directory.
    use_key(db, audit_key(load_settings(mode="development", data_dir=tmp_path)))
    try:
        with db.read() as session:
            verified = audit.verify(session)
            calls = [e for e in audit.recent(session, 500) if e.action == "match.request"]
        assert verified.ok, verified.problem
        assert len(calls) == 60  # the refused call is not one: it never passed validation
    finally:
        db.dispose()


def test_workers_must_be_at_least_one(tmp_path: Path) -> None:
    env = hotline_env(HOTLINE_MODE="development", HOTLINE_DATA_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "hotline", "serve", "--workers", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    message = " ".join(re.sub("[│╭╮╰╯─]", " ", result.stderr).split())
    assert "Invalid value for '--workers'" in message
    assert "greater than or equal to 1" in message
    assert not (tmp_path / "hotline.db").exists()  # refused before anything was created

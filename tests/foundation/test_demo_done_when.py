"""Issue 2's "Done when", on the demo itself: a report sent to the API shows up on the queue
page for the demo analyst after signing in with two-factor, and editing one audit row by hand
in the demo's SQLite file makes `hotline audit verify` fail and name that row."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hotline.intake.urls import normalise_url
from tests.conftest import CSRF_RE, hotline_env, start_serve

# Benign, on a reserved domain; the spelling exercises normalisation on the way in.
REPORTED = "HTTPS://Done-When.Example.com:443/gallery/item-7?utm_source=demo#top"


@dataclass
class Demo:
    base: str
    env: dict[str, str]
    data_dir: Path
    proc: subprocess.Popen[str]


def hotline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotline", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    env = hotline_env(HOTLINE_DATA_DIR=str(tmp_path))
    proc, base = start_serve(env, "--demo")
    try:
        yield Demo(base, env, tmp_path, proc)
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.communicate(timeout=30)


def csrf(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    match = CSRF_RE.search(response.text)
    assert match, "page has no CSRF token"
    return match.group(1)


def stop(demo: Demo) -> None:
    demo.proc.terminate()
    demo.proc.communicate(timeout=30)


@pytest.mark.slow
def test_report_reaches_the_demo_analysts_queue_and_audit_tampering_is_named(
    demo: Demo,
) -> None:
    # 1. A member of the public reports an address through the API.
    created = httpx.post(
        f"{demo.base}/api/v1/reports", json={"url": REPORTED, "content_type": "image"}
    )
    assert created.status_code == 201, created.text
    reference = created.json()["reference"]
    assert created.json()["status"] == "received"

    # 2. The demo analyst signs in: password from the credentials file, code from the CLI.
    credentials = json.loads((demo.data_dir / "demo-credentials.json").read_text())
    with httpx.Client(base_url=demo.base) as browser:
        signed = browser.post(
            "/staff/login",
            data={
                "username": "analyst",
                "password": credentials["analyst"]["password"],
                "csrf_token": csrf(browser.get("/staff/login")),
            },
        )
        assert signed.status_code == 303 and signed.headers["location"] == "/staff/2fa"
        # Password alone opens nothing.
        assert browser.get("/staff/queue").headers.get("location") == "/staff/2fa"
        # The page names the command that prints this account's code, as typed.
        assert "hotline user code analyst</code>" in browser.get("/staff/2fa").text
        code = hotline(demo.env, "user", "code", "analyst")
        assert code.returncode == 0 and re.fullmatch(r"\d{6}\n", code.stdout), code.stderr
        second = browser.post(
            "/staff/2fa",
            data={"code": code.stdout.strip(), "csrf_token": csrf(browser.get("/staff/2fa"))},
        )
        assert second.status_code == 303, second.text

        # 3. The reported address, normalised, is on the queue page.
        queue = browser.get("/staff/queue")
        assert queue.status_code == 200, queue.text
        expected = normalise_url(REPORTED).url
        assert expected == "https://done-when.example.com/gallery/item-7"
        assert f"<code>{expected}</code>" in queue.text
    status = httpx.get(f"{demo.base}/api/v1/reports/{reference}")
    assert status.status_code == 200 and status.json()["status"] == "received"

    # 4. With the server stopped, the chain verifies; then one row is edited by hand.
    stop(demo)
    verify_env = demo.env  # the audit key comes from the demo's secret: `--demo` reads it
    intact = hotline(verify_env, "audit", "verify", "--demo")
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.startswith("audit log intact: ")
    database = sqlite3.connect(demo.data_dir / "hotline.db", isolation_level=None)
    try:
        (seq,) = database.execute(
            "SELECT seq FROM audit_log WHERE actor = 'analyst' AND action = 'queue.view' "
            "ORDER BY seq LIMIT 1"
        ).fetchone()
        # The database itself refuses the edit; someone with full rights drops the guard.
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            database.execute("UPDATE audit_log SET actor = 'someone-else' WHERE seq = ?", (seq,))
        database.execute("DROP TRIGGER audit_log_no_update")
        database.execute("UPDATE audit_log SET actor = 'someone-else' WHERE seq = ?", (seq,))
    finally:
        database.close()
    broken = hotline(verify_env, "audit", "verify", "--demo")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"row {seq} was altered" in broken.stderr
    assert f"first bad row: {seq};" in broken.stderr

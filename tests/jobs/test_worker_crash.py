"""A worker process killed (or frozen) mid-job: the job is taken over after its lease and
completes exactly once. The first worker is a real `Worker` in a child process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.jobs import queue
from hotline.jobs.tables import JobRow
from hotline.jobs.worker import Worker
from hotline.security.tables import AuditRow
from tests.conftest import TEST_SECRET
from tests.jobs.slow_handler import KIND

CHILD = """
import sys
from hotline.config import load_settings
from hotline.db.engine import Database
from hotline.jobs.worker import Worker
from tests.jobs.slow_handler import KIND
settings = load_settings(mode="development", database_url=sys.argv[1], data_dir=sys.argv[2],
                         secret_key={secret!r}, job_lease_seconds=5)
db = Database(settings.database_url)
Worker(db, settings, kinds=frozenset({{KIND}})).run_until_idle()
print("child finished", flush=True)
"""


def _effects(db: Database) -> int:
    with db.read() as s:
        return int(
            s.scalar(select(func.count()).select_from(AuditRow).where(AuditRow.action == KIND)) or 0
        )


def _job(db: Database, job_id: int) -> JobRow:
    with db.read() as s:
        row = s.get(JobRow, job_id)
        assert row is not None
        return row


@pytest.fixture
def child(db: Database, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    script = tmp_path / "child_worker.py"
    script.write_text(textwrap.dedent(CHILD.format(secret=TEST_SECRET)))
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen(
        [sys.executable, str(script), db.url, str(tmp_path / "child-data")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield proc
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
    proc.communicate(timeout=30)  # reaps it and closes the pipe


def _enqueue(db: Database) -> int:
    with db.write() as s:
        return queue.enqueue(s, KIND, {"sleep": 12})


def _wait_running(db: Database, job_id: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while _job(db, job_id).state != "running":
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        assert time.monotonic() < deadline, "the child never claimed the job"
        time.sleep(0.05)


def _wait_lease_out(db: Database, job_id: int) -> None:
    expires = _job(db, job_id).lease_expires_at
    assert expires is not None
    while True:
        from hotline.db.base import utcnow

        if utcnow() > expires:
            return
        time.sleep(0.1)


def test_killed_worker_job_completes_once(
    db: Database, settings: Settings, child: subprocess.Popen[str]
) -> None:
    job_id = _enqueue(db)
    _wait_running(db, job_id, child)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert _effects(db) == 0 and _job(db, job_id).state == "running"

    _wait_lease_out(db, job_id)
    assert Worker(db, settings, kinds=frozenset({KIND})).run_until_idle() == 1
    row = _job(db, job_id)
    assert (row.state, row.attempts) == ("done", 2)
    assert _effects(db) == 1


def test_frozen_worker_that_wakes_late_cannot_complete_again(
    db: Database, settings: Settings, child: subprocess.Popen[str]
) -> None:
    job_id = _enqueue(db)
    _wait_running(db, job_id, child)
    child.send_signal(signal.SIGSTOP)  # frozen mid-job, holding nothing but a lease
    _wait_lease_out(db, job_id)
    assert Worker(db, settings, kinds=frozenset({KIND})).run_until_idle() == 1
    assert _effects(db) == 1

    child.send_signal(signal.SIGCONT)  # wakes, finishes its sleep, tries to complete
    out, _ = child.communicate(timeout=60)
    assert "child finished" in out
    assert _effects(db) == 1  # its write was fenced off and rolled back
    assert _job(db, job_id).state == "done"

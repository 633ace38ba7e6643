"""Checkpoints leave the database: POSTed to an operator's URL (loopback here), or appended by
the worker on its schedule."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from typer.testing import Result

from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.jobs import queue
from hotline.jobs.worker import JobContext
from hotline.security import audit, audit_anchor
from hotline.security.audit_jobs import ANCHOR_JOB, anchor_when_due
from hotline.security.audit_keys import audit_key


def write_entries(db: Database, n: int) -> None:
    with db.write() as session:
        audit.record_many(
            session.connection(),
            [audit.NewEntry("analyst1", "report.view", "report", f"R{i}", {}) for i in range(n)],
        )


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[bytes], list[int]]]:
    """A loopback HTTP endpoint that keeps what is POSTed and answers with `status[0]`."""
    received: list[bytes] = []
    status = [204]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["content-length"])))
            self.send_response(status[0])
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/anchors", received, status
    server.shutdown()
    server.server_close()


def test_checkpoint_posted_to_a_url(
    db: Database,
    cli: Callable[..., Result],
    receiver: tuple[str, list[bytes], list[int]],
    settings: Settings,
) -> None:
    url, received, status = receiver
    write_entries(db, 3)
    result = cli("audit", "anchor", "--to", url)
    assert result.exit_code == 0, result.output
    (body,) = received
    record = json.loads(body)
    checkpoint = audit_anchor.parse(record, audit_key(settings), "posted checkpoint")
    assert checkpoint.seq == 3 and checkpoint.keyed_from == 1
    status[0] = 500
    failed = cli("audit", "anchor", "--to", url)
    assert failed.exit_code == 1 and "answered 500" in failed.output


def test_plain_http_only_to_loopback(cli: Callable[..., Result]) -> None:
    for target in ("http://anchors.example.org/in", "ftp://127.0.0.1/x", "https://"):
        result = cli("audit", "anchor", "--to", target)
        assert result.exit_code == 2, (target, result.output)


def test_anchor_to_an_unwritable_place_fails_clearly(
    db: Database, cli: Callable[..., Result], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = cli("audit", "anchor", "--to", str(blocker / "anchors.jsonl"))
    assert result.exit_code == 1 and "could not append the checkpoint" in result.output


def test_worker_anchors_on_its_interval(db: Database, settings: Settings) -> None:
    anchors = Path(settings.audit_anchor_path)
    write_entries(db, 2)
    job = queue.Job(1, ANCHOR_JOB, {}, 1, 5, "token", utcnow())

    def tick(with_settings: Settings) -> None:
        anchor_when_due(JobContext(db, with_settings, job))

    tick(settings)
    assert len(anchors.read_text().splitlines()) == 1
    with db.read() as session:
        assert audit.last_verified(session) == (2, audit.verify(session).head_hash)
    write_entries(db, 2)
    tick(settings)  # the interval (60 minutes) has not passed
    assert len(anchors.read_text().splitlines()) == 1
    tick(settings.model_copy(update={"audit_anchor_minutes": 0}))  # off
    assert len(anchors.read_text().splitlines()) == 1
    with db.write() as session:
        state = audit.state_row(session, lock=True)
        assert state.anchored_at is not None
        state.anchored_at -= timedelta(minutes=61)
    tick(settings)
    lines = anchors.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["seq"] == 4

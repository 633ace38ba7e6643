"""Sending notices through the durable jobs over real SMTP (aiosmtpd on 127.0.0.1) and a signed
webhook: delivered once, retried with backoff while the server is down, flagged when refused
or out of attempts, re-sent with the same Message-ID when a worker dies mid-send, bounces
flagged, and reminders until the case escalates."""

from __future__ import annotations

import email
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import typer
from pydantic import SecretStr
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.assess.fetcher import FetchPolicy
from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.jobs.tables import JobRow
from hotline.takedown import cases, sending
from hotline.takedown.cases import CaseState
from hotline.takedown.cli import takedown_app
from hotline.takedown.delivery import verify_webhook
from hotline.takedown.tables import NoticeRow
from tests.takedown.cases_support import (
    Smtp,
    add_provider,
    case_row,
    criminal_url,
    due,
    jobs_due_now,
    run_jobs,
    smtp_server,
    tick,
    with_smtp,
)

URL = "https://files.example.org/gallery/7"


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    yield from smtp_server()


def confirmed_case(db: Database, settings: Settings, **provider: str) -> int:
    chosen = add_provider(db, settings, **provider)
    with db.write() as session:
        case_id = cases.propose(session, criminal_url(db, URL), settings)
        assert case_id is not None
        cases.confirm(session, case_id, provider_id=chosen.id, settings=settings, actor="officer")
    return case_id


def notices(db: Database) -> list[NoticeRow]:
    with db.read() as session:
        rows = list(session.scalars(select(NoticeRow).order_by(NoticeRow.id)))
        for row in rows:
            session.expunge(row)
        return rows


def send_job(db: Database) -> JobRow:
    with db.read() as session:
        row = (
            session.execute(
                select(JobRow)
                .where(JobRow.kind == "takedown.send_notice")
                .order_by(JobRow.id.desc())
            )
            .scalars()
            .first()
        )
        assert row is not None
        session.expunge(row)
        return row


def test_a_notice_goes_out_once_and_starts_the_clocks(
    db: Database, settings: Settings, smtp: Smtp
) -> None:
    smtp.start()
    config = with_smtp(settings, smtp)
    case_id = confirmed_case(db, config)
    run_jobs(db, config)
    [(sender, recipients, raw)] = smtp.mailbox.messages
    assert sender == "notices@hotline.example.org" and recipients == ["abuse@hosting.example"]
    received = email.message_from_bytes(raw)
    case = case_row(db, case_id)
    assert case.reference in received["Subject"]
    text = received.get_payload(decode=True).decode()
    assert URL in text and "Protection of Children Act" in text
    [notice] = notices(db)
    assert (notice.status, notice.attempts, notice.last_error) == ("sent", 1, None)
    assert notice.message_id == received["Message-ID"]
    assert case.first_notice_at == notice.sent_at == case.last_notice_at
    assert case.next_reminder_at == notice.sent_at + timedelta(hours=config.reminder_hours)
    assert case.next_check_at is not None and not case.flagged
    assert send_job(db).state == "done"
    run_jobs(db, config)  # nothing more to do: sent once
    assert len(smtp.mailbox.messages) == 1


def test_smtp_down_then_up_retries_with_backoff_then_sends_once(
    db: Database, settings: Settings, smtp: Smtp
) -> None:
    config = with_smtp(settings, smtp, notice_retry_seconds=60)
    case_id = confirmed_case(db, config)
    before = utcnow()
    run_jobs(db, config)  # nothing listens on the port
    [notice] = notices(db)
    assert (notice.status, notice.attempts) == ("pending", 1)
    assert "could not talk to 127.0.0.1" in (notice.last_error or "")
    job = send_job(db)
    assert job.state == "queued" and job.run_at >= before + timedelta(seconds=59)
    first_id = notice.message_id
    assert first_id
    jobs_due_now(db)
    run_jobs(db, config)
    job = send_job(db)
    assert notices(db)[0].attempts == 2
    assert job.run_at >= utcnow() + timedelta(seconds=110)  # the backoff doubled
    smtp.start()
    jobs_due_now(db)
    run_jobs(db, config)
    [notice] = notices(db)
    assert (notice.status, notice.attempts) == ("sent", 3)
    [(_, _, raw)] = smtp.mailbox.messages
    assert email.message_from_bytes(raw)["Message-ID"] == first_id == notice.message_id
    assert not case_row(db, case_id).flagged


def test_a_permanent_refusal_flags_the_case(db: Database, settings: Settings, smtp: Smtp) -> None:
    smtp.mailbox.refuse = "550 5.1.1 mailbox unavailable"
    smtp.start()
    config = with_smtp(settings, smtp)
    case_id = confirmed_case(db, config)
    run_jobs(db, config)
    [notice] = notices(db)
    assert (notice.status, notice.attempts) == ("failed", 1)  # not retried
    case = case_row(db, case_id)
    assert case.flagged and "550" in (case.flag_reason or "") and "refused" in case.flag_reason
    assert case.first_notice_at is None and case.next_reminder_at is None
    assert smtp.mailbox.messages == []
    with db.read() as session:
        assert [c.id for c in cases.flagged_cases(session)] == [case_id]


def test_attempts_run_out_and_the_case_is_flagged(
    db: Database, settings: Settings, smtp: Smtp
) -> None:
    config = with_smtp(settings, smtp, notice_max_attempts=2)
    case_id = confirmed_case(db, config)
    run_jobs(db, config)
    jobs_due_now(db)
    run_jobs(db, config)
    [notice] = notices(db)
    assert (notice.status, notice.attempts) == ("failed", 2)
    case = case_row(db, case_id)
    assert case.flagged and "failed 2 times" in (case.flag_reason or "")
    assert send_job(db).state == "done"  # handled: nothing left to retry


def test_a_worker_dying_mid_send_sends_again_with_the_same_message_id(
    db: Database, settings: Settings, smtp: Smtp, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp.start()
    config = with_smtp(settings, smtp)
    confirmed_case(db, config)
    real = sending.attempt_succeeded
    calls: list[int] = []

    def dies_once(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 1:  # the message went out; the worker dies before recording it
            raise RuntimeError("worker killed")
        real(*args, **kwargs)

    monkeypatch.setattr(sending, "attempt_succeeded", dies_once)
    run_jobs(db, config)
    assert notices(db)[0].status == "sending"  # in doubt: it will be sent again
    jobs_due_now(db)
    run_jobs(db, config)
    [notice] = notices(db)
    assert (notice.status, notice.attempts) == ("sent", 2)
    ids = [email.message_from_bytes(raw)["Message-ID"] for _, _, raw in smtp.mailbox.messages]
    assert ids == [notice.message_id, notice.message_id]  # at least once, recognisably


class Hook(BaseHTTPRequestHandler):
    answers: list[int]
    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers.items()), body))
        status = type(self).answers.pop(0) if type(self).answers else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[tuple[int, type[Hook]]]:
    handler = type("H", (Hook,), {"answers": [500], "received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1]), handler
    server.shutdown()
    server.server_close()


def test_a_webhook_answering_500_is_retried_then_signed_and_sent(
    db: Database, settings: Settings, hook: tuple[int, type[Hook]]
) -> None:
    port, handler = hook
    secret = "a-webhook-secret-for-tests"
    case_id = confirmed_case(
        db,
        settings,
        channel="webhook",
        webhook_url=f"http://127.0.0.1:{port}/notices",
        webhook_secret=secret,
    )
    policy = FetchPolicy(allow_networks=("127.0.0.1/32",), connect_timeout_s=2, read_timeout_s=2)
    run_jobs(db, settings, policy)
    assert notices(db)[0].status == "pending" and "HTTP 500" in (notices(db)[0].last_error or "")
    jobs_due_now(db)
    run_jobs(db, settings, policy)
    [notice] = notices(db)
    assert (notice.status, notice.attempts) == ("sent", 2)
    assert len(handler.received) == 2
    headers, body = handler.received[-1]
    now = int(utcnow().timestamp())
    assert verify_webhook(secret.encode(), headers["X-Hotline-Signature"], body, now)
    document = json.loads(body)
    assert document["url"] == URL and document["reference"] == notice.reference
    assert document["case_reference"] == case_row(db, case_id).reference


def test_a_bounce_flags_the_case(
    db: Database, settings: Settings, smtp: Smtp, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp.start()
    config = with_smtp(settings, smtp)
    case_id = confirmed_case(db, config)
    run_jobs(db, config)
    [notice] = notices(db)
    assert notice.message_id and case_row(db, case_id).next_reminder_at is not None
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    cli = typer.Typer()
    cli.add_typer(takedown_app, name="takedown")
    runner = CliRunner()
    missing = runner.invoke(cli, ["takedown", "bounce", "<nope@example.org>", "--reason", "x"])
    assert missing.exit_code == 1 and "no notice was sent" in missing.output
    bare = notice.message_id.strip("<>")  # bounce hooks often drop the brackets
    result = runner.invoke(cli, ["takedown", "bounce", bare, "--reason", "550 5.1.1 user unknown"])
    assert result.exit_code == 0, result.output
    assert f"case {case_id} flagged" in result.output
    [notice] = notices(db)
    assert notice.status == "bounced" and "user unknown" in (notice.last_error or "")
    case = case_row(db, case_id)
    assert case.flagged and "bounced: 550 5.1.1 user unknown" in (case.flag_reason or "")
    assert case.next_reminder_at is None  # no chasing a dead address
    listed = runner.invoke(cli, ["takedown", "list", "--state", "flagged"])
    assert listed.exit_code == 0 and case_row(db, case_id).reference in listed.output
    wrong = runner.invoke(cli, ["takedown", "list", "--state", "lost"])
    assert wrong.exit_code == 2 and "unknown state" in wrong.output


def test_reminders_until_the_case_escalates(db: Database, settings: Settings, smtp: Smtp) -> None:
    smtp.start()
    config = with_smtp(
        settings, smtp, escalate_after_reminders=2, escalation_email="police@example.org"
    )
    case_id = confirmed_case(db, config)
    run_jobs(db, config)
    assert len(smtp.mailbox.messages) == 1
    tick(db, config)  # not due yet: nothing happens
    assert len(smtp.mailbox.messages) == 1
    for number in (1, 2):
        due(db, case_id, "next_reminder_at")
        tick(db, config)
        case = case_row(db, case_id)
        assert case.reminders_sent == number and case.state == CaseState.notified
        assert case.next_reminder_at is not None and case.next_reminder_at > utcnow()
        subject = email.message_from_bytes(smtp.mailbox.messages[-1][2])["Subject"]
        assert case.reference in subject and f"{case.reference}-R{number + 1}" in subject
    assert len(smtp.mailbox.messages) == 3
    due(db, case_id, "next_reminder_at")  # two reminders went unanswered
    tick(db, config)
    case = case_row(db, case_id)
    assert case.state == CaseState.escalated and case.escalation == "email"
    assert case.reminders_sent == 3  # reminders go on until removal
    assert case.next_check_at is not None  # and so do re-checks
    by_recipient = {tuple(to): raw for _, to, raw in smtp.mailbox.messages}
    escalation = email.message_from_bytes(by_recipient[("police@example.org",)])
    assert "Escalation" in escalation["Subject"] and case.reference in escalation["Subject"]
    assert URL in escalation.get_payload(decode=True).decode()
    assert len(smtp.mailbox.messages) == 5  # notice, 3 reminders, the escalation
    with db.read() as session:
        assert [c.id for c in cases.escalated_cases(session)] == [case_id]
    # Removal cancels what is still pending and stops the reminders.
    due(db, case_id, "next_reminder_at")
    with db.write() as session:
        cases.record_removal(session, case_id, utcnow(), "manual")
    tick(db, config)
    assert len(smtp.mailbox.messages) == 5
    assert [n.kind for n in notices(db)] == [
        "notice",
        "reminder",
        "reminder",
        "escalation",
        "reminder",
    ]
    assert all(n.status == "sent" for n in notices(db))


def test_a_webhook_secret_that_cannot_be_opened_flags_the_case(
    db: Database, settings: Settings
) -> None:
    case_id = confirmed_case(
        db,
        settings,
        channel="webhook",
        webhook_url="https://hooks.example.net/notices",
        webhook_secret="a-webhook-secret-for-tests",
    )
    rotated = settings.model_copy(update={"secret_key": SecretStr("another-secret-" + "y" * 40)})
    run_jobs(db, rotated)  # nothing is dialled: the notice cannot even be signed
    [notice] = notices(db)
    assert (notice.status, notice.attempts) == ("failed", 1)
    case = case_row(db, case_id)
    assert case.flagged and "cannot be opened" in (case.flag_reason or "")

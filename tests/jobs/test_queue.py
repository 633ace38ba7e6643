"""The durable job queue on both databases: enqueue with the caller's transaction, claims
that never hand one job to two workers, fencing tokens, backoff, giving up, periodic jobs."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.jobs import queue
from hotline.jobs.queue import JobState, LeaseLost
from hotline.jobs.tables import JobRow
from hotline.jobs.worker import GiveUp, JobContext, Retry, Worker, job_handler
from hotline.security import audit
from hotline.security.tables import AuditRow

LEASE = timedelta(seconds=60)


def _effects(db: Database, kind: str) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(AuditRow).where(AuditRow.action == kind))


def test_enqueue_rolls_back_with_its_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as s:
        queue.enqueue(s, "test.noop", {"a": 1})
        raise RuntimeError("the decision failed")
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(JobRow)) == 0


def test_dedupe_key_keeps_one_live_job_and_moves_it_earlier(db: Database) -> None:
    later = utcnow() + timedelta(hours=2)
    with db.write() as s:
        first = queue.enqueue(s, "test.noop", run_at=later, dedupe_key="k:1")
        again = queue.enqueue(s, "test.noop", run_at=utcnow(), dedupe_key="k:1")
    assert first == again
    with db.read() as s:
        row = s.get(JobRow, first)
        assert row is not None and row.run_at < later


def test_claim_takes_due_jobs_only_and_in_order(db: Database) -> None:
    with db.write() as s:
        queue.enqueue(s, "test.noop", {"n": "future"}, run_at=utcnow() + timedelta(hours=1))
        queue.enqueue(s, "test.noop", {"n": "old"}, run_at=utcnow() - timedelta(minutes=5))
        queue.enqueue(s, "test.noop", {"n": "now"})
    first = queue.claim(db, "w1", LEASE, {"test.noop"})
    second = queue.claim(db, "w2", LEASE, {"test.noop"})
    assert first is not None and first.payload == {"n": "old"}
    assert second is not None and second.payload == {"n": "now"}
    assert queue.claim(db, "w3", LEASE, {"test.noop"}) is None  # the future one waits


def test_concurrent_claims_never_share_a_job(db: Database) -> None:
    with db.write() as s:
        for i in range(30):
            queue.enqueue(s, "test.noop", {"i": i})
    taken: list[int] = []
    lock = threading.Lock()

    def grab(name: str) -> None:
        while (job := queue.claim(db, name, LEASE, {"test.noop"})) is not None:
            with lock:
                taken.append(job.id)

    threads = [threading.Thread(target=grab, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 30 and len(set(taken)) == 30


def test_a_stalled_worker_cannot_complete_a_job_taken_over(db: Database) -> None:
    with db.write() as s:
        queue.enqueue(s, "test.noop")
    stalled = queue.claim(db, "slow", timedelta(seconds=-1), {"test.noop"})  # lease already out
    assert stalled is not None
    fresh = queue.claim(db, "fast", LEASE, {"test.noop"})
    assert fresh is not None and fresh.id == stalled.id and fresh.attempts == 2
    with db.write() as s:
        audit.record(s, audit.SYSTEM, "test.effect", "job", fresh.id)
        queue.complete(s, fresh)
    with pytest.raises(LeaseLost), db.write() as s:
        audit.record(s, audit.SYSTEM, "test.effect", "job", stalled.id)
        queue.complete(s, stalled)
    assert _effects(db, "test.effect") == 1
    with db.read() as s:
        view = queue.get(s, fresh.id)
        assert view is not None and view.state == JobState.done.value


def test_failures_back_off_then_give_up(db: Database) -> None:
    with db.write() as s:
        job_id = queue.enqueue(s, "test.noop", max_attempts=2)
    job = queue.claim(db, "w", LEASE, {"test.noop"})
    assert job is not None
    with db.write() as s:
        assert queue.fail(s, job, "host said 451", timedelta(minutes=5)) is JobState.queued
    assert queue.claim(db, "w", LEASE, {"test.noop"}) is None  # waiting out the backoff
    with db.write() as s:
        s.get(JobRow, job_id).run_at = utcnow() - timedelta(seconds=1)  # type: ignore[union-attr]
    job = queue.claim(db, "w", LEASE, {"test.noop"})
    assert job is not None and job.attempts == 2
    with db.write() as s:
        assert queue.fail(s, job, "host said 451 again", timedelta(minutes=5)) is JobState.failed
    with db.read() as s:
        view = queue.get(s, job_id)
        assert view is not None and view.state == "failed" and "again" in (view.last_error or "")


def test_backoff_doubles_and_is_capped() -> None:
    base = timedelta(seconds=60)
    assert [queue.retry_delay(base, n).total_seconds() for n in (1, 2, 3)] == [60, 120, 240]
    assert queue.retry_delay(base, 30) == timedelta(hours=6)


# -- the worker ---------------------------------------------------------------------------

_calls: list[str] = []


@job_handler("test.effect")
def _effect(ctx: JobContext) -> None:
    with ctx.db.write() as s:
        audit.record(s, audit.SYSTEM, "test.effect", "job", ctx.job.id)
        ctx.complete(s)


@job_handler("test.flaky", max_attempts=3)
def _flaky(ctx: JobContext) -> None:
    _calls.append("flaky")
    if ctx.job.attempts < 2:
        raise Retry("try later", delay=timedelta(seconds=-1))  # due again at once


@job_handler("test.broken")
def _broken(ctx: JobContext) -> None:
    raise GiveUp("the recipient does not exist")


@job_handler("test.tick", every=timedelta(hours=1))
def _tick(ctx: JobContext) -> None:
    _calls.append("tick")


def test_worker_runs_retries_and_gives_up(db: Database, settings: Settings) -> None:
    _calls.clear()
    with db.write() as s:
        queue.enqueue(s, "test.effect")
        flaky = queue.enqueue(s, "test.flaky")
        broken = queue.enqueue(s, "test.broken")
    worker = Worker(db, settings, kinds=frozenset({"test.effect", "test.flaky", "test.broken"}))
    assert worker.run_until_idle() == 4  # effect, flaky twice, broken
    assert _calls == ["flaky", "flaky"]
    assert _effects(db, "test.effect") == 1
    with db.read() as s:
        assert queue.get(s, flaky).state == "done"  # type: ignore[union-attr]
        failed = queue.get(s, broken)
        assert failed is not None and failed.state == "failed"
        assert failed.last_error == "the recipient does not exist"


def test_periodic_jobs_reschedule_themselves(db: Database, settings: Settings) -> None:
    _calls.clear()
    from hotline.jobs import worker as worker_module

    with db.write() as s:
        queue.enqueue(s, "test.tick", dedupe_key=worker_module._periodic_key("test.tick"))
    worker = Worker(db, settings, kinds=frozenset({"test.tick"}))
    assert worker.run_until_idle() == 1  # the next run is an hour away
    assert _calls == ["tick"]
    with db.read() as s:
        live = s.scalars(
            select(JobRow).where(JobRow.kind == "test.tick", JobRow.state == "queued")
        ).all()
        assert len(live) == 1 and live[0].run_at > utcnow() + timedelta(minutes=59)

"""Durable jobs in the database: enqueue in the caller's transaction, claim with a lease, finish
under a fencing token.

Why a table and not a broker library: the work must survive restarts with nothing but the
database a hotline already runs (SQLite on a laptop, PostgreSQL in production), and enqueueing
must commit or roll back with the decision that caused it (a verdict and its notice job are one
transaction). The claim is the well-known pattern: on PostgreSQL `SELECT … FOR UPDATE SKIP
LOCKED`, so many workers never block on one row; on SQLite the writer's `BEGIN IMMEDIATE`
serialises claims across processes. A claim hands out a fresh `lease_token`; completing or
failing a job is conditional on that token, so a worker that stalled past its lease (and whose
job another worker took over) cannot finish it a second time.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.jobs.tables import JobRow

MAX_ERROR = 2000


class JobState(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"  # gave up after max_attempts; kept for staff to see


class LeaseLost(Exception):
    """The job's lease passed to another worker; this worker's result is discarded."""


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    lease_token: str
    run_at: datetime


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = 5,
    move_earlier: bool = True,
) -> int:
    """Add a job in the caller's transaction and return its id. With `dedupe_key`, a live job
    with that key is kept instead of adding another (moved earlier if this one is due sooner
    and `move_earlier`)."""
    now = utcnow()
    due = run_at or now
    if dedupe_key is not None:
        existing = session.execute(
            select(JobRow).where(JobRow.dedupe_key == dedupe_key).with_for_update()
        ).scalar_one_or_none()
        if existing is not None:
            if move_earlier and existing.state == JobState.queued.value and due < existing.run_at:
                existing.run_at = due
            return existing.id
    row = JobRow(
        kind=kind,
        payload=json.dumps(payload or {}, sort_keys=True),
        dedupe_key=dedupe_key,
        state=JobState.queued.value,
        run_at=due,
        attempts=0,
        max_attempts=max_attempts,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row.id


def _claimable(now: datetime, kinds: Collection[str] | None):  # type: ignore[no-untyped-def]
    due = or_(
        and_(JobRow.state == JobState.queued.value, JobRow.run_at <= now),
        # A running job whose lease ran out: its worker died or stalled.
        and_(JobRow.state == JobState.running.value, JobRow.lease_expires_at < now),
    )
    return and_(due, JobRow.kind.in_(list(kinds))) if kinds is not None else due


def claim(
    db: Database,
    worker: str,
    lease: timedelta,
    kinds: Collection[str] | None = None,
) -> Job | None:
    """Take the most overdue job, or None. A job whose attempts are used up is marked failed
    instead of being handed out again."""
    now = utcnow()
    with db.write() as session:
        while True:
            row = session.execute(
                select(JobRow)
                .where(_claimable(now, kinds))
                .order_by(JobRow.run_at, JobRow.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).scalar_one_or_none()
            if row is None:
                return None
            if row.attempts >= row.max_attempts:
                row.state = JobState.failed.value
                row.finished_at = now
                row.dedupe_key = None
                row.lease_owner = row.lease_token = None
                row.lease_expires_at = None
                row.last_error = (row.last_error or "") + " (lease ran out on the last attempt)"
                continue
            row.state = JobState.running.value
            row.attempts += 1
            row.lease_owner = worker[:128]
            row.lease_token = secrets.token_hex(16)
            row.lease_expires_at = now + lease
            row.started_at = row.started_at or now
            session.flush()
            return Job(
                row.id,
                row.kind,
                json.loads(row.payload),
                row.attempts,
                row.max_attempts,
                row.lease_token,
                row.run_at,
            )


def _fenced(session: Session, job: Job, **values: Any) -> None:
    result = session.execute(
        update(JobRow)
        .where(
            JobRow.id == job.id,
            JobRow.lease_token == job.lease_token,
            JobRow.state == JobState.running.value,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(f"job {job.id} is no longer held by this worker")


def complete(session: Session, job: Job) -> None:
    """Mark the job done in the caller's transaction, so its effects and its completion commit
    together. Raises LeaseLost (and the caller's transaction rolls back) if another worker
    took the job over."""
    _fenced(
        session,
        job,
        state=JobState.done.value,
        finished_at=utcnow(),
        dedupe_key=None,
        lease_owner=None,
        lease_token=None,
        lease_expires_at=None,
        last_error=None,
    )


def retry_delay(base: timedelta, attempts: int, cap: timedelta = timedelta(hours=6)) -> timedelta:
    """Exponential backoff: base, 2×base, 4×base, … capped."""
    return min(cap, base * (2 ** max(0, attempts - 1)))


def fail(session: Session, job: Job, error: str, retry_in: timedelta | None) -> JobState:
    """Record a failed attempt: retry after `retry_in` while attempts remain, else give up."""
    error = error[:MAX_ERROR]
    now = utcnow()
    if retry_in is not None and job.attempts < job.max_attempts:
        _fenced(
            session,
            job,
            state=JobState.queued.value,
            run_at=now + retry_in,
            last_error=error,
            lease_owner=None,
            lease_token=None,
            lease_expires_at=None,
        )
        return JobState.queued
    _fenced(
        session,
        job,
        state=JobState.failed.value,
        finished_at=now,
        dedupe_key=None,
        last_error=error,
        lease_owner=None,
        lease_token=None,
        lease_expires_at=None,
    )
    return JobState.failed


def extend(db: Database, job: Job, lease: timedelta) -> None:
    """Keep holding a long job (a heartbeat)."""
    with db.write() as session:
        _fenced(session, job, lease_expires_at=utcnow() + lease)


@dataclass(frozen=True)
class JobView:
    id: int
    kind: str
    state: str
    attempts: int
    max_attempts: int
    run_at: datetime
    last_error: str | None
    payload: dict[str, Any]


def _view(row: JobRow) -> JobView:
    return JobView(
        row.id,
        row.kind,
        row.state,
        row.attempts,
        row.max_attempts,
        row.run_at,
        row.last_error,
        json.loads(row.payload),
    )


def get(session: Session, job_id: int) -> JobView | None:
    row = session.get(JobRow, job_id)
    return _view(row) if row is not None else None


def listing(
    session: Session, state: JobState | None = None, kind: str | None = None, limit: int = 100
) -> list[JobView]:
    query = select(JobRow).order_by(JobRow.run_at.desc(), JobRow.id.desc()).limit(limit)
    if state is not None:
        query = query.where(JobRow.state == state.value)
    if kind is not None:
        query = query.where(JobRow.kind == kind)
    return [_view(r) for r in session.scalars(query)]

"""Job handlers of this capability (registered with hotline.jobs.worker.job_handler).

- takedown.tick (every minute): enqueue the re-checks and reminders that are due, one live
  job per case at most (dedupe keys "recheck:<case>" and "remind:<case>").
- takedown.recheck: fetch the URL through the safe fetcher and apply the removal decision.
- takedown.remind: queue the reminder that is due (and escalate after enough of them).
- takedown.send_notice: deliver one notice, reminder or escalation (see sending.py).

Every handler writes its effects and completes its job in one transaction (`ctx.complete`).
They fetch under `fetch_policy(ctx)`: the policy the worker was handed (tests: loopback
only), else the running hotline's, from its settings.

Event handlers: "verdict.criminal" opens the URL's takedown case (takedown.open_case).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from hotline.assess.fetcher import FetchPolicy, fetch_policy_from
from hotline.db.base import utcnow
from hotline.jobs import queue
from hotline.jobs.events import on
from hotline.jobs.worker import GiveUp, JobContext, Retry, job_handler
from hotline.takedown import cases, checks, sending
from hotline.takedown.delivery import DeliveryError
from hotline.takedown.tables import TakedownCaseRow

TICK_JOB = "takedown.tick"
REMIND_JOB = "takedown.remind"
TICK_BATCH = 500  # per tick; the rest waits a minute (a backlog drains, it never floods)


def _id(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise GiveUp(f"the job's payload has no {key}")
    return value


def fetch_policy(ctx: JobContext) -> FetchPolicy:
    return ctx.resource(FetchPolicy, fetch_policy_from)


@on("verdict.criminal", kind="takedown.open_case")
def open_case(ctx: JobContext) -> None:
    """A criminal verdict opens the URL's case (idempotent: one case per URL)."""
    url_id = _id(ctx.payload, "url_id")
    with ctx.db.write() as session:
        cases.propose(session, url_id, ctx.settings)
        ctx.complete(session)


@job_handler(TICK_JOB, every=timedelta(minutes=1))
def tick(ctx: JobContext) -> None:
    now = utcnow()
    with ctx.db.write() as session:
        open_cases = TakedownCaseRow.removed_at.is_(None)
        due_checks = session.scalars(
            select(TakedownCaseRow.id)
            .where(open_cases, TakedownCaseRow.next_check_at <= now)
            .order_by(TakedownCaseRow.next_check_at)
            .limit(TICK_BATCH)
        ).all()
        for case_id in due_checks:
            queue.enqueue(
                session,
                checks.RECHECK_JOB,
                {"case_id": case_id},
                dedupe_key=f"recheck:{case_id}",
                max_attempts=3,
            )
        due_reminders = session.scalars(
            select(TakedownCaseRow.id)
            .where(open_cases, TakedownCaseRow.next_reminder_at <= now)
            .order_by(TakedownCaseRow.next_reminder_at)
            .limit(TICK_BATCH)
        ).all()
        for case_id in due_reminders:
            queue.enqueue(session, REMIND_JOB, {"case_id": case_id}, dedupe_key=f"remind:{case_id}")
        ctx.complete(session)


@job_handler(checks.RECHECK_JOB, max_attempts=3)
def recheck(ctx: JobContext) -> None:
    case_id = _id(ctx.payload, "case_id")
    with ctx.db.read() as session:
        target = checks.target(session, case_id)
    if target is None:
        return  # removed meanwhile, or gone: nothing to check
    observation = checks.fetch(fetch_policy(ctx), target.url)
    with ctx.db.write() as session:
        checks.apply(session, target, observation, ctx.settings, utcnow())
        ctx.complete(session)


@job_handler(REMIND_JOB)
def remind(ctx: JobContext) -> None:
    case_id = _id(ctx.payload, "case_id")
    with ctx.db.write() as session:
        cases.remind(session, case_id, ctx.settings)
        ctx.complete(session)


@job_handler(sending.SEND_JOB)
def send_notice(ctx: JobContext) -> None:
    notice_id = _id(ctx.payload, "notice_id")
    settings = ctx.settings
    # (1) Mark the attempt before sending, in its own transaction.
    with ctx.db.write() as session:
        outgoing = sending.begin_attempt(session, notice_id, settings)
        if outgoing is None:  # sent, given up or cancelled already
            ctx.complete(session)
            return
        if outgoing.problem is not None:  # it can never go: fail it and flag the case
            sending.attempt_failed(
                session, notice_id, outgoing.problem, permanent=True, settings=settings
            )
            ctx.complete(session)
            return
    # (2) Send. A worker dying here leaves the notice "sending": at-least-once (sending.py).
    try:
        sending.deliver(outgoing, settings, fetch_policy(ctx))
    except DeliveryError as exc:
        with ctx.db.write() as session:
            final = sending.attempt_failed(
                session, notice_id, str(exc), permanent=not exc.temporary, settings=settings
            )
            if final:
                ctx.complete(session)
                return
        raise Retry(str(exc)) from exc  # the worker backs off from notice_retry_seconds
    # (3) Sent, and the job done, in one transaction.
    with ctx.db.write() as session:
        sending.attempt_succeeded(session, notice_id, settings)
        ctx.complete(session)

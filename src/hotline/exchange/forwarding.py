"""Forwarding a takedown case to the partner hotline of the hosting country, and the status
updates both ways: what the partner tells us of our forwards, what we owe partners of theirs.

Everything here runs in the caller's transaction; the network calls are the jobs'
(`hotline.exchange.job_handlers`), so a decision and the work it causes commit together.
Takedown comes before exchange: takedown's decisions reach this module as events (a case
opened, a removal), and a partner's "removed" stops the clock through takedown's
record_removal, called directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from hotline.exchange import partners
from hotline.exchange.messages import Forward, RemoteStatus, StatusUpdate, rank
from hotline.exchange.partners import Partner
from hotline.exchange.tables import ForwardRow, InboundReportRow
from hotline.intake.tables import ReportedUrlRow
from hotline.jobs import queue
from hotline.security import audit
from hotline.takedown.cases import record_removal
from hotline.takedown.tables import TakedownCaseRow

FORWARD_JOB = "exchange.forward"
STATUS_JOB = "exchange.status"
# An offline partner is retried with doubling delays (capped at hours) for days, not minutes.
MAX_ATTEMPTS = 50


class ForwardState(StrEnum):
    pending = "pending"  # waiting for (or between) delivery attempts
    delivered = "delivered"
    failed = "failed"  # refused by the partner or out of attempts; the case is flagged
    cancelled = "cancelled"  # the content was gone before the partner could be told


def start_forward(session: Session, case_id: int, partner_id: int) -> int:
    """Hand a case to a partner: a ForwardRow and an "exchange.forward" job. Idempotent per
    case; a failed or cancelled forward is queued again (a takedown officer's retry)."""
    partner = partners.get(session, partner_id)
    if not partner.enabled:
        raise Conflict(N_("partner hotline '%(name)s' is disabled", name=partner.name))
    if session.get(TakedownCaseRow, case_id) is None:
        raise NotFound(N_("no takedown case has id %(case_id)s", case_id=case_id))
    row = session.execute(
        select(ForwardRow).where(ForwardRow.case_id == case_id).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        row = ForwardRow(
            case_id=case_id,
            partner_id=partner_id,
            state=ForwardState.pending.value,
            attempts=0,
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
    elif row.state in (ForwardState.failed.value, ForwardState.cancelled.value):
        row.state, row.partner_id, row.last_error = ForwardState.pending.value, partner_id, None
    else:
        return row.id
    queue.enqueue(
        session,
        FORWARD_JOB,
        {"forward_id": row.id},
        dedupe_key=f"{FORWARD_JOB}:{row.id}",
        max_attempts=MAX_ATTEMPTS,
    )
    return row.id


def notify_status(session: Session, url_id: int, status: str) -> None:
    """If `url_id` came from partners, queue an "exchange.status" job for each to tell it
    `status` ("actioned" or "removed"); a no-op for our own reports and for news a partner
    already has."""
    update = RemoteStatus(status)  # ValueError for anything else: a caller's bug
    at = utcnow()
    if update is RemoteStatus.removed:
        removed_at = session.scalar(
            select(ReportedUrlRow.removed_at).where(ReportedUrlRow.id == url_id)
        )
        at = removed_at or at
    rows = session.scalars(select(InboundReportRow).where(InboundReportRow.url_id == url_id)).all()
    for row in rows:
        if rank(row.last_status_sent) >= rank(update):
            continue
        queue.enqueue(
            session,
            STATUS_JOB,
            {"inbound_id": row.id, "status": update.value, "at": at.isoformat()},
            dedupe_key=f"{STATUS_JOB}:{row.id}:{update.value}",
            max_attempts=MAX_ATTEMPTS,
        )


# -- delivery bookkeeping (the forward job) ----------------------------------------------------


@dataclass(frozen=True)
class Outbound:
    forward_id: int
    case_id: int
    partner: Partner
    message: Forward


def pending_forward(session: Session, forward_id: int) -> Outbound | None:
    """What to send for this forward, or None when there is nothing to do (delivered already,
    failed, or the content was removed first: then it is cancelled here)."""
    row = session.get(ForwardRow, forward_id, with_for_update=True)
    if row is None or row.state != ForwardState.pending.value:
        return None
    case = session.get(TakedownCaseRow, row.case_id)
    assert case is not None  # a foreign key
    if case.removed_at is not None:
        row.state = ForwardState.cancelled.value
        row.last_error = "the content was removed before the forward was delivered"
        return None
    url = session.get(ReportedUrlRow, case.url_id)
    assert url is not None
    message = Forward(
        str(row.id), url.normalized_url, case.first_reported_at, case.category, case.reference
    )
    return Outbound(row.id, case.id, partners.get(session, row.partner_id), message)


def delivered(session: Session, forward_id: int, remote_reference: str, now: datetime) -> None:
    row = session.get(ForwardRow, forward_id, with_for_update=True)
    assert row is not None
    row.state = ForwardState.delivered.value
    row.attempts += 1
    row.last_error = None
    row.remote_reference = remote_reference[:64]
    row.delivered_at = now
    if rank(row.remote_status) < rank(RemoteStatus.received):  # a status may have come first
        row.remote_status, row.remote_status_at = RemoteStatus.received.value, now
    case = session.get(TakedownCaseRow, row.case_id, with_for_update=True)
    if case is not None and case.first_notice_at is None:
        # On the partner route the forward is the notice: the removal figures count from it.
        case.first_notice_at = case.last_notice_at = now
    audit.record(
        session,
        audit.SYSTEM,
        "exchange.forwarded",
        "exchange_forward",
        row.id,
        {
            "case_id": row.case_id,
            "partner_id": row.partner_id,
            "remote_reference": remote_reference,
        },
    )


def attempt_failed(session: Session, forward_id: int, error: str, *, final: bool) -> None:
    """Count a failed attempt; on the last one the forward fails and the case is flagged."""
    row = session.get(ForwardRow, forward_id, with_for_update=True)
    assert row is not None
    row.attempts += 1
    row.last_error = error[:2000]
    if not final:
        return
    row.state = ForwardState.failed.value
    case = session.get(TakedownCaseRow, row.case_id, with_for_update=True)
    partner = partners.get(session, row.partner_id)
    if case is not None:
        case.flagged = True
        case.flag_reason = f"forward to partner hotline {partner.name} failed: {error}"[:2000]
    audit.record(
        session,
        audit.SYSTEM,
        "exchange.forward_failed",
        "exchange_forward",
        row.id,
        {"case_id": row.case_id, "partner": partner.name, "error": error[:500]},
    )


# -- statuses partners send about our forwards -------------------------------------------------


def record_remote_status(
    session: Session, partner: Partner, update: StatusUpdate, skew_seconds: int
) -> str:
    """Apply a partner's status update to the forward we sent it; returns the status now held.
    "removed" stops the case's clock through takedown's record_removal."""
    row = None
    if update.forward_id.isdigit():
        row = session.get(ForwardRow, int(update.forward_id), with_for_update=True)
    if row is None or row.partner_id != partner.id:
        raise NotFound(N_("no forward with that id was sent to you"))
    if update.at > utcnow() + timedelta(seconds=skew_seconds):
        raise InvalidInput(
            N_("the status update has problems; nothing was stored"),
            fields=[FieldError("at", N_("is in the future"))],
        )
    changed = rank(update.status) > rank(row.remote_status)
    if changed:
        row.remote_status, row.remote_status_at = update.status.value, update.at
    if changed and update.status is RemoteStatus.removed:
        case = session.get(TakedownCaseRow, row.case_id)
        assert case is not None
        # Their clock is not ours: keep the removal between our first report and now.
        at = min(max(update.at, case.first_reported_at), utcnow())
        record_removal(session, row.case_id, at, reason="partner_reported")
    # Audited after the case is touched: locks are always taken case first, audit head last
    # (as takedown's handlers do), so the two paths cannot deadlock on PostgreSQL.
    audit.record(
        session,
        audit.SYSTEM,
        "exchange.status_received",
        "exchange_forward",
        row.id,
        {"partner": partner.name, "status": update.status.value, "applied": changed},
    )
    return row.remote_status or update.status.value


# -- for staff pages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ForwardView:
    id: int
    case_id: int
    case_reference: str
    partner: str
    state: str
    attempts: int
    last_error: str | None
    remote_reference: str | None
    remote_status: str | None
    created_at: datetime
    delivered_at: datetime | None


def recent(session: Session, names: dict[int, str], limit: int = 50) -> list[ForwardView]:
    rows = session.execute(
        select(ForwardRow, TakedownCaseRow.reference)
        .join(TakedownCaseRow, TakedownCaseRow.id == ForwardRow.case_id)
        .order_by(ForwardRow.created_at.desc(), ForwardRow.id.desc())
        .limit(limit)
    ).all()
    return [
        ForwardView(
            f.id,
            f.case_id,
            reference,
            names.get(f.partner_id, "?"),
            f.state,
            f.attempts,
            f.last_error,
            f.remote_reference,
            f.remote_status,
            f.created_at,
            f.delivered_at,
        )
        for f, reference in rows
    ]

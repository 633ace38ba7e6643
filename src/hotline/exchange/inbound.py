"""Reports partners forward to us: stored through the intake path (source "partner"), with
their provenance beside them, and the status updates we owe the sender."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.exchange.messages import Forward, RemoteStatus, StatusUpdate, rank
from hotline.exchange.partners import Partner
from hotline.exchange.tables import InboundReportRow
from hotline.intake import actions as intake_actions
from hotline.intake import reports
from hotline.intake.tables import ReportRow
from hotline.security import audit


@dataclass(frozen=True)
class Received:
    reference: str  # ours: the report's reference, which the sender keeps
    created: bool  # False: this forward had already arrived (a retry)


def receive(
    session: Session, partner: Partner, forward: Forward, key_id: str, now: datetime
) -> Received:
    """Store a forwarded report once per (partner, forward id), in the caller's transaction.
    The caller holds the partner's row lock, so a retry racing its original waits for it."""
    existing = session.execute(
        select(InboundReportRow.reference).where(
            InboundReportRow.partner_id == partner.id,
            InboundReportRow.remote_id == forward.forward_id,
        )
    ).scalar_one_or_none()
    if existing is not None:
        return Received(existing, created=False)
    report = reports.validate({"url": forward.url})  # InvalidInput names the url field
    submitted = intake_actions.receive_report(
        session, report, reports.Source.partner, origin=reports.Origin.partner_hotline
    )
    url_id = session.execute(
        select(ReportRow.url_id).where(ReportRow.reference == submitted.reference)
    ).scalar_one()
    provenance = {
        "partner": partner.name,
        "forward_id": forward.forward_id,
        "reference": forward.reference,
        "first_reported_at": forward.first_reported_at.isoformat(),
        "category": forward.category,
        "key_id": key_id,
        "received_at": now.isoformat(),
    }
    row = InboundReportRow(
        partner_id=partner.id,
        remote_id=forward.forward_id,
        reference=submitted.reference,
        url_id=url_id,
        provenance=json.dumps(provenance, sort_keys=True),
        received_at=now,
        last_status_sent=RemoteStatus.received.value,  # the 201 itself tells them
    )
    session.add(row)
    session.flush()
    audit.record(
        session, audit.SYSTEM, "exchange.report_received", "exchange_inbound", row.id, provenance
    )
    return Received(submitted.reference, created=True)


@dataclass(frozen=True)
class OwedStatus:
    """A status update to send: where, and what."""

    inbound_id: int
    partner_id: int
    update: StatusUpdate


def owed_status(
    session: Session, inbound_id: int, status: RemoteStatus, at: datetime
) -> OwedStatus | None:
    """The update for this inbound report, or None if the partner already has it (or a later
    one: updates only move forward)."""
    row = session.get(InboundReportRow, inbound_id)
    if row is None or rank(row.last_status_sent) >= rank(status):
        return None
    return OwedStatus(row.id, row.partner_id, StatusUpdate(row.remote_id, status, at))


def status_sent(session: Session, inbound_id: int, status: RemoteStatus) -> None:
    row = session.get(InboundReportRow, inbound_id, with_for_update=True)
    if row is not None and rank(status) > rank(row.last_status_sent):
        row.last_status_sent = status.value


@dataclass(frozen=True)
class InboundView:
    id: int
    partner: str
    their_reference: str
    reference: str
    url_id: int
    received_at: datetime
    last_status_sent: str | None


def recent(session: Session, names: dict[int, str], limit: int = 50) -> list[InboundView]:
    rows = session.scalars(
        select(InboundReportRow).order_by(InboundReportRow.received_at.desc()).limit(limit)
    )
    return [
        InboundView(
            r.id,
            names.get(r.partner_id, "?"),
            json.loads(r.provenance).get("reference", ""),
            r.reference,
            r.url_id,
            r.received_at,
            r.last_status_sent,
        )
        for r in rows
    ]

"""Storing host traces: rows in `host_traces` in, plain dataclasses out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.assess.hosting import HostTrace
from hotline.assess.hosting_tables import HostTraceRow
from hotline.errors import N_, InvalidInput, Message, NotFound
from hotline.grading.tables import PageCaptureRow
from hotline.intake.tables import ReportedUrlRow


@dataclass(frozen=True, slots=True)
class StoredTrace:
    id: int
    url_id: int
    capture_id: int | None
    ip: str | None
    outcome: str  # a TraceOutcome value
    asn: int | None
    organisation: str | None
    network: str | None
    country: str | None
    abuse_emails: tuple[str, ...]
    sources: dict[str, str]  # field -> the resolver that answered it
    traced_at: datetime
    answered: tuple[str, ...] = ()
    errors: tuple[dict[str, str], ...] = ()  # {"source", "code", "message"}
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # per resolver


def record_trace(
    session: Session, url_id: int, capture_id: int | None, trace: HostTrace
) -> StoredTrace:
    """Store a trace in the caller's transaction; every outcome is kept, refusals included,
    so the case page can say why there is no host."""
    if session.get(ReportedUrlRow, url_id) is None:
        raise NotFound(N_("no reported URL with that id"))
    if capture_id is not None:
        capture = session.get(PageCaptureRow, capture_id)
        if capture is None or capture.url_id != url_id:
            raise InvalidInput(N_("that capture is not of this reported URL"))
    info = trace.info
    details = {
        "resolvers": dict(info.details) if info else {},
        "answered": list(trace.answered),
        "errors": [
            {"source": e.source, "code": e.code, "message": e.message} for e in trace.errors
        ],
        # The English text (as before), and the id and values to translate it where shown.
        "message": trace.message,
        **_message_parts(trace.message),
    }
    row = HostTraceRow(
        url_id=url_id,
        capture_id=capture_id,
        ip=trace.ip,
        outcome=trace.outcome.value,
        asn=trace.asn,
        organisation=trace.organisation,
        network=trace.network,
        country=trace.country,
        abuse_emails=",".join(trace.abuse_emails) or None,
        sources=json.dumps(dict(info.field_sources) if info else {}, sort_keys=True),
        traced_at=trace.traced_at,
        details=json.dumps(details, sort_keys=True, default=str),
    )
    session.add(row)
    session.flush()
    return _stored(row)


def latest_trace(session: Session, url_id: int) -> StoredTrace | None:
    """The most recent trace of a reported URL, or None if it was never traced."""
    row = session.scalars(
        select(HostTraceRow)
        .where(HostTraceRow.url_id == url_id)
        .order_by(HostTraceRow.traced_at.desc(), HostTraceRow.id.desc())
        .limit(1)
    ).first()
    return _stored(row) if row is not None else None


def _stored(row: HostTraceRow) -> StoredTrace:
    details = json.loads(row.details)
    return StoredTrace(
        id=row.id,
        url_id=row.url_id,
        capture_id=row.capture_id,
        ip=row.ip,
        outcome=row.outcome,
        asn=row.asn,
        organisation=row.organisation,
        network=row.network,
        country=row.country,
        abuse_emails=tuple(row.abuse_emails.split(",")) if row.abuse_emails else (),
        sources=json.loads(row.sources),
        traced_at=row.traced_at,
        answered=tuple(details.get("answered", ())),
        errors=tuple(details.get("errors", ())),
        message=_message(details),
        details=details.get("resolvers", {}),
    )


def _message_parts(message: str) -> dict[str, Any]:
    if isinstance(message, Message) and message.params:
        return {"message_id": message.id, "message_params": dict(message.params)}
    return {}


def _message(details: Mapping[str, Any]) -> str:
    """The trace's message as a translatable id with its values. A row stored before the
    values were kept apart has its English text, which is itself the id when it had none."""
    if "message_id" in details:
        return Message(details["message_id"], details.get("message_params") or {})
    return str(details.get("message", ""))

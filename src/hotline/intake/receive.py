"""The one path by which a checked report is stored, for the form and the API alike:
rate limit (by keyed hash, never the address), seal or drop the email, store, audit."""

from __future__ import annotations

from fastapi import Request

from hotline.errors import RateLimited
from hotline.intake import reports
from hotline.security import audit
from hotline.web.deps import client_address, get_db, get_settings


def receive(
    request: Request, report: reports.ReportInput, source: reports.Source, limit_message: str
) -> reports.SubmittedReport:
    retry_after = request.app.state.report_limiter.hit(client_address(request))
    if retry_after is not None:
        raise RateLimited(limit_message, retry_after)
    sealer = request.app.state.email_sealer if get_settings(request).store_reporter_email else None
    with get_db(request).write() as session:
        submitted = reports.submit(session, report, source, sealer)
        audit.record(
            session,
            audit.SYSTEM,
            "report.received",
            "report",
            submitted.reference,
            {"source": source.value, "duplicate": submitted.status == "duplicate"},
        )
    # Returned only after the commit: a reporter never holds a reference that was not stored.
    return submitted

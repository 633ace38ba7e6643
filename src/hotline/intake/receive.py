"""What the form and the API share before the report-received action: the rate limit (by
keyed hash, never the address), the email sealer when emails are kept, the transaction."""

from __future__ import annotations

from fastapi import Request

from hotline.errors import RateLimited
from hotline.intake import actions, reports
from hotline.web.deps import client_address, get_db, get_settings


def receive(
    request: Request, report: reports.ReportInput, source: reports.Source, limit_message: str
) -> reports.SubmittedReport:
    retry_after = request.app.state.report_limiter.hit(client_address(request))
    if retry_after is not None:
        raise RateLimited(limit_message, retry_after)
    sealer = request.app.state.email_sealer if get_settings(request).store_reporter_email else None
    with get_db(request).write() as session:
        submitted = actions.receive_report(session, report, source, email_sealer=sealer)
    # Returned only after the commit: a reporter never holds a reference that was not stored.
    return submitted

"""Intake's use case: a report received. The one path by which a checked report is stored and
audited, for the public form, the report API, partner hotlines' forwards and the demo alike
(docs/architecture.md, "Actions").

Reporters are anonymous, so there is no permission to check and the audit entry's actor is
"system". The type is the validation: only `reports.validate` makes a `ReportInput`, and
callers run it first, before the rate limit, so a form with mistakes costs no attempt.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from hotline.intake import reports
from hotline.security import audit
from hotline.security.crypto import Sealer


def receive_report(
    session: Session,
    report: reports.ReportInput,
    source: reports.Source,
    *,
    email_sealer: Sealer | None = None,
    origin: reports.Origin = reports.Origin.public,
) -> reports.SubmittedReport:
    """Store the report (de-duplicated by its URL) and audit it, in the caller's transaction.
    `email_sealer` None: the reporter's email is not kept. `origin`: who found the URL (the
    published figures count by it); `source` is only the channel it came through."""
    return receive_reports(session, [report], source, email_sealer=email_sealer, origin=origin)[0]


def receive_reports(
    session: Session,
    checked: Sequence[reports.ReportInput],
    source: reports.Source,
    *,
    email_sealer: Sealer | None = None,
    origin: reports.Origin = reports.Origin.public,
) -> list[reports.SubmittedReport]:
    """`receive_report` for several reports at once (a crawl's batch of pages), in order: a
    few statements and one audit append (one lock of the audit head) however many."""
    submitted = reports.submit_many(session, checked, source, email_sealer, origin)
    audit.record_many(
        session.connection(),
        [
            audit.NewEntry(
                audit.SYSTEM,
                "report.received",
                "report",
                one.reference,
                {
                    "source": source.value,
                    "origin": origin.value,
                    "duplicate": one.status == "duplicate",
                },
            )
            for one in submitted
        ],
    )
    return submitted

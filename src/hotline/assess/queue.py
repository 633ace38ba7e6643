"""The assessment queue: claim a reported URL with a lease, give it a verdict, or let it go.

A claim is one conditional UPDATE (free, expired, or already mine), so two analysts can never
hold the same item, on SQLite or PostgreSQL, without explicit locks. An abandoned claim simply
expires and the item is claimable again. The reporter's public status follows the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import Conflict, FieldError, InvalidInput, NotFound
from hotline.intake.reports import UrlStatus
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.security.tables import UserRow

DEFAULT_CLAIM = timedelta(minutes=30)
MAX_NOTE = 2000
_OPEN = (UrlStatus.received.value, UrlStatus.in_assessment.value)


class Verdict(StrEnum):
    criminal = "criminal"  # criminal content present
    not_criminal = "not_criminal"
    unreachable = "unreachable"
    duplicate = "duplicate"


# Reason codes per verdict, in clinical terms; shown to staff, never to reporters.
REASONS: dict[Verdict, tuple[str, ...]] = {
    Verdict.criminal: (
        "indecent_images",  # photographic images of children (UK: Protection of Children Act)
        "prohibited_images",  # non-photographic: drawn, computer- or AI-generated
        "links_to_criminal_content",  # the page links to or advertises such content
    ),
    Verdict.not_criminal: (
        "adult_content",
        "child_not_indecent",
        "no_relevant_content",
        "outside_remit",
    ),
    Verdict.unreachable: ("not_found", "server_error", "timeout", "dns_failure", "access_blocked"),
    Verdict.duplicate: ("same_content_as_other_url",),
}

_STATUS_FOR: dict[Verdict, UrlStatus] = {
    Verdict.criminal: UrlStatus.actioned,
    Verdict.not_criminal: UrlStatus.no_action,
    Verdict.unreachable: UrlStatus.no_action,
    Verdict.duplicate: UrlStatus.duplicate,
}


@dataclass(frozen=True)
class QueueEntry:
    url_id: int
    url: str
    host: str
    status: UrlStatus
    priority: int
    report_count: int
    first_reported_at: datetime
    claimed_by: str | None  # username, while the claim is live
    claim_expires_at: datetime | None


@dataclass(frozen=True)
class ReportSummary:
    reference: str
    content_type: str
    country: str | None
    description: str | None
    source: str
    created_at: datetime


@dataclass(frozen=True)
class UrlCase:
    entry: QueueEntry
    verdict: Verdict | None
    verdict_reason: str | None
    verdict_note: str | None
    verdict_by: str | None
    verdict_at: datetime | None
    duplicate_of: int | None
    reports: list[ReportSummary]

    def claimed_by_other(self, username: str) -> bool:
        return self.entry.claimed_by is not None and self.entry.claimed_by != username


def _live_claim(row: ReportedUrlRow, now: datetime) -> bool:
    return (
        row.claimed_by is not None
        and row.claim_expires_at is not None
        and (row.claim_expires_at > now)
    )


def _entry(row: ReportedUrlRow, names: dict[int, str], now: datetime) -> QueueEntry:
    live = _live_claim(row, now)
    return QueueEntry(
        url_id=row.id,
        url=row.normalized_url,
        host=row.host,
        status=UrlStatus(row.status),
        priority=row.priority,
        report_count=row.report_count,
        first_reported_at=row.first_reported_at,
        claimed_by=names.get(row.claimed_by) if live and row.claimed_by else None,
        claim_expires_at=row.claim_expires_at if live else None,
    )


def _usernames(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(UserRow.id, UserRow.username).where(UserRow.id.in_(ids)))
    return {user_id: name for user_id, name in rows}


def waiting(session: Session, *, limit: int = 50, offset: int = 0) -> list[QueueEntry]:
    """Open items: highest priority first, then the oldest report."""
    rows = list(
        session.execute(
            select(ReportedUrlRow)
            .where(ReportedUrlRow.status.in_(_OPEN))
            .order_by(
                ReportedUrlRow.priority.desc(),
                ReportedUrlRow.first_reported_at,
                ReportedUrlRow.id,
            )
            .limit(limit)
            .offset(offset)
        ).scalars()
    )
    now = utcnow()
    names = _usernames(session, {r.claimed_by for r in rows if r.claimed_by})
    return [_entry(r, names, now) for r in rows]


def waiting_count(session: Session) -> int:
    return session.execute(
        select(func.count()).select_from(ReportedUrlRow).where(ReportedUrlRow.status.in_(_OPEN))
    ).scalar_one()


def get_case(session: Session, url_id: int) -> UrlCase:
    row = session.get(ReportedUrlRow, url_id)
    if row is None:
        raise NotFound("no reported URL with that id")
    now = utcnow()
    names = _usernames(session, {i for i in (row.claimed_by, row.verdict_by) if i})
    reports = [
        ReportSummary(r.reference, r.content_type, r.country, r.description, r.source, r.created_at)
        for r in session.execute(
            select(ReportRow).where(ReportRow.url_id == url_id).order_by(ReportRow.id)
        ).scalars()
    ]
    return UrlCase(
        entry=_entry(row, names, now),
        verdict=Verdict(row.verdict) if row.verdict else None,
        verdict_reason=row.verdict_reason,
        verdict_note=row.verdict_note,
        verdict_by=names.get(row.verdict_by) if row.verdict_by else None,
        verdict_at=row.verdict_at,
        duplicate_of=row.duplicate_of_id,
        reports=reports,
    )


def _claimable(user_id: int, now: datetime):  # type: ignore[no-untyped-def]
    return and_(
        ReportedUrlRow.status.in_(_OPEN),
        or_(
            ReportedUrlRow.claimed_by.is_(None),
            ReportedUrlRow.claim_expires_at <= now,
            ReportedUrlRow.claimed_by == user_id,
        ),
    )


def claim(session: Session, url_id: int, user_id: int, lease: timedelta = DEFAULT_CLAIM) -> None:
    """Claim (or renew my claim on) one item; Conflict if someone else holds it."""
    now = utcnow()
    result = session.execute(
        update(ReportedUrlRow)
        .where(ReportedUrlRow.id == url_id, _claimable(user_id, now))
        .values(
            claimed_by=user_id,
            claim_expires_at=now + lease,
            status=UrlStatus.in_assessment.value,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return
    row = session.get(ReportedUrlRow, url_id)
    if row is None:
        raise NotFound("no reported URL with that id")
    if row.status not in _OPEN:
        raise Conflict("this address has already been assessed")
    raise Conflict("another analyst is assessing this address")


def claim_next(
    session: Session, user_id: int, lease: timedelta = DEFAULT_CLAIM, tries: int = 5
) -> int | None:
    """Claim the first claimable item in queue order; None when nothing is free."""
    now = utcnow()
    candidates = session.execute(
        select(ReportedUrlRow.id)
        .where(_claimable(user_id, now))
        .order_by(
            ReportedUrlRow.priority.desc(), ReportedUrlRow.first_reported_at, ReportedUrlRow.id
        )
        .limit(tries)
    ).scalars()
    for url_id in list(candidates):
        try:
            claim(session, url_id, user_id, lease)
        except Conflict:
            continue  # taken between our look and our update: try the next
        return url_id
    return None


def release(session: Session, url_id: int, user_id: int) -> None:
    result = session.execute(
        update(ReportedUrlRow)
        .where(
            ReportedUrlRow.id == url_id,
            ReportedUrlRow.claimed_by == user_id,
            ReportedUrlRow.status == UrlStatus.in_assessment.value,
        )
        .values(claimed_by=None, claim_expires_at=None, status=UrlStatus.received.value)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("you do not hold a claim on this address")


def validate_verdict(
    verdict: str, reason: str, note: str | None, duplicate_of: str | int | None
) -> tuple[Verdict, str, str | None, int | None]:
    errors: list[FieldError] = []
    parsed: Verdict | None = None
    if verdict in Verdict.__members__:
        parsed = Verdict(verdict)
        if reason not in REASONS[parsed]:
            errors.append(FieldError("decision", f"choose one of: {', '.join(REASONS[parsed])}"))
    else:
        errors.append(FieldError("decision", "choose a verdict and its reason"))
    note = (note or "").strip() or None
    if note and len(note) > MAX_NOTE:
        errors.append(FieldError("note", f"at most {MAX_NOTE} characters"))
    duplicate_id: int | None = None
    if parsed is Verdict.duplicate:
        try:
            duplicate_id = int(str(duplicate_of))
        except ValueError:
            errors.append(FieldError("duplicate_of", "give the id of the URL this duplicates"))
    if errors or parsed is None:
        raise InvalidInput("the verdict has problems; nothing was recorded", fields=errors)
    return parsed, reason, note, duplicate_id


def record_verdict(
    session: Session,
    url_id: int,
    user_id: int,
    verdict: Verdict,
    reason: str,
    note: str | None = None,
    duplicate_of: int | None = None,
) -> UrlStatus:
    """Record the verdict of the analyst holding a live claim; close the item."""
    if duplicate_of is not None and (
        duplicate_of == url_id or session.get(ReportedUrlRow, duplicate_of) is None
    ):
        raise InvalidInput(
            "the verdict has problems; nothing was recorded",
            fields=[FieldError("duplicate_of", "no other reported URL has that id")],
        )
    now = utcnow()
    status = _STATUS_FOR[verdict]
    result = session.execute(
        update(ReportedUrlRow)
        .where(
            ReportedUrlRow.id == url_id,
            ReportedUrlRow.claimed_by == user_id,
            ReportedUrlRow.claim_expires_at > now,
            ReportedUrlRow.status == UrlStatus.in_assessment.value,
        )
        .values(
            status=status.value,
            verdict=verdict.value,
            verdict_reason=reason,
            verdict_note=note,
            verdict_by=user_id,
            verdict_at=now,
            duplicate_of_id=duplicate_of,
            claimed_by=None,
            claim_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        if session.get(ReportedUrlRow, url_id) is None:
            raise NotFound("no reported URL with that id")
        raise Conflict("claim this address (or renew an expired claim) before giving a verdict")
    return status

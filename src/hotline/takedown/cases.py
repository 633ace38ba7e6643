"""Takedown cases: one per URL with the verdict "criminal content present", from proposal to
removal.

A case is routed once, when it is proposed: to the partner hotline of the host's country if
there is one (the report is forwarded to them instead of a notice to the host), otherwise to
the hosting provider the directory matches for the traced host. A notice waits for a takedown
officer's confirmation unless settings.notice_auto_send says otherwise. Its clocks (first
reported, first notice, removed) are what the time-to-removal figures are made of, so they are
snapshots taken when they happen, never recomputed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import column, func, select, table
from sqlalchemy.orm import Session

from hotline.assess.hosting_store import latest_trace
from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from hotline.grading.tables import MediaItemRow
from hotline.intake.tables import ReportedUrlRow
from hotline.jobs import events
from hotline.security import audit
from hotline.security.tables import UserRow
from hotline.takedown import directory, schedule, sending
from hotline.takedown.directory import Channel, Provider
from hotline.takedown.sending import NoticeKind, NoticeStatus
from hotline.takedown.tables import (
    HostingProviderRow,
    NoticeRow,
    RecheckRow,
    TakedownCaseRow,
)

OBJECT = "takedown_case"  # the audit log's object type
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
CLOCK_TOLERANCE = timedelta(minutes=5)  # a removal time this far ahead is a clock, not a typo
# A case's partner_id is a foreign key to this table (tables.py); the partner's name is read
# by table name, so takedown does not import exchange, which comes after it.
_PARTNERS = table("partner_hotlines", column("id"), column("name"))


class CaseState(StrEnum):
    proposed = "proposed"  # waiting for a takedown officer to confirm the host
    notified = "notified"  # a notice is on its way or sent; re-checks and reminders run
    forwarded = "forwarded"  # handed to a partner hotline; re-checks run
    removed = "removed"  # the clock stopped
    escalated = "escalated"  # reminders went unanswered; in the staff escalation queue


class Route(StrEnum):
    notice = "notice"  # a notice to the hosting provider
    partner = "partner"  # forwarded to the partner hotline of the host's country


class CaseTab(StrEnum):
    """The lists on the takedown pages."""

    proposed = "proposed"
    notified = "notified"  # notified and forwarded: waiting for removal
    escalated = "escalated"
    flagged = "flagged"  # any state, needing a person
    removed = "removed"


def new_reference() -> str:
    return "TD-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


def worst_category(session: Session, url_id: int) -> str | None:
    """The most severe UK category among the URL's finally graded media (A worst)."""
    grades = session.scalars(
        select(MediaItemRow.final_grade).where(
            MediaItemRow.url_id == url_id, MediaItemRow.final_grade.is_not(None)
        )
    )
    found = {json.loads(g).get("category") for g in grades if g}
    return next((c for c in ("A", "B", "C") if c in found), None)


def _fill_category(session: Session, case: TakedownCaseRow) -> None:
    """Images are often graded after the verdict: a notice made later carries the category
    once there is one. A category already snapshotted is never changed."""
    if case.category is None:
        case.category = worst_category(session, case.url_id)


def _case(session: Session, case_id: int) -> TakedownCaseRow:
    case = session.get(TakedownCaseRow, case_id, with_for_update=True)
    if case is None:
        raise NotFound(N_("no takedown case with that id"))
    return case


def _address(provider: Provider) -> tuple[str, str] | None:
    """(channel, recipient) for the provider's preferred channel, if it has that address."""
    if provider.channel is Channel.webhook:
        return (Channel.webhook.value, provider.webhook_url) if provider.webhook_url else None
    return (Channel.email.value, provider.abuse_email) if provider.abuse_email else None


def _provider_address(session: Session, provider_id: int) -> tuple[Provider, str, str]:
    try:
        provider = directory.get_provider(session, provider_id)
    except NotFound as exc:
        raise InvalidInput(
            N_("choose a hosting provider from the directory"),
            fields=[FieldError("provider_id", N_("no hosting provider has that id"))],
        ) from exc
    address = _address(provider)
    if address is None:
        missing = (
            N_("%(provider)s has no webhook address in the directory", provider=provider.name)
            if provider.channel is Channel.webhook
            else N_("%(provider)s has no email address in the directory", provider=provider.name)
        )
        raise InvalidInput(
            N_("the notice cannot be sent to this provider"),
            fields=[FieldError("provider_id", missing)],
        )
    return provider, address[0], address[1]


# -- proposal and routing ----------------------------------------------------------------------


def propose(session: Session, url_id: int, settings: Settings) -> int | None:
    """Open the takedown case of a URL given the verdict "criminal", in the caller's
    transaction, matching the traced host in the directory, and record "takedown.case_opened".
    Idempotent per URL (returns the existing case's id). None when the URL has no criminal
    verdict or its content is already recorded as removed.

    Routing settles in the reaction to that event (hotline.exchange.job_handlers): the case
    goes to the partner hotline of the host's country if there is one (`route_to_partner`),
    otherwise it stays with the host (`route_to_host`, which sends at once under
    settings.notice_auto_send). Nothing is sent before that, so a partner's country never
    gets a notice to the host as well."""
    url = session.get(ReportedUrlRow, url_id)
    if url is None:
        raise NotFound(N_("no reported URL with that id"))
    if url.verdict != "criminal" or url.removed_at is not None:
        return None
    existing = session.execute(
        select(TakedownCaseRow.id).where(TakedownCaseRow.url_id == url_id)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    trace = latest_trace(session, url_id)
    country = trace.country.upper() if trace and trace.country else None
    case = TakedownCaseRow(
        url_id=url_id,
        reference=new_reference(),
        state=CaseState.proposed.value,
        route=Route.notice.value,
        host_name=((trace.organisation if trace else None) or url.host)[:200],
        country=country,
        category=worst_category(session, url_id),
        first_reported_at=url.first_reported_at,
        proposed_at=utcnow(),
        reminders_sent=0,
        checks=0,
        unreachable_streak=0,
        flagged=False,
    )
    session.add(case)
    session.flush()
    provider: Provider | None = None
    if trace is not None:
        provider = directory.provider_for_host(
            session, asn=trace.asn, country=country, abuse_emails=trace.abuse_emails
        )
        if provider is not None:
            case.provider_id = provider.id
            case.host_name = provider.name
    audit.record(
        session,
        audit.SYSTEM,
        "takedown.case_proposed",
        OBJECT,
        case.id,
        {
            "url_id": url_id,
            "reference": case.reference,
            "route": case.route,
            "provider": provider.id if provider else None,
            "country": country,
            "category": case.category,
        },
    )
    events.emit(
        session, "takedown.case_opened", {"case_id": case.id, "url_id": url_id, "country": country}
    )
    return case.id


def route_to_partner(
    session: Session, case_id: int, partner_id: int, partner_name: str, settings: Settings
) -> bool:
    """The case goes to a partner hotline instead of the host (the partner's reaction to
    "takedown.case_opened" decided so). Our own re-checks run too: removal seen here stops the
    clock without waiting. False if the case has moved on meanwhile (an officer confirmed it,
    or it was removed): it is then left as it is."""
    case = _case(session, case_id)
    if case.state != CaseState.proposed.value:
        return False
    now = utcnow()
    case.route = Route.partner.value
    case.state = CaseState.forwarded.value
    case.partner_id = partner_id
    case.provider_id = None
    case.confirmed_at = now
    case.next_check_at = schedule.next_check(now, now, schedule.Cadence.from_settings(settings))
    audit.record(
        session,
        audit.SYSTEM,
        "takedown.case_forwarded",
        OBJECT,
        case.id,
        {"partner": partner_name, "country": case.country},
    )
    return True


def route_to_host(session: Session, case_id: int, settings: Settings) -> int | None:
    """No partner hotline takes the case: it stays with the host. Under notice_auto_send a
    directory match with an address is confirmed (and its notice queued) at once; otherwise
    it waits for a takedown officer. Returns the notice id, if one was queued."""
    case = _case(session, case_id)
    if case.state != CaseState.proposed.value or case.provider_id is None:
        return None
    if not settings.notice_auto_send:
        return None
    provider = directory.get_provider(session, case.provider_id)
    if _address(provider) is None:
        return None
    return confirm(session, case.id, provider_id=provider.id, settings=settings, actor=audit.SYSTEM)


def _send_to(
    session: Session,
    case: TakedownCaseRow,
    provider_id: int,
    settings: Settings,
    actor: str,
    action: str,
) -> int:
    """Point the case at a provider and queue a notice to it (audited as `action`)."""
    provider, channel, recipient = _provider_address(session, provider_id)
    case.provider_id = provider.id
    case.host_name = provider.name
    _fill_category(session, case)
    notice_id = sending.queue_notice(
        session,
        case,
        kind=NoticeKind.notice,
        channel=channel,
        recipient=recipient,
        settings=settings,
    )
    audit.record(
        session,
        actor,
        action,
        OBJECT,
        case.id,
        {"provider": provider.id, "channel": channel, "recipient": recipient, "notice": notice_id},
    )
    return notice_id


def confirm(
    session: Session,
    case_id: int,
    *,
    provider_id: int,
    settings: Settings,
    actor: str,
    user_id: int | None = None,
) -> int:
    """A takedown officer (or auto-send) confirms the host: the notice is queued and the
    case is notified. Returns the notice id."""
    case = _case(session, case_id)
    if case.state != CaseState.proposed.value:
        raise Conflict(N_("this case is no longer waiting for confirmation"))
    now = utcnow()
    notice_id = _send_to(session, case, provider_id, settings, actor, "takedown.case_confirmed")
    case.state = CaseState.notified.value
    case.confirmed_by = user_id
    case.confirmed_at = now
    if case.next_check_at is None:
        case.next_check_at = schedule.next_check(now, now, schedule.Cadence.from_settings(settings))
    return notice_id


def resend(
    session: Session, case_id: int, *, provider_id: int, settings: Settings, actor: str
) -> int:
    """Send the notice again, to the same or another provider (after a failure or bounce);
    the flag is cleared. The clock keeps counting from the first notice."""
    case = _case(session, case_id)
    active = (CaseState.notified.value, CaseState.escalated.value)
    if case.state not in active or case.route != Route.notice.value:
        raise Conflict(N_("only a case notified to a host can be sent again"))
    case.flagged = False
    case.flag_reason = None
    return _send_to(session, case, provider_id, settings, actor, "takedown.notice_resent")


def clear_flag(session: Session, case_id: int, settings: Settings, *, actor: str) -> None:
    """Staff dealt with what the flag said; reminders resume if a notice ever reached the host."""
    case = _case(session, case_id)
    if not case.flagged:
        raise Conflict(N_("this case is not flagged"))
    reason = case.flag_reason
    case.flagged = False
    case.flag_reason = None
    active = (CaseState.notified.value, CaseState.escalated.value)
    if case.state in active and case.last_notice_at is not None and case.next_reminder_at is None:
        cadence = schedule.Cadence.from_settings(settings)
        case.next_reminder_at = schedule.next_reminder(utcnow(), cadence)
    audit.record(session, actor, "takedown.flag_cleared", OBJECT, case.id, {"reason": reason})


# -- reminders and escalation ------------------------------------------------------------------


def _escalate(session: Session, case: TakedownCaseRow, settings: Settings, now: datetime) -> None:
    case.state = CaseState.escalated.value
    case.escalated_at = now
    _fill_category(session, case)
    case.escalation = "email" if settings.escalation_email else "staff"
    notice_id = None
    if settings.escalation_email:
        notice_id = sending.queue_notice(
            session,
            case,
            kind=NoticeKind.escalation,
            channel=Channel.email.value,
            recipient=settings.escalation_email,
            settings=settings,
        )
    audit.record(
        session,
        audit.SYSTEM,
        "takedown.case_escalated",
        OBJECT,
        case.id,
        {"reminders": case.reminders_sent, "escalation": case.escalation, "notice": notice_id},
    )


def remind(session: Session, case_id: int, settings: Settings) -> int | None:
    """The reminder that is due now: a reminder notice through the same sending path. When
    settings.escalate_after_reminders reminders have gone unanswered the case escalates first
    (reminders go on until removal). Returns the reminder's notice id, or None if none is due."""
    case = session.get(TakedownCaseRow, case_id, with_for_update=True)
    now = utcnow()
    if (
        case is None
        or case.removed_at is not None
        or case.route != Route.notice.value
        or case.provider_id is None
        or case.next_reminder_at is None
        or case.next_reminder_at > now
    ):
        return None
    if case.reminders_sent >= settings.escalate_after_reminders and case.escalated_at is None:
        _escalate(session, case, settings, now)
    # Cleared until this reminder is sent; sending sets the next one (last notice + interval).
    case.next_reminder_at = None
    try:
        _, channel, recipient = _provider_address(session, case.provider_id)
    except InvalidInput as exc:
        sending.flag(case, f"no reminder sent: {exc.fields[0].message}")
        audit.record(session, audit.SYSTEM, "takedown.reminder_blocked", OBJECT, case.id, {})
        return None
    _fill_category(session, case)
    notice_id = sending.queue_notice(
        session,
        case,
        kind=NoticeKind.reminder,
        channel=channel,
        recipient=recipient,
        settings=settings,
    )
    case.reminders_sent += 1
    audit.record(
        session,
        audit.SYSTEM,
        "takedown.reminder_queued",
        OBJECT,
        case.id,
        {"reminder": case.reminders_sent, "notice": notice_id},
    )
    return notice_id


# -- removal ------------------------------------------------------------------------------------


def record_removal(
    session: Session, case_id: int, at: datetime, reason: str, *, actor: str = audit.SYSTEM
) -> bool:
    """Stop the clock: the case and its URL are removed at `at` (the URL list drops it),
    pending notices and reminders are cancelled, and "takedown.removed" is recorded (the URL
    lists withdraw it; a partner that sent us the report is told). False if the case was
    already removed."""
    case = _case(session, case_id)
    if case.removed_at is not None:
        return False
    if at.tzinfo is None:
        raise InvalidInput(
            N_("the removal time needs a time zone"),
            fields=[FieldError("at", N_("give a UTC time"))],
        )
    if at > utcnow() + CLOCK_TOLERANCE:
        raise InvalidInput(
            N_("the removal time is in the future"),
            fields=[FieldError("at", N_("not in the future"))],
        )
    if at < case.first_reported_at:
        raise InvalidInput(
            N_("the removal time is before the first report"),
            fields=[FieldError("at", N_("not before the address was first reported"))],
        )
    reason = reason.strip()[:32] or "manual"
    case.removed_at = at
    case.removal_reason = reason
    case.state = CaseState.removed.value
    case.next_check_at = None
    case.next_reminder_at = None
    cancelled = 0
    for notice in session.scalars(
        select(NoticeRow).where(
            NoticeRow.case_id == case.id,
            NoticeRow.status == NoticeStatus.pending.value,
            NoticeRow.kind != NoticeKind.escalation.value,
        )
    ):
        notice.status = NoticeStatus.cancelled.value
        cancelled += 1
    url = session.get(ReportedUrlRow, case.url_id)
    if url is not None and url.removed_at is None:
        url.removed_at = at
    audit.record(
        session,
        actor,
        "takedown.removal_recorded",
        OBJECT,
        case.id,
        {"at": at.isoformat(), "reason": reason, "cancelled_notices": cancelled},
    )
    events.emit(
        session,
        "takedown.removed",
        {"case_id": case.id, "url_id": case.url_id, "at": at.isoformat()},
    )
    return True


# -- views -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseSummary:
    id: int
    reference: str
    url_id: int
    url: str
    state: CaseState
    route: str | None
    host_name: str | None
    country: str | None
    category: str | None
    provider_id: int | None
    provider_name: str | None
    first_reported_at: datetime
    proposed_at: datetime
    first_notice_at: datetime | None
    last_notice_at: datetime | None
    reminders_sent: int
    next_check_at: datetime | None
    next_reminder_at: datetime | None
    checks: int
    removed_at: datetime | None
    removal_reason: str | None
    escalated_at: datetime | None
    escalation: str | None
    flagged: bool
    flag_reason: str | None


@dataclass(frozen=True)
class NoticeView:
    id: int
    reference: str
    kind: str
    channel: str
    recipient: str
    status: str
    attempts: int
    last_error: str | None
    message_id: str | None
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class CheckView:
    at: datetime
    outcome: str
    http_status: int | None
    detail: str | None


@dataclass(frozen=True)
class CaseView:
    case: CaseSummary
    partner_name: str | None
    confirmed_by: str | None
    confirmed_at: datetime | None
    notices: list[NoticeView]
    checks: list[CheckView]

    @property
    def report_to_removal(self) -> timedelta | None:
        c = self.case
        return c.removed_at - c.first_reported_at if c.removed_at else None

    @property
    def notice_to_removal(self) -> timedelta | None:
        c = self.case
        return c.removed_at - c.first_notice_at if c.removed_at and c.first_notice_at else None


def _summary(row: TakedownCaseRow, url: str, provider_name: str | None) -> CaseSummary:
    return CaseSummary(
        id=row.id,
        reference=row.reference,
        url_id=row.url_id,
        url=url,
        state=CaseState(row.state),
        route=row.route,
        host_name=row.host_name,
        country=row.country,
        category=row.category,
        provider_id=row.provider_id,
        provider_name=provider_name,
        first_reported_at=row.first_reported_at,
        proposed_at=row.proposed_at,
        first_notice_at=row.first_notice_at,
        last_notice_at=row.last_notice_at,
        reminders_sent=row.reminders_sent,
        next_check_at=row.next_check_at,
        next_reminder_at=row.next_reminder_at,
        checks=row.checks,
        removed_at=row.removed_at,
        removal_reason=row.removal_reason,
        escalated_at=row.escalated_at,
        escalation=row.escalation,
        flagged=row.flagged,
        flag_reason=row.flag_reason,
    )


def _tab_filter(tab: CaseTab):  # type: ignore[no-untyped-def]
    if tab is CaseTab.flagged:
        return TakedownCaseRow.flagged.is_(True)
    if tab is CaseTab.notified:
        states: Collection[str] = (CaseState.notified.value, CaseState.forwarded.value)
        return TakedownCaseRow.state.in_(states)
    return TakedownCaseRow.state == tab.value


_ORDER = {
    CaseTab.proposed: (TakedownCaseRow.proposed_at, TakedownCaseRow.id),
    CaseTab.notified: (TakedownCaseRow.proposed_at, TakedownCaseRow.id),
    CaseTab.escalated: (TakedownCaseRow.escalated_at, TakedownCaseRow.id),
    CaseTab.flagged: (TakedownCaseRow.id,),
    CaseTab.removed: (TakedownCaseRow.removed_at.desc(), TakedownCaseRow.id.desc()),
}


def list_cases(
    session: Session, tab: CaseTab, *, limit: int = 50, offset: int = 0
) -> list[CaseSummary]:
    """Cases in one list of the takedown pages; oldest first (removed: newest first)."""
    rows = session.execute(
        select(TakedownCaseRow, ReportedUrlRow.normalized_url, HostingProviderRow.name)
        .join(ReportedUrlRow, ReportedUrlRow.id == TakedownCaseRow.url_id)
        .outerjoin(HostingProviderRow, HostingProviderRow.id == TakedownCaseRow.provider_id)
        .where(_tab_filter(tab))
        .order_by(*_ORDER[tab])
        .limit(limit)
        .offset(offset)
    ).all()
    return [_summary(row, url, name) for row, url, name in rows]


def flagged_cases(session: Session, *, limit: int = 50) -> list[CaseSummary]:
    return list_cases(session, CaseTab.flagged, limit=limit)


def escalated_cases(session: Session, *, limit: int = 50) -> list[CaseSummary]:
    return list_cases(session, CaseTab.escalated, limit=limit)


def tab_counts(session: Session) -> dict[CaseTab, int]:
    return {
        tab: session.execute(
            select(func.count()).select_from(TakedownCaseRow).where(_tab_filter(tab))
        ).scalar_one()
        for tab in CaseTab
    }


def case_for_url(session: Session, url_id: int) -> int | None:
    return session.execute(
        select(TakedownCaseRow.id).where(TakedownCaseRow.url_id == url_id)
    ).scalar_one_or_none()


def case_view(session: Session, case_id: int, *, checks_shown: int = 50) -> CaseView:
    """One case with its notices and its most recent re-checks."""
    row = session.get(TakedownCaseRow, case_id)
    if row is None:
        raise NotFound(N_("no takedown case with that id"))
    url = session.get(ReportedUrlRow, row.url_id)
    assert url is not None
    provider = session.get(HostingProviderRow, row.provider_id) if row.provider_id else None
    partner_name = None
    if row.partner_id is not None:
        partner_name = session.execute(
            select(_PARTNERS.c.name).where(_PARTNERS.c.id == row.partner_id)
        ).scalar_one_or_none()
    confirmed_by = None
    if row.confirmed_by is not None:
        confirmed_by = session.execute(
            select(UserRow.username).where(UserRow.id == row.confirmed_by)
        ).scalar_one_or_none()
    notices = [
        NoticeView(
            n.id,
            n.reference,
            n.kind,
            n.channel,
            n.recipient,
            n.status,
            n.attempts,
            n.last_error,
            n.message_id,
            n.created_at,
            n.sent_at,
        )
        for n in session.scalars(
            select(NoticeRow).where(NoticeRow.case_id == case_id).order_by(NoticeRow.id)
        )
    ]
    checks = [
        CheckView(c.at, c.outcome, c.http_status, c.detail)
        for c in session.scalars(
            select(RecheckRow)
            .where(RecheckRow.case_id == case_id)
            .order_by(RecheckRow.at.desc(), RecheckRow.id.desc())
            .limit(checks_shown)
        )
    ]
    return CaseView(
        _summary(row, url.normalized_url, provider.name if provider else None),
        partner_name,
        confirmed_by,
        row.confirmed_at,
        notices,
        checks,
    )

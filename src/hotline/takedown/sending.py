"""Sending notices, reminders and escalations: a NoticeRow per message and a durable job that
delivers it by email (SMTP) or signed webhook, with retries and a flag for staff when it fails.

Delivery is split in three steps so that a worker dying mid-send never sends twice by mistake
nor loses a notice: (1) one transaction marks the notice "sending" and counts the attempt;
(2) the message goes out, outside any transaction; (3) one transaction marks it sent and
completes the job. A worker that dies between (2) and (3) leaves the notice "sending"; the job's
lease runs out, another worker takes it and sends again. So delivery is at least once. SMTP has
no idempotency key, but the Message-ID is fixed at the first attempt and reused on every retry,
so the host's mail system (and people reading it) can tell a repeat; a webhook body carries the
notice reference for the same purpose.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from email.message import EmailMessage
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.assess.fetcher import FetchPolicy
from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.errors import N_, NotFound
from hotline.intake.tables import ReportedUrlRow
from hotline.jobs import queue
from hotline.security import audit
from hotline.security.crypto import DecryptionError
from hotline.takedown import delivery, directory, notice_text, schedule
from hotline.takedown.tables import NoticeRow, TakedownCaseRow

SEND_JOB = "takedown.send_notice"
MAX_ERROR = 1000


class NoticeKind(StrEnum):
    notice = "notice"
    reminder = "reminder"
    escalation = "escalation"  # to settings.escalation_email, not to the host


class NoticeStatus(StrEnum):
    pending = "pending"  # waiting for its first or next attempt
    sending = "sending"  # an attempt is under way (or its worker died: it will be retried)
    sent = "sent"
    failed = "failed"  # gave up: permanent refusal or attempts used up; the case is flagged
    bounced = "bounced"  # accepted, then bounced back by the mail system; the case is flagged
    cancelled = "cancelled"  # the content was removed before it went


_KIND_LETTER = {NoticeKind.notice: "N", NoticeKind.reminder: "R", NoticeKind.escalation: "E"}


def flag(case: TakedownCaseRow, reason: str, *, stop_reminders: bool = True) -> None:
    """Put the case in front of a person (the flagged list on the takedown pages). Reminders
    stop: chasing an address that fails is noise until staff choose where to send instead."""
    case.flagged = True
    case.flag_reason = reason[:MAX_ERROR]
    if stop_reminders:
        case.next_reminder_at = None


def queue_notice(
    session: Session,
    case: TakedownCaseRow,
    *,
    kind: NoticeKind,
    channel: str,
    recipient: str,
    settings: Settings,
) -> int:
    """Create a pending notice and the job that sends it, in the caller's transaction."""
    number = session.execute(
        select(func.count()).select_from(NoticeRow).where(NoticeRow.case_id == case.id)
    ).scalar_one()
    row = NoticeRow(
        case_id=case.id,
        reference=f"{case.reference}-{_KIND_LETTER[kind]}{number + 1}",
        kind=kind.value,
        channel=channel,
        recipient=recipient,
        status=NoticeStatus.pending.value,
        attempts=0,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    queue.enqueue(
        session,
        SEND_JOB,
        {"notice_id": row.id},
        dedupe_key=f"notice:{row.id}",
        # The notice counts its own attempts and gives up at notice_max_attempts; the slack
        # lets the job survive a lease lost to a dead worker without failing unseen.
        max_attempts=settings.notice_max_attempts + 2,
    )
    return row.id


def _locked(session: Session, notice_id: int) -> tuple[NoticeRow, TakedownCaseRow] | None:
    """The notice and its case, both locked: the case first, as every writer of cases does,
    so two transactions never wait on each other in opposite orders (PostgreSQL)."""
    case_id = session.execute(
        select(NoticeRow.case_id).where(NoticeRow.id == notice_id)
    ).scalar_one_or_none()
    if case_id is None:
        return None
    case = session.get(TakedownCaseRow, case_id, with_for_update=True)
    notice = session.get(NoticeRow, notice_id, with_for_update=True)
    assert case is not None and notice is not None
    return notice, case


# -- one delivery attempt ----------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """Everything one attempt needs, read in the attempt's first transaction."""

    notice_id: int
    reference: str
    channel: str
    recipient: str
    message: EmailMessage | None  # email
    body: bytes | None  # webhook
    secret: bytes | None  # webhook
    problem: str | None = None  # a reason it cannot be sent at all (permanent)


# An email, or a webhook body and its secret, or why neither can be made.
_Payload = tuple[EmailMessage | None, bytes | None, bytes | None, str | None]


def _message_domain(settings: Settings) -> str:
    # Never socket.getfqdn(): make_msgid's default looks the machine's name up in DNS.
    return settings.mail_from.rpartition("@")[2] or "hotline.invalid"


def _escalation_message(
    case: TakedownCaseRow, url: str, notice: NoticeRow, settings: Settings
) -> EmailMessage:
    """To the escalation address (e.g. a police liaison): facts of the case, never content."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = notice.recipient
    message["Subject"] = f"[{case.reference}] Escalation: content not removed after reminders"
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = email.utils.make_msgid("escalation", domain=_message_domain(settings))
    first_notice = case.first_notice_at.isoformat() if case.first_notice_at else "not sent"
    message.set_content(
        "\n".join(
            [
                f"{settings.organisation_name} escalates takedown case {case.reference}.",
                "",
                f"URL: {url}",
                f"First reported: {case.first_reported_at.isoformat()}",
                f"First notice to the host: {first_notice}",
                f"Reminders sent: {case.reminders_sent}",
                f"Host: {case.host_name or 'unknown'}",
                f"Country: {case.country or 'unknown'}",
                f"Category (UK): {case.category or 'not yet graded'}",
                f"Legal basis: {settings.notice_legal_basis}",
                f"Reference: {notice.reference}",
                "",
                "The content is still available. This message carries no content.",
            ]
        )
    )
    return message


def _host_payload(
    session: Session, case: TakedownCaseRow, notice: NoticeRow, url: str, settings: Settings
) -> _Payload:
    """(email, webhook body, webhook secret, why it cannot be sent) for a host notice."""
    if case.provider_id is None:
        return None, None, None, "the case has no hosting provider"
    provider = directory.get_provider(session, case.provider_id)
    reminder_number = 0
    if notice.kind == NoticeKind.reminder.value:
        reminder_number = session.execute(
            select(func.count())
            .select_from(NoticeRow)
            .where(
                NoticeRow.case_id == case.id,
                NoticeRow.kind == NoticeKind.reminder.value,
                NoticeRow.id <= notice.id,
            )
        ).scalar_one()
    content = notice_text.NoticeContent(
        reference=notice.reference,
        case_reference=case.reference,
        kind=notice.kind,
        reminder_number=reminder_number,
        url=url,
        first_seen_at=case.first_reported_at,
        legal_basis=settings.notice_legal_basis,
        category=case.category,
        organisation=settings.organisation_name,
        language=provider.language,
    )
    if notice.channel == directory.Channel.webhook.value:
        try:
            secret = directory.webhook_secret(
                session, provider.id, directory.secret_sealer(settings.secret)
            )
        except DecryptionError:
            return (
                None,
                None,
                None,
                f"{provider.name}'s webhook secret cannot be opened: enter it again",
            )
        if secret is None:
            return None, None, None, f"{provider.name} has no webhook secret"
        return None, notice_text.webhook_body(content), secret, None
    sender = settings.mail_from
    return (
        notice_text.email_message(content, sender=sender, recipient=notice.recipient),
        None,
        None,
        None,
    )


def begin_attempt(session: Session, notice_id: int, settings: Settings) -> Outgoing | None:
    """Step (1): mark the notice "sending" and count the attempt. None when there is nothing
    to send (already sent, given up, cancelled, or gone)."""
    found = _locked(session, notice_id)
    if found is None:
        return None
    notice, case = found
    if notice.status not in (
        NoticeStatus.pending.value,
        NoticeStatus.sending.value,  # its last worker died mid-send: send again (see above)
    ):
        return None
    url_row = session.get(ReportedUrlRow, case.url_id)
    assert url_row is not None
    if case.removed_at is not None and notice.kind != NoticeKind.escalation.value:
        notice.status = NoticeStatus.cancelled.value
        return None
    if notice.attempts >= settings.notice_max_attempts:
        # Only reached when the last attempt's worker died mid-send.
        stale = f"gave up after {notice.attempts} attempts (the last was interrupted)"
        return Outgoing(
            notice.id, notice.reference, notice.channel, notice.recipient, None, None, None, stale
        )
    notice.status = NoticeStatus.sending.value
    notice.attempts += 1
    payload: _Payload
    if notice.kind == NoticeKind.escalation.value:
        payload = (
            _escalation_message(case, url_row.normalized_url, notice, settings),
            None,
            None,
            None,
        )
    else:
        payload = _host_payload(session, case, notice, url_row.normalized_url, settings)
    message, body, secret, problem = payload
    if message is not None:
        # The Message-ID is chosen once and reused, so every retry is the same message.
        if notice.message_id:
            del message["Message-ID"]
            message["Message-ID"] = notice.message_id
        elif message["Message-ID"]:
            notice.message_id = str(message["Message-ID"])
        else:
            notice.message_id = email.utils.make_msgid(domain=_message_domain(settings))
            message["Message-ID"] = notice.message_id
    return Outgoing(
        notice.id,
        notice.reference,
        notice.channel,
        notice.recipient,
        message,
        body,
        secret,
        problem,
    )


def deliver(outgoing: Outgoing, settings: Settings, fetch_policy: FetchPolicy) -> None:
    """Step (2): send it. Raises delivery.DeliveryError (with `.temporary`) on failure."""
    if outgoing.message is not None:
        delivery.send_email(settings, outgoing.message)
        return
    assert outgoing.body is not None and outgoing.secret is not None
    delivery.send_webhook(
        settings, fetch_policy, outgoing.recipient, outgoing.secret, outgoing.body
    )


def attempt_succeeded(session: Session, notice_id: int, settings: Settings) -> None:
    """Step (3): the notice is sent; the case's clocks start and its next reminder is set."""
    found = _locked(session, notice_id)
    if found is None:
        raise NotFound(N_("no such notice"))
    notice, case = found
    now = utcnow()
    notice.status = NoticeStatus.sent.value
    notice.sent_at = now
    notice.last_error = None
    # A removal recorded while this was in flight keeps its clocks: no notice after removal.
    if notice.kind != NoticeKind.escalation.value and case.removed_at is None:
        cadence = schedule.Cadence.from_settings(settings)
        if case.first_notice_at is None:
            case.first_notice_at = now
            # The early re-check period counts from the first notice.
            first_check = schedule.next_check(now, now, cadence)
            if case.next_check_at is None or first_check < case.next_check_at:
                case.next_check_at = first_check
        case.last_notice_at = now
        case.next_reminder_at = schedule.next_reminder(now, cadence)
    audit.record(
        session,
        audit.SYSTEM,
        "takedown.notice_sent",
        "takedown_notice",
        notice.id,
        {
            "case": case.id,
            "kind": notice.kind,
            "channel": notice.channel,
            "attempts": notice.attempts,
            "message_id": notice.message_id,
        },
    )


def attempt_failed(
    session: Session, notice_id: int, error: str, *, permanent: bool, settings: Settings
) -> bool:
    """Record a failed attempt. True when it was the last one: the notice is failed and the
    case flagged with the reason; False when it will be retried."""
    found = _locked(session, notice_id)
    if found is None:
        raise NotFound(N_("no such notice"))
    notice, case = found
    notice.last_error = error[:MAX_ERROR]
    final = permanent or notice.attempts >= settings.notice_max_attempts
    notice.status = (NoticeStatus.failed if final else NoticeStatus.pending).value
    if final:
        why = "refused" if permanent else f"failed {notice.attempts} times"
        flag(
            case,
            f"{notice.kind} {notice.reference} to {notice.recipient} {why}: {error}",
            stop_reminders=notice.kind != NoticeKind.escalation.value,
        )
    audit.record(
        session,
        audit.SYSTEM,
        "takedown.notice_failed" if final else "takedown.notice_attempt_failed",
        "takedown_notice",
        notice.id,
        {"case": case.id, "attempts": notice.attempts, "error": error[:MAX_ERROR], "final": final},
    )
    return final


# -- bounces ----------------------------------------------------------------------------------


def _bare_message_id(text: str) -> str:
    return text.strip().strip("<>").strip()


def record_bounce(session: Session, message_id: str, reason: str, *, actor: str = "cli") -> int:
    """A bounce reported for a sent notice (by a mail system's bounce hook): the notice is
    marked bounced and its case flagged. Returns the case id; NotFound for an unknown id."""
    bare = _bare_message_id(message_id)
    if not bare or len(bare) > 200:
        raise NotFound(N_("no notice was sent with that Message-ID"))
    notice_id = session.execute(
        select(NoticeRow.id).where(NoticeRow.message_id.in_([f"<{bare}>", bare]))
    ).scalar_one_or_none()
    found = _locked(session, notice_id) if notice_id is not None else None
    if found is None:
        raise NotFound(N_("no notice was sent with that Message-ID"))
    notice, case = found
    reason = " ".join(reason.split())[:MAX_ERROR] or "no reason given"
    notice.status = NoticeStatus.bounced.value
    notice.last_error = f"bounced: {reason}"
    flag(
        case,
        f"{notice.kind} {notice.reference} to {notice.recipient} bounced: {reason}",
        stop_reminders=notice.kind != NoticeKind.escalation.value,
    )
    audit.record(
        session,
        actor,
        "takedown.notice_bounced",
        "takedown_notice",
        notice.id,
        {"case": case.id, "message_id": notice.message_id, "reason": reason},
    )
    return case.id

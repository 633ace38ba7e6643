"""Assessment's use cases: open the queue or one address's case, claim, release and give a
verdict (docs/architecture.md, "Actions").

Each runs in the caller's transaction and does all of it there: the one permission check
(`permissions.allowed`, with the address), validation, the writes (`queue`, the store) and the
audit entry; a criminal verdict also records `verdict.criminal` (through `queue`). The queue
pages call these; so may a CLI, an API or a job. Views are use cases too: opening the queue or
a case loads what is shown and audits the visit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from hotline.assess import pipeline, queue, site_types
from hotline.assess.hosting_store import StoredTrace, latest_trace
from hotline.errors import N_, FieldError, Forbidden, InvalidInput
from hotline.grading import service as grading_service
from hotline.intake.reports import UrlStatus
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed

OBJECT = "reported_url"


@dataclass(frozen=True)
class QueueView:
    """One page of the waiting list; `total` stops at the count limit it was given."""

    page: queue.WaitingPage
    total: int


@dataclass(frozen=True)
class CaseView:
    """One address as its case page shows it."""

    case: queue.UrlCase
    media: list[grading_service.MediaItem]
    captures: list[pipeline.CaptureRecord]
    host: StoredTrace | None
    mine: bool  # the actor holds its claim
    site_types: list[site_types.SiteType]  # the verdict form's choices


def _permit(actor: Actor, action: Action, url_id: int | None = None) -> None:
    if not allowed(actor, action, url_id):
        if action is Action.report_assess:
            raise Forbidden(N_("your role does not allow assessing reported addresses"))
        raise Forbidden(N_("your role does not allow viewing the assessment queue"))


def open_queue(
    session: Session,
    actor: Actor,
    *,
    after: str | None = None,
    before: str | None = None,
    page_size: int = 50,
    count_limit: int | None = None,
) -> QueueView:
    """A page of the waiting list, after (or before) a place the page links carry; the count
    stops at `count_limit`, so its cost stays bounded. Audited as `queue.view`."""
    _permit(actor, Action.queue_view)
    after_key = queue.QueueKey.parse(after) if after else None
    before_key = queue.QueueKey.parse(before) if before and not after_key else None
    page = queue.waiting_page(session, limit=page_size, after=after_key, before=before_key)
    total = queue.waiting_count(session, limit=count_limit)
    audit.record(
        session,
        actor.username,
        "queue.view",
        "queue",
        "assessment",
        {"after": after, "before": before, "shown": len(page.entries)},
    )
    return QueueView(page, total)


def case_view(session: Session, actor: Actor, url_id: int) -> CaseView:
    """What the case page shows, unaudited: for showing the case again beside a refused form
    (the visit itself was audited by `open_case`)."""
    _permit(actor, Action.queue_view, url_id)
    case = queue.get_case(session, url_id)
    return CaseView(
        case=case,
        media=grading_service.items_for_url(session, url_id),
        captures=pipeline.recent_captures(session, url_id),
        host=latest_trace(session, url_id),
        mine=case.entry.claimed_by == actor.username,
        site_types=site_types.active_site_types(session),
    )


def open_case(session: Session, actor: Actor, url_id: int) -> CaseView:
    """One address with its reports, captures, media and host. Audited as `url.view`."""
    view = case_view(session, actor, url_id)
    audit.record(session, actor.username, "url.view", OBJECT, url_id, {})
    return view


def claim(session: Session, actor: Actor, url_id: int, lease: timedelta) -> None:
    """Claim (or renew the actor's claim on) one address for `lease`; Conflict when another
    analyst holds it or it is assessed already."""
    _permit(actor, Action.report_assess, url_id)
    queue.claim(session, url_id, actor.id, lease)
    audit.record(session, actor.username, "url.claim", OBJECT, url_id, {})


def claim_next(session: Session, actor: Actor, lease: timedelta) -> int | None:
    """Claim the first free address in queue order; None (and no entry) when none is free."""
    _permit(actor, Action.report_assess)
    url_id = queue.claim_next(session, actor.id, lease)
    if url_id is not None:
        audit.record(session, actor.username, "url.claim", OBJECT, url_id, {})
    return url_id


def release(session: Session, actor: Actor, url_id: int) -> None:
    """Let go of the actor's claim; the address waits in the queue again."""
    _permit(actor, Action.report_assess, url_id)
    queue.release(session, url_id, actor.id)
    audit.record(session, actor.username, "url.release", OBJECT, url_id, {})


def record_known_material_verdict(
    session: Session, url_id: int, matched: Sequence[Mapping[str, object]], setting: str
) -> bool:
    """The system's criminal verdict on an address whose media matched known material, when
    the instance is configured to need no analyst's confirmation (HOTLINE_PROACTIVE_CONFIRM
    =none). Audited as the system's decision with what matched and the list's provenance;
    `verdict.criminal` follows, so takedown opens its case. False, and nothing written, when
    the address is claimed or decided already (the analyst's verdict stands)."""
    if not matched:
        raise InvalidInput(N_("a system verdict needs known material"), fields=[])
    reason = "indecent_images"
    if not queue.record_system_verdict(
        session, url_id, reason, "Known material found by a proactive crawl (system decision)."
    ):
        return False
    audit.record(
        session,
        audit.SYSTEM,
        "url.verdict",
        OBJECT,
        url_id,
        {
            "verdict": "criminal",
            "reason": reason,
            "status": UrlStatus.actioned.value,
            "decided_by": "system",
            "confirm": setting,
            "matched": [dict(m) for m in matched],
        },
    )
    return True


def record_verdict(
    session: Session,
    actor: Actor,
    url_id: int,
    verdict: str,
    reason: str,
    *,
    note: str | None = None,
    duplicate_of: str | int | None = None,
    site_type: str | None = None,
    hosting: str | None = None,
) -> UrlStatus:
    """The claim holder's verdict with its reason code (`queue.REASONS`), closing the address,
    and what the published figures count by: the site type and free or paid hosting (blank:
    not recorded). InvalidInput lists every bad field and records nothing; a criminal verdict
    records `verdict.criminal` in the same transaction, so takedown opens its case."""
    _permit(actor, Action.report_assess, url_id)
    site_errors: list[FieldError] = []
    site, paid = site_types.validate(session, site_type, hosting, site_errors)
    try:
        parsed, reason, clean_note, duplicate_id = queue.validate_verdict(
            verdict, reason, note, duplicate_of
        )
    except InvalidInput as exc:
        raise InvalidInput(exc.message, fields=[*exc.fields, *site_errors]) from None
    if site_errors:
        raise InvalidInput(N_("the verdict has problems; nothing was recorded"), fields=site_errors)
    status = queue.record_verdict(
        session, url_id, actor.id, parsed, reason, clean_note, duplicate_id, site, paid
    )
    audit.record(
        session,
        actor.username,
        "url.verdict",
        OBJECT,
        url_id,
        {
            "verdict": parsed.value,
            "reason": reason,
            "duplicate_of": duplicate_id,
            "status": status.value,
            "site_type": site,
            "hosting": paid,
        },
    )
    return status


def duplicate_candidates(
    session: Session, actor: Actor, url_id: int, text: str
) -> list[queue.Candidate]:
    """The addresses the claim holder may name as the one this address duplicates, found by
    URL or report reference. Audited as `url.search` (how many were shown, not the words)."""
    _permit(actor, Action.report_assess, url_id)
    found = queue.duplicate_candidates(session, text, exclude=url_id)
    audit.record(session, actor.username, "url.search", OBJECT, url_id, {"shown": len(found)})
    return found

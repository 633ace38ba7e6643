"""Takedown's use cases for officers: open the case lists or one case, record a removal by
hand, and open the hosting provider directory's pages (docs/architecture.md, "Actions").

Each runs in the caller's transaction and does all of it there: the one permission check
(`permissions.allowed`, with the case or provider), validation, the writes (`cases`,
`directory`) and the audit entry. Views are use cases too: opening a page loads what it shows
and audits the visit. The takedown and directory pages call these; so may a CLI or an API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import N_, Conflict, FieldError, Forbidden, InvalidInput
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed
from hotline.takedown import cases, directory
from hotline.takedown.removal import RemovalReason

MAX_NOTE = 1000
_TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class CaseList:
    """One page of one tab of the case lists, with every tab's count."""

    items: list[cases.CaseSummary]
    counts: dict[cases.CaseTab, int]


@dataclass(frozen=True)
class CasePage:
    """One case as its page shows it, with the providers a notice may go to."""

    view: cases.CaseView
    providers: list[directory.Provider]


def _permit(actor: Actor, resource: object | None = None) -> None:
    if not allowed(actor, Action.takedown_manage, resource):
        raise Forbidden(N_("your role does not allow takedown work"))


def open_cases(
    session: Session, actor: Actor, tab: cases.CaseTab, *, page: int = 1, page_size: int = 50
) -> CaseList:
    """A page of one tab (proposed, sent, flagged, ...). Audited as `takedown.cases_viewed`."""
    _permit(actor)
    items = cases.list_cases(session, tab, limit=page_size, offset=(page - 1) * page_size)
    counts = cases.tab_counts(session)
    audit.record(
        session,
        actor.username,
        "takedown.cases_viewed",
        cases.OBJECT,
        tab.value,
        {"page": page, "shown": len(items)},
    )
    return CaseList(items, counts)


def case_page(session: Session, actor: Actor, case_id: int) -> CasePage:
    """What the case page shows, unaudited: for showing the case again beside a refused form
    (the visit itself was audited by `open_case`)."""
    _permit(actor, case_id)
    return CasePage(
        cases.case_view(session, case_id),
        [e.provider for e in directory.list_providers(session)],
    )


def open_case(session: Session, actor: Actor, case_id: int) -> CasePage:
    """One case with its notices and re-checks. Audited as `takedown.case_viewed`."""
    shown = case_page(session, actor, case_id)
    audit.record(session, actor.username, "takedown.case_viewed", cases.OBJECT, case_id, {})
    return shown


def _removed_at(text: str) -> datetime | None:
    """The form's removal time (UTC); empty means now; None when it is no time at all."""
    text = text.strip()
    if not text:
        return utcnow()
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def record_removal(session: Session, actor: Actor, case_id: int, *, at: str, note: str) -> None:
    """Record removal by hand (the host confirmed it, or an officer saw it gone): the clock
    stops at `at` (text, UTC; empty: now), pending notices are cancelled and
    `takedown.removed` is recorded (`cases.record_removal`, which audits it). The officer's
    note, if any, is audited beside it. Conflict if the removal is recorded already."""
    _permit(actor, case_id)
    note = note.strip()
    problems = []
    if len(note) > MAX_NOTE:
        problems.append(FieldError("note", N_("at most %(max)s characters", max=MAX_NOTE)))
    removed_at = _removed_at(at)
    if removed_at is None:
        problems.append(FieldError("at", N_("use YYYY-MM-DD HH:MM (UTC)")))
    if problems or removed_at is None:
        raise InvalidInput(N_("the removal has problems; nothing was recorded"), fields=problems)
    if not cases.record_removal(
        session, case_id, removed_at, RemovalReason.manual.value, actor=actor.username
    ):
        raise Conflict(N_("the removal of this case is already recorded"))
    if note:
        audit.record(
            session, actor.username, "takedown.removal_note", cases.OBJECT, case_id, {"note": note}
        )


# -- the hosting provider directory ------------------------------------------------------------


def _provider_viewed(session: Session, actor: Actor, object_id: str | int, page: str) -> None:
    audit.record(
        session,
        actor.username,
        "hosting_provider.viewed",
        directory.OBJECT,
        object_id,
        {"page": page},
    )


def open_providers(session: Session, actor: Actor) -> list[directory.Entry]:
    """The directory's list. Audited as `hosting_provider.viewed` (page "list")."""
    _permit(actor)
    entries = directory.list_providers(session)
    _provider_viewed(session, actor, "*", "list")
    return entries


def open_provider(session: Session, actor: Actor, provider_id: int) -> directory.Entry:
    """One provider for editing (never its webhook secret, only whether one is set)."""
    _permit(actor, provider_id)
    entry = directory.get_entry(session, provider_id)
    _provider_viewed(session, actor, provider_id, "edit")
    return entry


def open_provider_deletion(
    session: Session, actor: Actor, provider_id: int
) -> tuple[directory.Provider, int]:
    """A provider about to be deleted, with how many cases name it (which block deleting)."""
    _permit(actor, provider_id)
    provider = directory.get_provider(session, provider_id)
    case_count = directory.case_count(session, provider_id)
    _provider_viewed(session, actor, provider_id, "delete")
    return provider, case_count


def open_provider_form(session: Session, actor: Actor, page: Literal["new", "import"]) -> None:
    """The empty form for a new provider, or the CSV import form: nothing is loaded, but
    the visit is audited like every view."""
    _permit(actor)
    _provider_viewed(session, actor, "new" if page == "new" else "*", page)

"""The assessment queue: claim a reported URL with a lease, give it a verdict, or let it go.

A claim is one conditional UPDATE (free, expired, or already mine), so two analysts can never
hold the same item, on SQLite or PostgreSQL, without explicit locks. An abandoned claim simply
expires and the item is claimable again. The reporter's public status follows the verdict.

The waiting list pages by key, not by offset: a page ends with its last item's place in queue
order (`QueueKey`) and the next page starts after it, so a deep page costs what the first one
does. A partial index of open items only (`ix_reported_urls_waiting`: priority, first report,
id) makes every step an index range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, func, literal_column, or_, select, update
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from hotline.intake.reports import UrlStatus
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.jobs import events
from hotline.security.tables import UserRow

DEFAULT_CLAIM = timedelta(minutes=30)
MAX_NOTE = 2000
_OPEN = (UrlStatus.received.value, UrlStatus.in_assessment.value)
# Open items, written with literal values (not bound parameters) so that SQLite and PostgreSQL
# can both prove the partial index ix_reported_urls_waiting (intake/tables.py) covers a query.
_OPEN_ITEMS = ReportedUrlRow.status.in_([literal_column(f"'{s}'") for s in _OPEN])
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


@dataclass(frozen=True)
class QueueKey:
    """An item's place in queue order (priority high first, then first report, then id); a
    page link carries it as text, e.g. `0.1767225600000000.42`."""

    priority: int
    first_reported_at: datetime
    url_id: int

    @classmethod
    def of(cls, entry: QueueEntry) -> QueueKey:
        return cls(entry.priority, entry.first_reported_at, entry.url_id)

    def token(self) -> str:
        micros = (self.first_reported_at - _EPOCH) // timedelta(microseconds=1)
        return f"{self.priority}.{micros}.{self.url_id}"

    @classmethod
    def parse(cls, token: str) -> QueueKey:
        parts = token.split(".")
        try:
            priority, micros, url_id = (int(p) for p in parts)
            at = _EPOCH + timedelta(microseconds=micros)
        except (ValueError, OverflowError):
            raise InvalidInput(
                N_("that page link is not valid"),
                fields=[FieldError("page", N_("a place in the queue, as the page links give it"))],
            ) from None
        return cls(priority, at, url_id)


@dataclass(frozen=True)
class WaitingPage:
    entries: list[QueueEntry]
    previous: QueueKey | None  # `before` for the previous page; None on the first page
    next: QueueKey | None  # `after` for the next page; None on the last page


_IN_LEVEL = {
    True: (ReportedUrlRow.first_reported_at.asc(), ReportedUrlRow.id.asc()),
    False: (ReportedUrlRow.first_reported_at.desc(), ReportedUrlRow.id.desc()),
}


def _past(key: QueueKey, forward: bool) -> ColumnElement[bool]:
    """Within the key's priority level: after it (forward) or before it."""
    at, column = key.first_reported_at, ReportedUrlRow.first_reported_at
    if forward:
        return and_(column >= at, or_(column > at, ReportedUrlRow.id > key.url_id))
    return and_(column <= at, or_(column < at, ReportedUrlRow.id < key.url_id))


def _adjacent_level(session: Session, level: int | None, forward: bool) -> int | None:
    """The next priority level holding open items: the highest below `level` (forward), or
    the lowest above it; with `level` None, the highest (forward) or lowest of all."""
    query = select(ReportedUrlRow.priority).where(_OPEN_ITEMS)
    if level is not None:
        query = query.where(
            ReportedUrlRow.priority < level if forward else ReportedUrlRow.priority > level
        )
    order = ReportedUrlRow.priority.desc() if forward else ReportedUrlRow.priority.asc()
    return session.execute(query.order_by(order).limit(1)).scalar_one_or_none()


def _in_order(
    session: Session,
    *,
    limit: int,
    key: QueueKey | None = None,
    forward: bool = True,
    where: tuple[ColumnElement[bool], ...] = (),
) -> list[ReportedUrlRow]:
    """Open rows in queue order (or its reverse), from just past `key` (or the start).

    Priority levels are few (0 for public reports, 1 for partner hotlines, 2 for known
    material...), so this walks them one at a time: each step is a range of the partial
    index (priority, first_reported_at, id), never an OFFSET and never a sort of the queue.
    """
    rows: list[ReportedUrlRow] = []
    level = key.priority if key is not None else _adjacent_level(session, None, forward)
    while level is not None and len(rows) < limit:
        query = select(ReportedUrlRow).where(_OPEN_ITEMS, ReportedUrlRow.priority == level, *where)
        if key is not None and level == key.priority:
            query = query.where(_past(key, forward))
        query = query.order_by(*_IN_LEVEL[forward]).limit(limit - len(rows))
        rows += session.execute(query).scalars()
        if len(rows) < limit:
            level = _adjacent_level(session, level, forward)
    return rows


def waiting(
    session: Session,
    *,
    limit: int = 50,
    after: QueueKey | None = None,
    before: QueueKey | None = None,
) -> list[QueueEntry]:
    """Open items in queue order (highest priority first, then the oldest report): the first
    `limit`, or those just after `after`, or just before `before`."""
    return waiting_page(session, limit=limit, after=after, before=before).entries


def waiting_page(
    session: Session,
    *,
    limit: int = 50,
    after: QueueKey | None = None,
    before: QueueKey | None = None,
) -> WaitingPage:
    """One page of open items, with the keys of the pages either side."""
    if before is not None:
        rows = _in_order(session, limit=limit + 1, key=before, forward=False)
        if len(rows) <= limit:  # back at the top: show the first page
            return waiting_page(session, limit=limit)
        rows = list(reversed(rows[:limit]))
        has_previous, has_next = True, True
    else:
        rows = _in_order(session, limit=limit + 1, key=after)
        has_previous, has_next = after is not None, len(rows) > limit
        rows = rows[:limit]
    now = utcnow()
    names = _usernames(session, {r.claimed_by for r in rows if r.claimed_by})
    entries = [_entry(r, names, now) for r in rows]
    return WaitingPage(
        entries,
        previous=QueueKey.of(entries[0]) if has_previous and entries else None,
        next=QueueKey.of(entries[-1]) if has_next and entries else None,
    )


def waiting_count(session: Session, *, limit: int | None = None) -> int:
    """How many items are open; with `limit`, counting stops there (a bounded cost)."""
    found = select(ReportedUrlRow.id).where(_OPEN_ITEMS)
    if limit is not None:
        found = found.limit(limit)
    return session.execute(select(func.count()).select_from(found.subquery())).scalar_one()


def get_case(session: Session, url_id: int) -> UrlCase:
    row = session.get(ReportedUrlRow, url_id)
    if row is None:
        raise NotFound(N_("no reported URL with that id"))
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
        _OPEN_ITEMS,
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
        raise NotFound(N_("no reported URL with that id"))
    if row.status not in _OPEN:
        raise Conflict(N_("this address has already been assessed"))
    raise Conflict(N_("another analyst is assessing this address"))


def claim_next(
    session: Session, user_id: int, lease: timedelta = DEFAULT_CLAIM, tries: int = 5
) -> int | None:
    """Claim the first claimable item in queue order; None when nothing is free."""
    candidates = [
        row.id for row in _in_order(session, limit=tries, where=(_claimable(user_id, utcnow()),))
    ]
    for url_id in candidates:
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
        raise Conflict(N_("you do not hold a claim on this address"))


def validate_verdict(
    verdict: str, reason: str, note: str | None, duplicate_of: str | int | None
) -> tuple[Verdict, str, str | None, int | None]:
    errors: list[FieldError] = []
    parsed: Verdict | None = None
    if verdict in Verdict.__members__:
        parsed = Verdict(verdict)
        if reason not in REASONS[parsed]:
            errors.append(
                FieldError(
                    "decision", N_("choose one of: %(items)s", items=", ".join(REASONS[parsed]))
                )
            )
    else:
        errors.append(FieldError("decision", N_("choose a verdict and its reason")))
    note = (note or "").strip() or None
    if note and len(note) > MAX_NOTE:
        errors.append(FieldError("note", N_("at most %(max_note)s characters", max_note=MAX_NOTE)))
    duplicate_id: int | None = None
    if parsed is Verdict.duplicate:
        try:
            duplicate_id = int(str(duplicate_of))
        except ValueError:
            errors.append(FieldError("duplicate_of", N_("choose the address this one duplicates")))
    if errors or parsed is None:
        raise InvalidInput(N_("the verdict has problems; nothing was recorded"), fields=errors)
    return parsed, reason, note, duplicate_id


def record_system_verdict(session: Session, url_id: int, reason: str, note: str) -> bool:
    """The system's criminal verdict (no analyst, `verdict_by` empty) on an address nobody has
    decided or claimed yet; records "verdict.criminal" in the same transaction. False, and
    nothing written, when the address is claimed or decided already: the analyst's call."""
    if reason not in REASONS[Verdict.criminal]:
        raise InvalidInput(
            N_("the verdict has problems; nothing was recorded"),
            fields=[FieldError("decision", N_("not a criminal reason code"))],
        )
    result = session.execute(
        update(ReportedUrlRow)
        .where(
            ReportedUrlRow.id == url_id,
            ReportedUrlRow.status == UrlStatus.received.value,
            ReportedUrlRow.verdict.is_(None),
        )
        .values(
            status=_STATUS_FOR[Verdict.criminal].value,
            verdict=Verdict.criminal.value,
            verdict_reason=reason,
            verdict_note=note[:MAX_NOTE],
            verdict_by=None,
            verdict_at=utcnow(),
            claimed_by=None,
            claim_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    events.emit(session, "verdict.criminal", {"url_id": url_id})
    return True


def record_verdict(
    session: Session,
    url_id: int,
    user_id: int,
    verdict: Verdict,
    reason: str,
    note: str | None = None,
    duplicate_of: int | None = None,
    site_type: str | None = None,
    hosting: str | None = None,
) -> UrlStatus:
    """Record the verdict of the analyst holding a live claim (with the site type and free or
    paid hosting, checked by assess.site_types); close the item. A criminal
    verdict records "verdict.criminal" in the same transaction (takedown opens its case)."""
    if duplicate_of is not None and (
        duplicate_of == url_id or session.get(ReportedUrlRow, duplicate_of) is None
    ):
        raise InvalidInput(
            N_("the verdict has problems; nothing was recorded"),
            fields=[FieldError("duplicate_of", N_("no other reported URL has that id"))],
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
            site_type=site_type,
            hosting=hosting,
            claimed_by=None,
            claim_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        if session.get(ReportedUrlRow, url_id) is None:
            raise NotFound(N_("no reported URL with that id"))
        raise Conflict(N_("claim this address (or renew an expired claim) before giving a verdict"))
    if verdict is Verdict.criminal:
        events.emit(session, "verdict.criminal", {"url_id": url_id})
    return status


MAX_SEARCH = 200


@dataclass(frozen=True)
class Candidate:
    """A reported address that another may duplicate, as the case page offers it."""

    url_id: int
    url: str
    status: UrlStatus


def duplicate_candidates(
    session: Session, text: str, exclude: int, limit: int = 10
) -> list[Candidate]:
    """Addresses whose URL contains `text` (any case) or that a report with that reference
    names, newest first, leaving out `exclude` (the address being assessed)."""
    text = text.strip()
    if not text:
        return []
    if len(text) > MAX_SEARCH:
        raise InvalidInput(
            N_("the search has problems"),
            fields=[FieldError("dup", N_("use at most 200 characters"))],
        )
    pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern += "%"
    by_reference = select(ReportRow.url_id).where(ReportRow.reference == text.upper())
    rows = session.execute(
        select(ReportedUrlRow.id, ReportedUrlRow.normalized_url, ReportedUrlRow.status)
        .where(
            ReportedUrlRow.id != exclude,
            or_(
                func.lower(ReportedUrlRow.normalized_url).like(pattern, escape="\\"),
                ReportedUrlRow.id.in_(by_reference),
            ),
        )
        .order_by(ReportedUrlRow.id.desc())
        .limit(limit)
    ).all()
    return [Candidate(r[0], r[1], UrlStatus(r[2])) for r in rows]

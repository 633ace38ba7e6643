"""Reported addresses in any state: the queue page's search, filters, sort, pages and CSV.

The queue page shows the waiting list in queue order (`assess.queue`); with a search or a
filter it lists reported addresses (`reported_urls`) of any state instead, the "all states"
view of the assessment cases. The search box takes what the reports list's does (a URL, a
domain or host name, a reference code: `reports_list.search_key`). Filters: the address's
status ("open": received or in assessment), priority, who holds its claim ("me",
"unassigned" or a username), a report's source, origin and country, and a date range on its
first report. Sorted by first report, priority or number of reports, paged by key
(hotline.web.listing).

`list_urls` and `export_urls` are the use cases: permission (`queue.view`), checks and the audit
entry (`queue.list`, `queue.export`), for pages, API and CLI alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, literal_column, select
from sqlalchemy.orm import Session, aliased

from hotline.assess.reports_list import search_key
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import N_, FieldError, Forbidden, InvalidInput
from hotline.intake.reports import Origin, Source, UrlStatus
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed
from hotline.security.tables import UserRow
from hotline.web.listing import (
    Filter,
    ListQuery,
    ListSpec,
    Sort,
    batched_export,
    capped_count,
    csv_lines,
    cursor_token,
    keyset,
    parse_listing,
)

EXPORT_LIMIT = 1_000_000
OPEN = "open"
STATUSES = (OPEN, *UrlStatus)
PRIORITIES = tuple(str(p) for p in range(10))
ME, UNASSIGNED = "me", "unassigned"
_OPEN = (UrlStatus.received.value, UrlStatus.in_assessment.value)
# Written as literals, as the partial indexes' conditions are (intake.tables).
_OPEN_LITERALS: list[ColumnElement[str]] = [literal_column(f"'{s}'") for s in _OPEN]
# The parameters that ask for this list rather than the waiting list.
PARAMS = frozenset(
    {"q", "status", "priority", "assignee", "source", "origin", "country", "from", "to"}
    | {"sort", "dir", "size"}
)
CSV_COLUMNS = (
    "id",
    "url",
    "host",
    "status",
    "priority",
    "reports",
    "first_reported_at",
    "last_reported_at",
    "claimed_by",
    "verdict",
    "verdict_reason",
)
SPEC = ListSpec(
    sorts=(
        Sort("first_reported", ReportedUrlRow.first_reported_at, "datetime"),
        Sort("priority", ReportedUrlRow.priority, "int"),
        Sort("reports", ReportedUrlRow.report_count, "int"),
    ),
    id_column=ReportedUrlRow.id,
    default_sort="first_reported",
    default_desc=True,
    filters=(
        Filter("status", STATUSES),
        Filter("priority", PRIORITIES),
        Filter("assignee", max_length=64),
        Filter("source", tuple(Source)),
        Filter("origin", tuple(Origin)),
        Filter("country", is_country=True),
        Filter("from", is_date=True),
        Filter("to", is_date=True),
    ),
)


def wants_list(params: Mapping[str, str]) -> bool:
    """Whether the queue page's parameters ask for this list (any search or filter field,
    even empty: the form sent with nothing in it lists every address), or this list's page
    link alone: its `after` has no dots, where the waiting list's place is "p.t.id"."""
    after = params.get("after")
    return not PARAMS.isdisjoint(params) or (after is not None and "." not in after)


@dataclass(frozen=True)
class UrlLine:
    url_id: int
    url: str
    host: str
    status: str
    priority: int
    report_count: int
    first_reported_at: datetime
    last_reported_at: datetime
    claimed_by: str | None  # while the claim is live
    verdict: str | None
    verdict_reason: str | None

    def cells(self) -> tuple[object, ...]:
        return (
            self.url_id,
            self.url,
            self.host,
            self.status,
            self.priority,
            self.report_count,
            self.first_reported_at,
            self.last_reported_at,
            self.claimed_by,
            self.verdict,
            self.verdict_reason,
        )


@dataclass(frozen=True)
class UrlsPage:
    query: ListQuery
    lines: list[UrlLine]
    next: str | None  # the "after" token of the next page; None on the last page


def _live_claim(now: datetime) -> ColumnElement[bool]:
    return and_(ReportedUrlRow.claimed_by.is_not(None), ReportedUrlRow.claim_expires_at > now)


def _claimant(session: Session, actor: Actor, name: str, now: datetime) -> ColumnElement[bool]:
    if name == UNASSIGNED:
        return ~_live_claim(now)
    user_id: int | None = actor.id
    if name != ME:
        user_id = session.execute(
            select(UserRow.id).where(UserRow.username == name)
        ).scalar_one_or_none()
        if user_id is None:
            raise InvalidInput(
                N_("check the search and filters"),
                fields=[FieldError("assignee", N_("no staff account has that name"))],
            )
    return and_(ReportedUrlRow.claimed_by == user_id, ReportedUrlRow.claim_expires_at > now)


def _reported(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Some report of the address meets the condition."""
    return exists().where(ReportRow.url_id == ReportedUrlRow.id, condition)


def _conditions(
    session: Session, actor: Actor, query: ListQuery, now: datetime
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    key = search_key(query.q)
    if key is not None:
        kind, value = key
        if kind == "url":
            conditions.append(ReportedUrlRow.url_hash == value)
        elif kind == "reference":
            named = select(ReportRow.url_id).where(ReportRow.reference == value)
            conditions.append(ReportedUrlRow.id.in_(named))
        elif kind == "domain":
            conditions.append(ReportedUrlRow.domain == value)
        else:
            conditions.append(ReportedUrlRow.host == value)
    f = query.filters
    if f.get("status") == OPEN:
        conditions.append(ReportedUrlRow.status.in_(list(_OPEN)))
    elif f.get("status"):
        conditions.append(ReportedUrlRow.status == f["status"])
        if f["status"] not in _OPEN:
            # Stated, so that SQLite may read the partial index of closed addresses
            # (ix_reported_urls_status_first, migration 0029).
            conditions.append(ReportedUrlRow.status.not_in(_OPEN_LITERALS))
    if f.get("priority"):
        conditions.append(ReportedUrlRow.priority == int(f["priority"]))
        if f["priority"] != "0":
            # Stated, so that SQLite may read the partial index of raised priorities
            # (ix_reported_urls_priority_first, migration 0029).
            conditions.append(ReportedUrlRow.priority != 0)
    if f.get("assignee"):
        conditions.append(_claimant(session, actor, f["assignee"].lower(), now))
    if f.get("source"):
        conditions.append(_reported(ReportRow.source == f["source"]))
    if f.get("origin"):
        conditions.append(_reported(ReportRow.origin == f["origin"]))
    if f.get("country"):
        conditions.append(_reported(ReportRow.country == f["country"].upper()))
    start, end = query.date_filter("from"), query.date_filter("to", end=True)
    if start is not None:
        conditions.append(ReportedUrlRow.first_reported_at >= start)
    if end is not None:
        conditions.append(ReportedUrlRow.first_reported_at < end)
    return conditions


def fetch(
    session: Session, actor: Actor, query: ListQuery
) -> tuple[list[UrlLine], tuple[Any, int] | None]:
    """One page of lines, and the key to start the next page after (None: the last page)."""
    now = utcnow()
    holder = aliased(UserRow)
    stmt = select(
        ReportedUrlRow.id,
        ReportedUrlRow.normalized_url,
        ReportedUrlRow.host,
        ReportedUrlRow.status,
        ReportedUrlRow.priority,
        ReportedUrlRow.report_count,
        ReportedUrlRow.first_reported_at,
        ReportedUrlRow.last_reported_at,
        holder.username,
        ReportedUrlRow.claim_expires_at,
        ReportedUrlRow.verdict,
        ReportedUrlRow.verdict_reason,
    ).outerjoin(holder, holder.id == ReportedUrlRow.claimed_by)
    for condition in _conditions(session, actor, query, now):
        stmt = stmt.where(condition)
    rows = session.execute(keyset(stmt, SPEC, query)).all()
    lines = [
        UrlLine(
            url_id=r[0],
            url=r[1],
            host=r[2],
            status=r[3],
            priority=r[4],
            report_count=r[5],
            first_reported_at=r[6],
            last_reported_at=r[7],
            claimed_by=r[8] if r[8] and r[9] is not None and r[9] > now else None,
            verdict=r[10],
            verdict_reason=r[11],
        )
        for r in rows[: query.size]
    ]
    if len(rows) <= query.size:
        return lines, None
    last = lines[-1]
    value = {
        "first_reported": last.first_reported_at,
        "priority": last.priority,
        "reports": last.report_count,
    }[query.sort]
    return lines, (value, last.url_id)


def count_matching(session: Session, actor: Actor, params: Mapping[str, str], cap: int) -> int:
    """How many addresses the parameters' search and filters find, counted to cap + 1 (the
    staff search box's counts; no permission check or audit of its own: its caller's)."""
    query = _check(params)
    stmt = select(ReportedUrlRow.id)
    for condition in _conditions(session, actor, query, utcnow()):
        stmt = stmt.where(condition)
    return capped_count(session, stmt, cap)


def _check(params: Mapping[str, str]) -> ListQuery:
    query = parse_listing(params, SPEC)
    search_key(query.q)  # raises for text that is no kind of search
    return query


def _permit(actor: Actor) -> None:
    if not allowed(actor, Action.queue_view):
        raise Forbidden(N_("your role does not allow viewing reports"))


def list_urls(session: Session, actor: Actor, params: Mapping[str, str]) -> UrlsPage:
    """A page of reported addresses as the query parameters ask; audited as `queue.list`."""
    _permit(actor)
    query = _check(params)
    lines, last = fetch(session, actor, query)
    audit.record(
        session,
        actor.username,
        "queue.list",
        "queue",
        "assessment",
        {"q": query.q, "filters": query.filters, "sort": query.sort, "shown": len(lines)},
    )
    token = cursor_token(SPEC, query, *last) if last else None
    return UrlsPage(query, lines, token)


def export_urls(session: Session, actor: Actor, params: Mapping[str, str]) -> ListQuery:
    """Check an export of what the filter shows and audit it as `queue.export` (in the
    caller's transaction, before any row is sent); `listing_csv` then streams the rows."""
    _permit(actor)
    query = _check(params)
    fetch(session, actor, ListQuery(query.q, query.filters, query.sort, query.desc, None, 1))
    audit.record(
        session,
        actor.username,
        "queue.export",
        "queue",
        "assessment",
        {"q": query.q, "filters": query.filters, "sort": query.sort, "format": "csv"},
    )
    return query


def listing_csv(db: Database, actor: Actor, query: ListQuery) -> Iterator[str]:
    """The export as CSV text, a line at a time (pages of 1,000, each in a short read), every
    cell formula-safe."""

    def page(current: ListQuery) -> tuple[list[UrlLine], tuple[Any, int] | None]:
        with db.read() as session:
            return fetch(session, actor, current)

    start = ListQuery(query.q, query.filters, query.sort, query.desc, None, 1000)
    rows = (line.cells() for line in batched_export(page, start, EXPORT_LIMIT))
    return csv_lines(CSV_COLUMNS, rows)

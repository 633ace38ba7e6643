"""All reports, any status: the staff reports list's search, filters, sort, pages and CSV.

The search box takes a URL (normalised as intake normalises it, then found by its hash), a
domain or host name (found by the stored `host` and `domain` columns, both indexed, never by
`LIKE` over URLs) or a reference code. Filters: the address's status, the report's source,
origin, content type and country, and a date range on when it was received. Sorted by when it
was received or by reference, paged by key (hotline.web.listing).

`list_reports` and `export_reports` are the use cases: permission (`queue.view`), checks and the
audit entry (`report.list`, `report.export`), for pages, API and CLI alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from hotline.db.engine import Database
from hotline.errors import N_, FieldError, Forbidden, InvalidInput
from hotline.intake.domains import site_domain, without_www
from hotline.intake.reports import ContentType, Origin, Source, UrlStatus, clean_reference
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.intake.urls import UrlError, normalise_url
from hotline.security import audit
from hotline.security.crypto import sha256_hex
from hotline.security.permissions import Action, Actor, allowed
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
CSV_COLUMNS = (
    "reference",
    "received_at",
    "url",
    "host",
    "status",
    "source",
    "origin",
    "content_type",
    "country",
)
SPEC = ListSpec(
    sorts=(
        Sort("received", ReportRow.created_at, "datetime"),
        Sort("reference", ReportRow.reference, "text"),
    ),
    id_column=ReportRow.id,
    default_sort="received",
    default_desc=True,
    filters=(
        Filter("status", tuple(UrlStatus)),
        Filter("source", tuple(Source)),
        Filter("origin", tuple(Origin)),
        Filter("content_type", tuple(ContentType)),
        Filter("country", is_country=True),
        Filter("from", is_date=True),
        Filter("to", is_date=True),
    ),
)
_REFERENCE_LIKE = re.compile(r"^[0-9A-Za-z]{4}-?[0-9A-Za-z]{4}-?[0-9A-Za-z]{4}$")
_HOST_LIKE = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)+\.?$|^\[[0-9a-f:.]+\]$")


@dataclass(frozen=True)
class ReportLine:
    report_id: int
    reference: str
    created_at: datetime
    url_id: int
    url: str
    host: str
    status: str
    source: str
    origin: str
    content_type: str
    country: str | None

    def cells(self) -> tuple[object, ...]:
        return (
            self.reference,
            self.created_at,
            self.url,
            self.host,
            self.status,
            self.source,
            self.origin,
            self.content_type,
            self.country,
        )


@dataclass(frozen=True)
class ReportsPage:
    query: ListQuery
    lines: list[ReportLine]
    next: str | None  # the "after" token of the next page; None on the last page
    searched_as: str | None  # "url", "host" or "reference"


def search_key(q: str) -> tuple[str, str] | None:
    """What the search text means: ("url", the normalised address's hash), ("domain", a
    site's domain), ("host", any other host name) or ("reference", a report reference);
    None for no search. Raise InvalidInput for text that is none of these. Shared by the
    staff lists that search reported addresses (the takedown cases search too)."""
    if not q:
        return None
    if q.lower().startswith(("http://", "https://")):
        try:
            url = normalise_url(q).url
        except UrlError as exc:
            raise InvalidInput(
                N_("that address is not one a report could name"),
                fields=[FieldError("q", str(exc))],
            ) from None
        return "url", sha256_hex(url)
    # Dashed (as printed), or with a digit: a reference may have no digit (about 1 in 90 do),
    # and an undashed word of twelve letters is more likely a name than a reference.
    if _REFERENCE_LIKE.match(q) and (q.count("-") == 2 or any(c.isdigit() for c in q)):
        return "reference", clean_reference(q)
    host = without_www(q.lower().rstrip("."))
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        host = ""
    if _HOST_LIKE.match(host):
        # A site's domain (example.com) means every host under it; any other name, that host.
        # One indexed equality either way (an OR of the two columns defeats SQLite's planner).
        return ("domain", host) if site_domain(host)[0] == host else ("host", host)
    raise InvalidInput(
        N_("search for a web address, a domain or host name, or a reference code"),
        fields=[FieldError("q", N_("a web address (https://…), a domain or a reference code"))],
    )


def search_condition(q: str) -> tuple[str, ColumnElement[bool]] | None:
    """The search's kind and its condition on reports joined to their addresses."""
    key = search_key(q)
    if key is None:
        return None
    kind, value = key
    if kind == "url":
        return kind, ReportedUrlRow.url_hash == value
    if kind == "reference":
        return kind, ReportRow.reference == value
    if kind == "domain":
        return kind, ReportedUrlRow.domain == value
    return kind, ReportedUrlRow.host == value


def _conditions(query: ListQuery) -> list[ColumnElement[bool]]:
    found = search_condition(query.q)
    conditions = [found[1]] if found else []
    f = query.filters
    if f.get("status"):
        conditions.append(ReportedUrlRow.status == f["status"])
    if f.get("source"):
        conditions.append(ReportRow.source == f["source"])
    if f.get("origin"):
        conditions.append(ReportRow.origin == f["origin"])
    if f.get("content_type"):
        conditions.append(ReportRow.content_type == f["content_type"])
    if f.get("country"):
        conditions.append(ReportRow.country == f["country"].upper())
    start, end = query.date_filter("from"), query.date_filter("to", end=True)
    if start is not None:
        conditions.append(ReportRow.created_at >= start)
    if end is not None:
        conditions.append(ReportRow.created_at < end)
    return conditions


def fetch(session: Session, query: ListQuery) -> tuple[list[ReportLine], tuple[Any, int] | None]:
    """One page of lines, and the key to start the next page after (None: the last page)."""
    stmt = select(
        ReportRow.id,
        ReportRow.reference,
        ReportRow.created_at,
        ReportedUrlRow.id,
        ReportedUrlRow.normalized_url,
        ReportedUrlRow.host,
        ReportedUrlRow.status,
        ReportRow.source,
        ReportRow.origin,
        ReportRow.content_type,
        ReportRow.country,
    ).join(ReportedUrlRow, ReportedUrlRow.id == ReportRow.url_id)
    for condition in _conditions(query):
        stmt = stmt.where(condition)
    rows = session.execute(keyset(stmt, SPEC, query)).all()
    lines = [ReportLine(*row) for row in rows[: query.size]]
    if len(rows) <= query.size:
        return lines, None
    last = lines[-1]
    value = last.created_at if query.sort == "received" else last.reference
    return lines, (value, last.report_id)


def count_matching(session: Session, params: Mapping[str, str], cap: int) -> int:
    """How many reports the parameters' search and filters find, counted to cap + 1 (the
    staff search box's counts; no permission check or audit of its own: its caller's)."""
    stmt = select(ReportRow.id).join(ReportedUrlRow, ReportedUrlRow.id == ReportRow.url_id)
    for condition in _conditions(_check(params)):
        stmt = stmt.where(condition)
    return capped_count(session, stmt, cap)


def _check(params: Mapping[str, str]) -> ListQuery:
    query = parse_listing(params, SPEC)
    search_condition(query.q)  # raises for text that is no kind of search
    return query


def _permit(actor: Actor) -> None:
    if not allowed(actor, Action.queue_view):
        raise Forbidden(N_("your role does not allow viewing reports"))


def list_reports(session: Session, actor: Actor, params: Mapping[str, str]) -> ReportsPage:
    """A page of reports as the query parameters ask; audited as `report.list`."""
    _permit(actor)
    query = _check(params)
    lines, last = fetch(session, query)
    found = search_condition(query.q)
    audit.record(
        session,
        actor.username,
        "report.list",
        "reports",
        "all",
        {"q": query.q, "filters": query.filters, "sort": query.sort, "shown": len(lines)},
    )
    token = cursor_token(SPEC, query, *last) if last else None
    return ReportsPage(query, lines, token, found[0] if found else None)


def export_reports(session: Session, actor: Actor, params: Mapping[str, str]) -> ListQuery:
    """Check an export of what the filter shows and audit it as `report.export` (in the
    caller's transaction, before any row is sent); `export_rows` then streams the rows."""
    _permit(actor)
    query = _check(params)
    audit.record(
        session,
        actor.username,
        "report.export",
        "reports",
        "all",
        {"q": query.q, "filters": query.filters, "sort": query.sort, "format": "csv"},
    )
    return query


def export_rows(db: Database, query: ListQuery) -> Iterator[tuple[object, ...]]:
    """Every row the checked query shows, a page of 1,000 at a time, each in a short read."""

    def page(current: ListQuery) -> tuple[list[ReportLine], tuple[Any, int] | None]:
        with db.read() as session:
            return fetch(session, current)

    start = ListQuery(query.q, query.filters, query.sort, query.desc, None, 1000)
    for line in batched_export(page, start, EXPORT_LIMIT):
        yield line.cells()


def listing_csv(db: Database, query: ListQuery) -> Iterator[str]:
    """The export as CSV text, a line at a time, every cell formula-safe."""
    return csv_lines(CSV_COLUMNS, export_rows(db, query))

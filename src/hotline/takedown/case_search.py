"""Searching takedown cases: by address, domain or host, takedown reference (TD-…) or the
public report reference; filtered by list (the pages' tabs), country and category; sorted by
first report, proposal or reference; a page at a time by key, and as CSV (hotline.web.listing).

`search_cases` and `export_cases` are the use cases: permission (`takedown.manage`), checks
and the audit entry (`takedown.cases_searched`, `takedown.cases_exported`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from hotline.assess.reports_list import search_key
from hotline.db.engine import Database
from hotline.errors import N_, Forbidden
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed
from hotline.takedown import cases
from hotline.takedown.tables import HostingProviderRow, TakedownCaseRow
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
    "url",
    "state",
    "route",
    "host",
    "provider",
    "country",
    "category",
    "first_reported_at",
    "proposed_at",
    "first_notice_at",
    "removed_at",
)
SPEC = ListSpec(
    sorts=(
        Sort("first_reported", TakedownCaseRow.first_reported_at, "datetime"),
        Sort("proposed", TakedownCaseRow.proposed_at, "datetime"),
        Sort("reference", TakedownCaseRow.reference, "text"),
    ),
    id_column=TakedownCaseRow.id,
    default_sort="first_reported",
    default_desc=True,
    filters=(
        Filter("tab", tuple(cases.CaseTab)),
        Filter("category", ("A", "B", "C")),
        Filter("country", is_country=True),
    ),
)
_TAKEDOWN_REFERENCE = re.compile(r"^TD-?[0-9A-Z]{8}$", re.IGNORECASE)
_VALUE = {
    "first_reported": lambda c: c.first_reported_at,
    "proposed": lambda c: c.proposed_at,
    "reference": lambda c: c.reference,
}


@dataclass(frozen=True)
class CaseSearchPage:
    query: ListQuery
    items: list[cases.CaseSummary]
    next: str | None


def _search(q: str) -> ColumnElement[bool] | None:
    if not q:
        return None
    if _TAKEDOWN_REFERENCE.match(q):
        compact = q.upper().replace("-", "")
        return TakedownCaseRow.reference == f"TD-{compact[2:]}"
    key = search_key(q)
    assert key is not None
    kind, value = key
    if kind == "url":
        return ReportedUrlRow.url_hash == value
    if kind == "reference":
        return TakedownCaseRow.url_id.in_(
            select(ReportRow.url_id).where(ReportRow.reference == value)
        )
    if kind == "domain":
        return ReportedUrlRow.domain == value
    return ReportedUrlRow.host == value


def _conditions(query: ListQuery) -> list[ColumnElement[bool]]:
    found = _search(query.q)
    conditions = [found] if found is not None else []
    f = query.filters
    if f.get("tab"):
        conditions.append(cases._tab_filter(cases.CaseTab(f["tab"])))
    if f.get("category"):
        conditions.append(TakedownCaseRow.category == f["category"])
    if f.get("country"):
        conditions.append(TakedownCaseRow.country == f["country"].upper())
    return conditions


def fetch(
    session: Session, query: ListQuery
) -> tuple[list[cases.CaseSummary], tuple[Any, int] | None]:
    stmt = (
        select(TakedownCaseRow, ReportedUrlRow.normalized_url, HostingProviderRow.name)
        .join(ReportedUrlRow, ReportedUrlRow.id == TakedownCaseRow.url_id)
        .outerjoin(HostingProviderRow, HostingProviderRow.id == TakedownCaseRow.provider_id)
    )
    for condition in _conditions(query):
        stmt = stmt.where(condition)
    rows = session.execute(keyset(stmt, SPEC, query)).all()
    items = [cases._summary(row, url, name) for row, url, name in rows[: query.size]]
    if len(rows) <= query.size:
        return items, None
    last = items[-1]
    return items, (_VALUE[query.sort](last), last.id)


def count_matching(session: Session, params: Mapping[str, str], cap: int) -> int:
    """How many cases the parameters' search and filters find, counted to cap + 1 (the staff
    search box's counts; no permission check or audit of its own: its caller's). Read from
    the cases, each checked against its address (`EXISTS`), never from the address side: a
    domain holding most addresses would otherwise walk all of them to find the few cases."""
    on_address = exists().where(
        ReportedUrlRow.id == TakedownCaseRow.url_id, *_conditions(_check(params))
    )
    return capped_count(session, select(TakedownCaseRow.id).where(on_address), cap)


def _check(params: Mapping[str, str]) -> ListQuery:
    query = parse_listing(params, SPEC)
    _search(query.q)  # raises for text that is no kind of search
    return query


def _permit(actor: Actor) -> None:
    if not allowed(actor, Action.takedown_manage):
        raise Forbidden(N_("your role does not allow takedown work"))


def search_cases(session: Session, actor: Actor, params: Mapping[str, str]) -> CaseSearchPage:
    """A page of cases as the parameters ask; audited as `takedown.cases_searched`."""
    _permit(actor)
    query = _check(params)
    items, last = fetch(session, query)
    audit.record(
        session,
        actor.username,
        "takedown.cases_searched",
        cases.OBJECT,
        "*",
        {"q": query.q, "filters": query.filters, "sort": query.sort, "shown": len(items)},
    )
    return CaseSearchPage(query, items, cursor_token(SPEC, query, *last) if last else None)


def export_cases(session: Session, actor: Actor, params: Mapping[str, str]) -> ListQuery:
    """Check an export and audit it as `takedown.cases_exported` before any row is sent."""
    _permit(actor)
    query = _check(params)
    audit.record(
        session,
        actor.username,
        "takedown.cases_exported",
        cases.OBJECT,
        "*",
        {"q": query.q, "filters": query.filters, "sort": query.sort, "format": "csv"},
    )
    return query


def cases_csv(db: Database, query: ListQuery) -> Iterator[str]:
    """Every case the checked query shows, as CSV lines (formula-safe), 1,000 a read."""

    def page(current: ListQuery) -> tuple[list[cases.CaseSummary], tuple[Any, int] | None]:
        with db.read() as session:
            return fetch(session, current)

    start = ListQuery(query.q, query.filters, query.sort, query.desc, None, 1000)
    rows = (
        (
            c.reference,
            c.url,
            c.state.value,
            c.route,
            c.host_name,
            c.provider_name,
            c.country,
            c.category,
            c.first_reported_at,
            c.proposed_at,
            c.first_notice_at,
            c.removed_at,
        )
        for c in batched_export(page, start, EXPORT_LIMIT)
    )
    return csv_lines(CSV_COLUMNS, rows)

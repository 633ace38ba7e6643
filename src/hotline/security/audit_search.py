"""Searching the audit log: who did what to which object, when; a page at a time by key, and
the same as CSV (hotline.web.listing).

The search box takes a staff member's name (or `cli:<user>`, `system`) or an object's id (a
report reference, an address's id), matched exactly by index; filters: action, object type
and a date range. Newest first by default (sequence order). Each search is audited as
`audit.search`, each export as `audit.export`: reading the log is itself on the log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from hotline.db.engine import Database
from hotline.errors import N_, Forbidden
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed
from hotline.security.tables import AuditRow
from hotline.web.listing import (
    Filter,
    ListQuery,
    ListSpec,
    Sort,
    batched_export,
    csv_lines,
    cursor_token,
    keyset,
    parse_listing,
)

EXPORT_LIMIT = 1_000_000
CSV_COLUMNS = ("seq", "at", "actor", "action", "object_type", "object_id", "detail")
SPEC = ListSpec(
    sorts=(Sort("seq", AuditRow.seq, "int"),),
    id_column=AuditRow.seq,
    default_sort="seq",
    default_desc=True,
    filters=(
        Filter("action", max_length=64),
        Filter("object_type", max_length=64),
        Filter("from", is_date=True),
        Filter("to", is_date=True),
    ),
    page_size=100,
    max_page_size=500,
)


@dataclass(frozen=True)
class AuditPage:
    query: ListQuery
    entries: list[audit.AuditEntry]
    next: str | None


def _conditions(query: ListQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.q:
        conditions.append(or_(AuditRow.actor == query.q, AuditRow.object_id == query.q))
    if query.filters.get("action"):
        conditions.append(AuditRow.action == query.filters["action"])
    if query.filters.get("object_type"):
        conditions.append(AuditRow.object_type == query.filters["object_type"])
    start, end = query.date_filter("from"), query.date_filter("to", end=True)
    if start is not None:
        conditions.append(AuditRow.at >= start)
    if end is not None:
        conditions.append(AuditRow.at < end)
    return conditions


def _entry(row: AuditRow) -> audit.AuditEntry:
    return audit.AuditEntry(
        row.seq,
        row.at,
        row.actor,
        row.action,
        row.object_type,
        row.object_id,
        json.loads(row.detail),
    )


def fetch(
    session: Session, query: ListQuery
) -> tuple[list[audit.AuditEntry], tuple[Any, int] | None]:
    stmt = select(AuditRow)
    for condition in _conditions(query):
        stmt = stmt.where(condition)
    rows = list(session.execute(keyset(stmt, SPEC, query)).scalars())
    entries = [_entry(r) for r in rows[: query.size]]
    if len(rows) <= query.size:
        return entries, None
    return entries, (entries[-1].seq, entries[-1].seq)


def _canonical(detail: dict[str, Any]) -> str:
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _permit(actor: Actor) -> None:
    if not allowed(actor, Action.audit_view):
        raise Forbidden(N_("your role does not allow reading the audit log"))


def search(db: Database, actor: Actor, params: Mapping[str, str]) -> AuditPage:
    """A page of entries as the parameters ask; the search itself is recorded first."""
    _permit(actor)
    query = parse_listing(params, SPEC)
    with db.write() as session:
        audit.record(
            session,
            actor.username,
            "audit.search",
            "audit_log",
            "*",
            {"q": query.q, "filters": query.filters},
        )
    with db.read() as session:
        entries, last = fetch(session, query)
    token = cursor_token(SPEC, query, *last) if last else None
    return AuditPage(query, entries, token)


def export(db: Database, actor: Actor, params: Mapping[str, str]) -> Iterator[str]:
    """Every entry the filter shows, as CSV lines (formula-safe); recorded before any is sent."""
    _permit(actor)
    query = parse_listing(params, SPEC)
    with db.write() as session:
        audit.record(
            session,
            actor.username,
            "audit.export",
            "audit_log",
            "*",
            {"q": query.q, "filters": query.filters, "format": "csv"},
        )

    def page(current: ListQuery) -> tuple[list[audit.AuditEntry], tuple[Any, int] | None]:
        with db.read() as session:
            return fetch(session, current)

    start = ListQuery(query.q, query.filters, query.sort, query.desc, None, 1000)
    rows = (
        (e.seq, e.at, e.actor, e.action, e.object_type, e.object_id, _canonical(e.detail))
        for e in batched_export(page, start, EXPORT_LIMIT)
    )
    return csv_lines(CSV_COLUMNS, rows)

"""The host directory's list: search, filters, sort and pages by key.

The search box takes part of a provider's name, of its abuse address or of its webhook's
address (a domain such as example.net finds both), case-insensitively; the directory holds
hundreds of providers, not millions, so a `LIKE` over these three columns is enough. Filters:
a country the provider serves and how notices reach it (email or signed webhook). Sorted by
name or by last change, paged by key (hotline.web.listing). The CSV of the directory stays
the import/export round-trip format (`takedown.directory_csv`).

`list_hosts` is the use case: permission (`takedown.manage`), checks and the audit entry
(`hosting_provider.viewed`, page "list", with the search), for pages, API and CLI alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from hotline.errors import N_, Forbidden
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed
from hotline.takedown.directory import OBJECT, Entry, to_provider
from hotline.takedown.provider_rules import Channel
from hotline.takedown.tables import HostingProviderRow
from hotline.web.listing import (
    Filter,
    ListQuery,
    ListSpec,
    Sort,
    capped_count,
    cursor_token,
    keyset,
    parse_listing,
)

SPEC = ListSpec(
    sorts=(
        Sort("name", HostingProviderRow.name, "text"),
        Sort("updated", HostingProviderRow.updated_at, "datetime"),
    ),
    id_column=HostingProviderRow.id,
    default_sort="name",
    default_desc=False,
    filters=(Filter("country", is_country=True), Filter("channel", tuple(Channel))),
)


@dataclass(frozen=True)
class HostsPage:
    query: ListQuery
    entries: list[Entry]
    next: str | None  # the "after" token of the next page; None on the last page


def _contains(column: Any, text: str) -> ColumnElement[bool]:
    pattern = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{pattern}%", escape="\\")


def _conditions(query: ListQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.q:
        conditions.append(
            or_(
                _contains(HostingProviderRow.name, query.q),
                _contains(HostingProviderRow.abuse_email, query.q),
                _contains(HostingProviderRow.webhook_url, query.q),
            )
        )
    country = query.filters.get("country", "").upper()
    if country:
        # Stored comma-separated ("GB,FR"): the code alone, first, last or between commas.
        countries = HostingProviderRow.countries
        conditions.append(
            or_(
                countries == country,
                countries.like(f"{country},%"),
                countries.like(f"%,{country}"),
                countries.like(f"%,{country},%"),
            )
        )
    if query.filters.get("channel"):
        conditions.append(HostingProviderRow.channel == query.filters["channel"])
    return conditions


def fetch(session: Session, query: ListQuery) -> tuple[list[Entry], tuple[Any, int] | None]:
    """One page of entries, and the key to start the next page after (None: the last page)."""
    stmt = select(HostingProviderRow)
    for condition in _conditions(query):
        stmt = stmt.where(condition)
    rows = list(session.execute(keyset(stmt, SPEC, query)).scalars())
    entries = [
        Entry(to_provider(r), r.webhook_secret_sealed is not None, r.updated_at)
        for r in rows[: query.size]
    ]
    if len(rows) <= query.size:
        return entries, None
    last = rows[query.size - 1]
    return entries, (last.name if query.sort == "name" else last.updated_at, last.id)


def count_matching(session: Session, params: Mapping[str, str], cap: int) -> int:
    """How many providers the parameters' search and filters find, counted to cap + 1 (the
    staff search box's counts; no permission check or audit of its own: its caller's)."""
    stmt = select(HostingProviderRow.id)
    for condition in _conditions(parse_listing(params, SPEC)):
        stmt = stmt.where(condition)
    return capped_count(session, stmt, cap)


def list_hosts(session: Session, actor: Actor, params: Mapping[str, str]) -> HostsPage:
    """A page of the directory as the query parameters ask; audited as
    `hosting_provider.viewed` (page "list", with the search and filters)."""
    if not allowed(actor, Action.takedown_manage):
        raise Forbidden(N_("your role does not allow takedown work"))
    query = parse_listing(params, SPEC)
    entries, last = fetch(session, query)
    detail = {"page": "list", "q": query.q, "filters": query.filters, "sort": query.sort}
    audit.record(
        session,
        actor.username,
        "hosting_provider.viewed",
        OBJECT,
        "*",
        detail | {"shown": len(entries)},
    )
    token = cursor_token(SPEC, query, *last) if last else None
    return HostsPage(query, entries, token)

"""A list's entries on its staff page (`/staff/lists/{name}/entries`): search, state filter and
pages by key, to choose entries to withdraw. Hashes, categories and states only, never media.

The search box takes an entry id, the start of a hash in hexadecimal (4 to 64 digits: MD5,
SHA-1, SHA-256 or PDQ) or the start of a URL or term (`lists.store.entry_search`). Sorted by
id; "Next" carries the last id (hotline.web.listing), so a deep page costs what the first
does. `list_entries` is the use case: permission (`lists.manage`), checks and the audit entry
(`hash_list.entries_viewed`, with the search: the page shows hashes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.errors import N_, Forbidden
from hotline.lists import store as lists_store
from hotline.matching import store
from hotline.matching.model import ListInfo
from hotline.matching.tables import HashListEntryRow
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed
from hotline.web.listing import (
    Filter,
    ListQuery,
    ListSpec,
    Sort,
    cursor_token,
    keyset,
    parse_listing,
)

SPEC = ListSpec(
    sorts=(Sort("id", HashListEntryRow.id, "int"),),
    id_column=HashListEntryRow.id,
    default_sort="id",
    default_desc=False,
    filters=(Filter("state", lists_store.ENTRY_STATES),),
    page_size=50,
    max_page_size=200,
)


@dataclass(frozen=True, slots=True)
class EntriesPage:
    info: ListInfo
    query: ListQuery
    entries: list[lists_store.EntryView]
    next_token: str | None


def list_entries(
    session: Session, actor: Actor, name: str, params: Mapping[str, str]
) -> EntriesPage:
    """A page of the list's entries as the query parameters ask (InvalidInput naming each
    bad parameter); audited as `hash_list.entries_viewed`."""
    if not allowed(actor, Action.lists_manage):
        raise Forbidden(N_("your role does not allow managing lists"))
    info = store.get_list(session, name)
    query = parse_listing(params, SPEC)
    where = lists_store.entry_search(info.id, query.q, query.filters.get("state", ""))
    found = lists_store.entry_views(
        session, keyset(select(*lists_store.ENTRY_VIEW_COLUMNS).where(*where), SPEC, query)
    )
    shown = found[: query.size]
    detail = {"q": query.q, "filters": query.filters, "shown": len(shown)}
    audit.record(
        session, actor.username, "hash_list.entries_viewed", "hash_list", info.name, detail
    )
    more = len(found) > query.size
    token = cursor_token(SPEC, query, shown[-1].id, shown[-1].id) if more else None
    return EntriesPage(info, query, shown, token)

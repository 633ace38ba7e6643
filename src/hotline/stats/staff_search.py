"""The staff search box: one field that reads what was typed (a web address, a domain or host
name, a report reference, a takedown reference, a hash or the start of one, a colleague's
username, an industry member's name, part of a hosting provider's name) and answers with the
staff lists that can show it, each with how many rows it finds there (counted to `CAP`, so
a domain holding most reports costs what a rare one does) and a link to that list filtered.

The box is for those who may see reported addresses (`queue.view`: analysts, senior analysts,
takedown officers, admins). Only the lists the person's roles open are searched and shown:
each through `permissions.allowed` with the action its own page requires. Each list decides what it
accepts (its own `count_matching`, the checks its page makes), so the box and the lists never
disagree. `search` is the use case (permission, checks, the counts, the audit entry
`staff.search`), for pages, API and CLI alike. It lives in `stats`, the last tier, because it
reads every capability's list (as the staff home does).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.assess import queue_list, reports_list
from hotline.errors import N_, FieldError, Forbidden, InvalidInput
from hotline.grading import media_list
from hotline.matching.tables import MemberRow
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed
from hotline.security.tables import UserRow
from hotline.takedown import case_search, hosts_list
from hotline.web.listing import MAX_SEARCH

CAP = 1000
_HEX = re.compile(r"^[0-9a-fA-F]{4,64}$")
_TAKEDOWN_REFERENCE = re.compile(r"^TD-?[0-9A-Z]{8}$", re.IGNORECASE)
# What the text was read as, for the answer's first line (catalog message ids).
KIND_WORDS = {
    "url": N_("a web address"),
    "domain": N_("a domain"),
    "host": N_("a host name"),
    "reference": N_("a report reference"),
    "takedown": N_("a takedown reference"),
    "hash": N_("a hash or the start of one"),
    "user": N_("a colleague's username"),
    "member": N_("an industry member"),
    "text": N_("part of a hosting provider's name or address"),
}


@dataclass(frozen=True)
class Hit:
    """One list that can show the search: its label (a catalog message id), the address of the
    list filtered, and how many rows it finds (None: that page has no count, such as the
    members page; `capped`: more than CAP)."""

    label: str
    href: str
    count: int | None
    capped: bool = False


@dataclass(frozen=True)
class SearchResult:
    q: str
    kinds: list[str]  # keys of KIND_WORDS, in the order found
    hits: list[Hit]


def _hit(
    label: str,
    path: str,
    params: dict[str, str],
    counter: Callable[[Mapping[str, str]], int],
) -> Hit | None:
    """The list's count for these parameters; None when the list refuses them (not a search
    that list can make)."""
    try:
        count = counter(params)
    except InvalidInput:
        return None
    return Hit(label, f"{path}?{urlencode(params)}", min(count, CAP), count > CAP)


def _address_key(text: str) -> tuple[str, str] | None:
    try:
        return reports_list.search_key(text)
    except InvalidInput:
        return None


def _check(q: str) -> str:
    text = q.strip()
    if not text:
        raise InvalidInput(
            N_("type what to search for"),
            fields=[FieldError("q", N_("a web address, a domain, a reference, a hash or a name"))],
        )
    if len(text) > MAX_SEARCH:
        raise InvalidInput(
            N_("check the search"), fields=[FieldError("q", N_("the search is too long"))]
        )
    return text


def search(session: Session, actor: Actor, q: str) -> SearchResult:
    """The lists that can show `q`, with counts, among those the actor may open; audited as
    `staff.search`. Raise InvalidInput for an empty or too long search, or one that no list
    open to this person can make (the form is shown again with the text)."""
    if not allowed(actor, Action.queue_view):
        raise Forbidden(N_("your role does not allow viewing reports"))
    text = _check(q)
    kinds: list[str] = []
    hits: list[Hit | None] = []
    key = _address_key(text)
    addresses = allowed(actor, Action.queue_view)
    grading, takedown = allowed(actor, Action.image_grade), allowed(actor, Action.takedown_manage)
    if _TAKEDOWN_REFERENCE.match(text):
        kinds.append("takedown")
        if takedown:
            hits.append(
                _hit(
                    N_("Takedown cases"),
                    "/staff/takedown/search",
                    {"q": text},
                    lambda p: case_search.count_matching(session, p, CAP),
                )
            )
    elif key is not None:
        kind, value = key
        kinds.append(kind)
        params = {"q": text}
        if addresses:
            hits.append(
                _hit(
                    N_("Reports"),
                    "/staff/reports",
                    params,
                    lambda p: reports_list.count_matching(session, p, CAP),
                )
            )
        if addresses:
            hits.append(
                _hit(
                    N_("Reported addresses, any state"),
                    "/staff/queue",
                    params,
                    lambda p: queue_list.count_matching(session, actor, p, CAP),
                )
            )
        if takedown:
            hits.append(
                _hit(
                    N_("Takedown cases"),
                    "/staff/takedown/search",
                    params,
                    lambda p: case_search.count_matching(session, p, CAP),
                )
            )
        if kind in ("domain", "host") and grading:
            hits.append(
                _hit(
                    N_("Media items found there"),
                    "/staff/grading",
                    {"domain": value},
                    lambda p: media_list.count_matching(session, p, CAP),
                )
            )
    if _HEX.match(text):
        kinds.append("hash")
        if grading:
            hits.append(
                _hit(
                    N_("Media items by hash"),
                    "/staff/grading",
                    {"q": text.lower()},
                    lambda p: media_list.count_matching(session, p, CAP),
                )
            )
    free_text = not kinds
    hits.extend(_names(session, actor, text, kinds))
    if free_text:
        kinds.append("text")
    if takedown and (free_text or (key is not None and key[0] in ("domain", "host"))):
        hits.append(
            _hit(
                N_("Host directory"),
                "/staff/hosts",
                {"q": key[1] if key else text},
                lambda p: hosts_list.count_matching(session, p, CAP),
            )
        )
    found = [hit for hit in hits if hit is not None]
    if not found:
        raise InvalidInput(
            N_("none of the lists open to you can search for that"),
            fields=[FieldError("q", N_("a web address, a domain, a reference, a hash or a name"))],
        )
    audit.record(
        session,
        actor.username,
        "staff.search",
        "search",
        "*",
        {"q": text, "kinds": kinds, "lists": [hit.href.split("?")[0] for hit in found]},
    )
    return SearchResult(text, kinds, found)


def _names(session: Session, actor: Actor, text: str, kinds: list[str]) -> list[Hit | None]:
    """A colleague's username (the queue's claim filter) or an industry member's name (the
    members page), each matched whole, case-insensitively."""
    hits: list[Hit | None] = []
    name = text.lower()
    if len(name) <= 64 and allowed(actor, Action.queue_view):
        user = session.execute(
            select(UserRow.username).where(func.lower(UserRow.username) == name)
        ).scalar_one_or_none()
        if user is not None:
            kinds.append("user")
            hits.append(
                _hit(
                    N_("Addresses this colleague holds"),
                    "/staff/queue",
                    {"assignee": user},
                    lambda p: queue_list.count_matching(session, actor, p, CAP),
                )
            )
    if len(name) <= 64 and allowed(actor, Action.members_manage):
        member = session.execute(
            select(MemberRow.name).where(func.lower(MemberRow.name) == name)
        ).scalar_one_or_none()
        if member is not None:
            kinds.append("member")
            hits.append(Hit(N_("Members and API keys"), "/staff/members", None))
    return hits

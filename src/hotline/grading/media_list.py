"""Media items by their hashes and states: the grading page's search, filters, sort, pages and
CSV. Never an image: the list and its CSV carry hashes, states and where an item was found.

The search box takes a hash prefix in hexadecimal (4 to 64 digits), as stored: SHA-256, MD5
(up to 32 digits) or PDQ; each is a range on an indexed column (`prefix <= hash < prefix+"g"`,
so PostgreSQL's default collation can use the index too). Filters: the grading state, the
final category (a graded item's or one inherited from a hash list), image or video, the
domain (every host under it) or host of the address it was found at, and a date range on
when it was found. Sorted by when it was found or by id, paged by key (hotline.web.listing).

`list_media` and `export_media` are the use cases: permission (`image.grade`), checks and the
audit entry (`media.list`, `media.export`), for pages, API and CLI alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from hotline.db.engine import Database
from hotline.errors import N_, FieldError, Forbidden, InvalidInput
from hotline.grading.model import Category
from hotline.grading.service import MediaStatus
from hotline.grading.tables import MediaItemRow
from hotline.intake.domains import site_domain, without_www
from hotline.intake.urls import UrlError, normalise_url
from hotline.security import audit
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
KINDS = ("image", "video")
# The parameters that ask for this list rather than the items waiting for the grader (which
# has no pages: a link with only this list's "after" is this list's).
PARAMS = frozenset(
    {"q", "state", "category", "kind", "domain", "from", "to", "sort", "dir", "size", "after"}
)
CSV_COLUMNS = (
    "id",
    "kind",
    "state",
    "category",
    "sha256",
    "md5",
    "pdq",
    "found_on_host",
    "url_id",
    "found_at",
    "decided_at",
)
SPEC = ListSpec(
    sorts=(
        Sort("found", MediaItemRow.created_at, "datetime"),
        Sort("id", MediaItemRow.id, "int"),
    ),
    id_column=MediaItemRow.id,
    default_sort="found",
    default_desc=True,
    filters=(
        Filter("state", tuple(MediaStatus)),
        Filter("category", tuple(Category)),
        Filter("kind", KINDS),
        Filter("domain", max_length=255),
        Filter("from", is_date=True),
        Filter("to", is_date=True),
    ),
)
_HEX = re.compile(r"^[0-9a-f]{4,64}$")


def wants_list(params: Mapping[str, str]) -> bool:
    """Whether the grading page's parameters ask for this list (any field, even empty)."""
    return not PARAMS.isdisjoint(params)


@dataclass(frozen=True)
class MediaLine:
    media_id: int
    kind: str
    state: str
    category: str | None
    sha256: str
    md5: str
    pdq: str | None
    found_on_host: str
    url_id: int | None
    found_at: datetime
    decided_at: datetime | None

    def cells(self) -> tuple[object, ...]:
        return (
            self.media_id,
            self.kind,
            self.state,
            self.category,
            self.sha256,
            self.md5,
            self.pdq,
            self.found_on_host,
            self.url_id,
            self.found_at,
            self.decided_at,
        )


@dataclass(frozen=True)
class MediaPage:
    query: ListQuery
    lines: list[MediaLine]
    next: str | None  # the "after" token of the next page; None on the last page


def _prefix(column: Any, prefix: str) -> ColumnElement[bool]:
    return (column >= prefix) & (column < prefix + "g")


def hash_condition(q: str) -> ColumnElement[bool] | None:
    """The search as a hash prefix on SHA-256, MD5 and PDQ; None for no search. Raise
    InvalidInput for anything else."""
    text = q.strip().lower()
    if not text:
        return None
    if not _HEX.match(text):
        raise InvalidInput(
            N_("search for the start of a hash"),
            fields=[FieldError("q", N_("4 to 64 hexadecimal digits of a SHA-256, MD5 or PDQ"))],
        )
    ranges = [_prefix(MediaItemRow.sha256, text), _prefix(MediaItemRow.pdq, text)]
    if len(text) <= 32:
        ranges.append(_prefix(MediaItemRow.md5, text))
    return or_(*ranges)


def _domain(value: str) -> str:
    """The filter's domain or host name, read as intake reads a reported address's host
    ("www." dropped, as the reports search drops it)."""
    try:
        if any(c in value for c in "/:@?#\\"):
            raise UrlError(N_("a host name only"))
        host = normalise_url(f"https://{value}/").host
    except UrlError:
        raise InvalidInput(
            N_("check the search and filters"),
            fields=[FieldError("domain", N_("a domain or host name, such as example.com"))],
        ) from None
    return without_www(host)


def _on_domain(domain: str) -> ColumnElement[bool]:
    """Found at an address on that site (a site's domain: every host under it) or that host
    (any other name), as the reports search reads a domain or host; http or https, any port
    or path. One indexed equality either way (migration 0030)."""
    if site_domain(domain)[0] == domain:
        return MediaItemRow.source_domain == domain
    return MediaItemRow.source_host == domain


def _category(category: str) -> ColumnElement[bool]:
    # The final grade is stored as JSON with sorted keys (grading.service._grade_json).
    return or_(
        MediaItemRow.final_grade.like(f'%"category": "{category}"%'),
        MediaItemRow.inherited_category == category,
    )


def _conditions(query: ListQuery) -> list[ColumnElement[bool]]:
    found = hash_condition(query.q)
    conditions = [found] if found is not None else []
    f = query.filters
    if f.get("state"):
        conditions.append(MediaItemRow.status == f["state"])
    if f.get("category"):
        conditions.append(_category(f["category"]))
    if f.get("kind"):
        conditions.append(MediaItemRow.kind == f["kind"])
    if f.get("domain"):
        conditions.append(_on_domain(_domain(f["domain"])))
    start, end = query.date_filter("from"), query.date_filter("to", end=True)
    if start is not None:
        conditions.append(MediaItemRow.created_at >= start)
    if end is not None:
        conditions.append(MediaItemRow.created_at < end)
    return conditions


def _final_category(final_grade: str | None, inherited: str | None) -> str | None:
    if inherited:
        return inherited
    if final_grade:
        found = re.search(r'"category": "([^"]+)"', final_grade)
        return found.group(1) if found else None
    return None


def fetch(session: Session, query: ListQuery) -> tuple[list[MediaLine], tuple[Any, int] | None]:
    """One page of lines, and the key to start the next page after (None: the last page)."""
    stmt = select(
        MediaItemRow.id,
        MediaItemRow.kind,
        MediaItemRow.status,
        MediaItemRow.final_grade,
        MediaItemRow.inherited_category,
        MediaItemRow.sha256,
        MediaItemRow.md5,
        MediaItemRow.pdq,
        MediaItemRow.source_url,
        MediaItemRow.url_id,
        MediaItemRow.created_at,
        MediaItemRow.decided_at,
    )
    for condition in _conditions(query):
        stmt = stmt.where(condition)
    rows = session.execute(keyset(stmt, SPEC, query)).all()
    lines = [
        MediaLine(
            media_id=r.id,
            kind=r.kind,
            state=r.status,
            category=_final_category(r.final_grade, r.inherited_category),
            sha256=r.sha256,
            md5=r.md5,
            pdq=r.pdq,
            found_on_host=urlsplit(r.source_url).hostname or "",
            url_id=r.url_id,
            found_at=r.created_at,
            decided_at=r.decided_at,
        )
        for r in rows[: query.size]
    ]
    if len(rows) <= query.size:
        return lines, None
    last = lines[-1]
    value = last.found_at if query.sort == "found" else last.media_id
    return lines, (value, last.media_id)


def count_matching(session: Session, params: Mapping[str, str], cap: int) -> int:
    """How many media items the parameters' search and filters find, counted to cap + 1 (the
    staff search box's counts; no permission check or audit of its own: its caller's)."""
    stmt = select(MediaItemRow.id)
    for condition in _conditions(_check(params)):
        stmt = stmt.where(condition)
    return capped_count(session, stmt, cap)


def _check(params: Mapping[str, str]) -> ListQuery:
    query = parse_listing(params, SPEC)
    _conditions(query)  # raises for a search or domain that is no kind of either
    return query


def _permit(actor: Actor) -> None:
    if not allowed(actor, Action.image_grade):
        raise Forbidden(N_("your role does not allow grading"))


def list_media(session: Session, actor: Actor, params: Mapping[str, str]) -> MediaPage:
    """A page of media items as the query parameters ask; audited as `media.list`."""
    _permit(actor)
    query = _check(params)
    lines, last = fetch(session, query)
    audit.record(
        session,
        actor.username,
        "media.list",
        "media",
        "*",
        {"q": query.q, "filters": query.filters, "sort": query.sort, "shown": len(lines)},
    )
    token = cursor_token(SPEC, query, *last) if last else None
    return MediaPage(query, lines, token)


def export_media(session: Session, actor: Actor, params: Mapping[str, str]) -> ListQuery:
    """Check an export of what the filter shows and audit it as `media.export` (in the
    caller's transaction, before any row is sent); `listing_csv` then streams the rows."""
    _permit(actor)
    query = _check(params)
    audit.record(
        session,
        actor.username,
        "media.export",
        "media",
        "*",
        {"q": query.q, "filters": query.filters, "sort": query.sort, "format": "csv"},
    )
    return query


def listing_csv(db: Database, query: ListQuery) -> Iterator[str]:
    """The export as CSV text, a line at a time (pages of 1,000, each in a short read), every
    cell formula-safe; hashes and states only, never media."""

    def page(current: ListQuery) -> tuple[list[MediaLine], tuple[Any, int] | None]:
        with db.read() as session:
            return fetch(session, current)

    start = ListQuery(query.q, query.filters, query.sort, query.desc, None, 1000)
    rows = (line.cells() for line in batched_export(page, start, EXPORT_LIMIT))
    return csv_lines(CSV_COLUMNS, rows)

"""The staff lists' shared toolkit: read a list's query parameters, page by key, write CSV.

One list describes itself with a `ListSpec`: the filters it accepts (each with its allowed
values, or a date), the columns it may be sorted by (an allow-list: the URL never names a
column) and its page size cap. `parse_listing` turns the request's query parameters into a
`ListQuery` or raises `InvalidInput` naming each bad field, so a page can show the form again
with what was typed. `keyset` orders a query by the chosen column and the row id and starts
after the cursor the "Next" link carries, so a deep page costs what the first one does.

CSV cells are written by the csv module; a cell that a spreadsheet would read as a formula
(=, +, -, @, tab or CR first) gets a leading single quote (URLs and host names come from the
outside world).
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from hotline.errors import N_, FieldError, InvalidInput

MAX_SEARCH = 300
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _is_country(value: str) -> bool:
    return len(value) == 2 and value.isascii() and value.isalpha()


def safe_cell(value: str) -> str:
    """The cell with a leading quote if a spreadsheet would take it for a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


@dataclass(frozen=True)
class Filter:
    """A filter parameter: one of `choices`, or a date (YYYY-MM-DD) when `is_date`, or a
    two-letter country code when `is_country`, or free text up to `max_length` otherwise."""

    name: str
    choices: tuple[str, ...] = ()
    is_date: bool = False
    is_country: bool = False
    max_length: int = 64


@dataclass(frozen=True)
class Sort:
    """A sortable column: never null, compared as int, text or a datetime."""

    name: str
    column: Any  # an ORM attribute or column
    kind: str  # "int", "text" or "datetime"


@dataclass(frozen=True)
class ListSpec:
    sorts: tuple[Sort, ...]
    id_column: Any
    default_sort: str
    default_desc: bool = True
    filters: tuple[Filter, ...] = ()
    page_size: int = 50
    max_page_size: int = 200

    def sort(self, name: str) -> Sort:
        return next(s for s in self.sorts if s.name == name)


@dataclass(frozen=True)
class ListQuery:
    q: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    sort: str = ""
    desc: bool = True
    after: tuple[Any, int] | None = None
    size: int = 50

    def date_filter(self, name: str, end: bool = False) -> datetime | None:
        """A date filter as a UTC instant: its midnight, or the next midnight for `end`."""
        text = self.filters.get(name)
        if not text:
            return None
        start = datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        return start + timedelta(days=1) if end else start

    def params(self, default_size: int = 50, **changes: str | None) -> dict[str, str]:
        """The query parameters that show this list again (without the cursor), with changes;
        a change to None drops that parameter."""
        out: dict[str, str] = {}
        if self.q:
            out["q"] = self.q
        out.update({k: v for k, v in self.filters.items() if v})
        out["sort"] = self.sort
        out["dir"] = "desc" if self.desc else "asc"
        if self.size != default_size:
            out["size"] = str(self.size)
        for key, value in changes.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = value
        return out


def _encode_value(kind: str, value: Any) -> Any:
    if kind == "datetime":
        return (value - _EPOCH) // timedelta(microseconds=1)
    return value


def cursor_token(spec: ListSpec, query: ListQuery, value: Any, row_id: int) -> str:
    """The text a "Next" link carries: the last row's sort value and id."""
    kind = spec.sort(query.sort).kind
    raw = json.dumps([_encode_value(kind, value), row_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _parse_cursor(spec: ListSpec, sort: str, token: str) -> tuple[Any, int]:
    kind = spec.sort(sort).kind
    try:
        padded = token + "=" * (-len(token) % 4)
        value, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(row_id, int) or isinstance(row_id, bool):
            raise ValueError
        if kind == "text":
            if not isinstance(value, str):
                raise ValueError
            return value, row_id
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError
        if kind == "datetime":
            return _EPOCH + timedelta(microseconds=value), row_id
        return value, row_id
    except (ValueError, TypeError, OverflowError, json.JSONDecodeError):
        raise ValueError("not a page link") from None


def parse_listing(params: Mapping[str, str], spec: ListSpec) -> ListQuery:
    """Read and check `q`, the spec's filters, `sort`, `dir`, `after` and `size`; raise
    InvalidInput naming every bad field."""
    errors: list[FieldError] = []
    q = (params.get("q") or "").strip()
    if len(q) > MAX_SEARCH:
        errors.append(FieldError("q", N_("the search is too long")))
    filters: dict[str, str] = {}
    for spec_filter in spec.filters:
        value = (params.get(spec_filter.name) or "").strip()
        if not value:
            continue
        if spec_filter.choices and value not in spec_filter.choices:
            errors.append(FieldError(spec_filter.name, N_("choose one of the listed values")))
        elif spec_filter.is_date:
            try:
                date.fromisoformat(value)
            except ValueError:
                errors.append(FieldError(spec_filter.name, N_("a date, as YYYY-MM-DD")))
        elif spec_filter.is_country and not (
            len(value) == 2 and value.isascii() and value.isalpha()
        ):
            errors.append(FieldError(spec_filter.name, N_("a two-letter country code")))
        elif len(value) > spec_filter.max_length:
            errors.append(FieldError(spec_filter.name, N_("too long")))
        filters[spec_filter.name] = value
    sort = params.get("sort") or spec.default_sort
    if sort not in {s.name for s in spec.sorts}:
        errors.append(FieldError("sort", N_("sort by one of the column headings")))
        sort = spec.default_sort
    direction = params.get("dir") or ("desc" if spec.default_desc else "asc")
    if direction not in ("asc", "desc"):
        errors.append(FieldError("dir", N_("asc or desc")))
        direction = "desc"
    size = spec.page_size
    if params.get("size"):
        try:
            size = int(params["size"])
            if not 1 <= size <= spec.max_page_size:
                raise ValueError
        except ValueError:
            errors.append(FieldError("size", N_("not a page size this list offers")))
            size = spec.page_size
    after = None
    if params.get("after"):
        try:
            after = _parse_cursor(spec, sort, params["after"][:200])
        except ValueError:
            errors.append(FieldError("after", N_("that page link is not valid")))
    if errors:
        raise InvalidInput(N_("check the search and filters"), fields=errors)
    return ListQuery(q, filters, sort, direction == "desc", after, size)


def keyset(stmt: Any, spec: ListSpec, query: ListQuery) -> Any:
    """Order by the sort column then id, start after the cursor, and fetch one row more than
    a page (to know whether there is a next page)."""
    column, ident = spec.sort(query.sort).column, spec.id_column
    if query.after is not None:
        value, row_id = query.after
        past: ColumnElement[bool]
        # Written as a range on the sort column and then the tie-break, so that both SQLite
        # and PostgreSQL read an index range from the cursor (an OR of the two is a scan).
        if query.desc:
            past = and_(column <= value, or_(column < value, ident < row_id))
        else:
            past = and_(column >= value, or_(column > value, ident > row_id))
        stmt = stmt.where(past)
    if query.desc:
        stmt = stmt.order_by(column.desc(), ident.desc())
    else:
        stmt = stmt.order_by(column.asc(), ident.asc())
    return stmt.limit(query.size + 1)


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """CSV text, a line at a time (for a streamed response), every cell formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out)  # minimal quoting, "\r\n" line ends

    def line(cells: Sequence[object]) -> str:
        out.seek(0)
        out.truncate()
        writer.writerow([safe_cell(_text(c)) for c in cells])
        return out.getvalue()

    yield line(header)
    for row in rows:
        yield line(row)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def batched_export(
    fetch: Callable[[ListQuery], tuple[list[Any], tuple[Any, int] | None]],
    query: ListQuery,
    limit: int,
) -> Iterator[Any]:
    """Every row the filter shows (up to `limit`), fetched page by page by key."""
    sent = 0
    current = query
    while sent < limit:
        rows, last = fetch(current)
        for row in rows:
            yield row
            sent += 1
            if sent >= limit:
                return
        if last is None:
            return
        current = ListQuery(
            current.q, current.filters, current.sort, current.desc, last, current.size
        )


def capped_count(session: Session, stmt: Any, cap: int) -> int:
    """How many rows `stmt` (a select of the list's id, filtered) gives, counting no further
    than cap + 1: a count that costs at most cap + 1 index entries however large the list
    (the staff search shows "more than cap" then)."""
    limited = stmt.order_by(None).limit(cap + 1).subquery()
    return int(session.execute(select(func.count()).select_from(limited)).scalar_one())

"""JSON from outside, checked once at the edge: every JSON API body is parsed here.

What passes `loads` is safe for the rest of the code to hold, hash, store and answer with:
valid UTF-8 with no lone surrogates (they cannot be encoded for hashing or storing), nested at
most `MAX_DEPTH` deep (deeper would reach Python's recursion limit in whatever walks it next),
finite numbers, integers that fit signed 64 bits (larger ones overflow a database driver), and
strings without NUL characters (PostgreSQL's text columns refuse them).
Each refusal is a 4xx in the one error shape, never a crash. Ids and versions that arrive in
paths, query strings or fields are bounded by the columns they are looked up in, with the
types below.
No HTTP here: domain modules share these bounds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

import orjson
from pydantic import Field

from hotline.errors import N_, FieldError, InvalidInput, MalformedBody

# The bodies we take nest three deep at most ({"hashes": [{"type", "value"}]}).
MAX_DEPTH = 32
MAX_INT = 2**63 - 1  # BIGINT and SQLite INTEGER
MIN_INT = -(2**63)
# Ids and versions are INTEGER columns: 32 bits on PostgreSQL (SQLite's hold 64). A larger
# number would make psycopg raise "integer out of range" mid-query.
MAX_ID = 2**31 - 1
_MAX_FIELD_ERRORS = 50
_NOT_JSON = N_("the body is not valid JSON in UTF-8 (a lone surrogate such as \\ud800 is not text)")
_NUL = N_("must not contain the NUL character (\\u0000), which no text column can hold")
_RANGE = N_("must be a whole number from %(min)s to %(max)s", min=MIN_INT, max=MAX_INT)

Version = Annotated[int, Field(ge=0, le=MAX_ID)]
"""A list version in a path or query, 0 for none: 0 to MAX_ID (FastAPI answers 422 outside
it, and the OpenAPI schema says so). With `Query(...)`, nest it:
`Annotated[Version, Query(...)]`; a `= Query(...)` default would drop the bounds."""


def loads(raw: bytes) -> Any:
    """The JSON value in `raw`, or MalformedBody (400) for anything that is not JSON, not
    UTF-8, holds a lone surrogate or nests too deep, or InvalidInput (422) naming each integer
    out of the 64-bit range and each string holding a NUL (PostgreSQL text cannot)."""
    try:
        data = orjson.loads(raw)  # refuses bad UTF-8, lone surrogates, NaN; depth up to 1024
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc):
            raise _too_deep() from exc
        raise MalformedBody(_NOT_JSON) from exc
    # JSON can only carry a NUL as the escape \u0000: without one, no string needs looking at.
    _check(data, nul_possible=b"\\u0000" in raw)
    return data


def require_text(data: Mapping[str, Any], names: Iterable[str]) -> None:
    """InvalidInput naming each of `names` present in `data` that is neither text nor null:
    a list or an object where a string belongs is refused before any rule looks at it."""
    wrong = [FieldError(n, N_("must be text")) for n in sorted(names) if data.get(n) is not None]
    wrong = [f for f in wrong if not isinstance(data[f.field], str)]
    if wrong:
        raise InvalidInput(N_("the request has problems; nothing was stored"), fields=wrong)


def bounded_digits(text: str, limit: int = MAX_ID) -> int | None:
    """`text` as a whole number if it is ASCII digits and at most `limit`, else None (so an
    id or version that no row can have is refused before the database sees it)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 20:
        return None
    value = int(text)
    return value if value <= limit else None


def _too_deep() -> MalformedBody:
    return MalformedBody(N_("the body nests deeper than %(max)s levels", max=MAX_DEPTH))


def _check(data: Any, nul_possible: bool) -> None:
    """Depth, integer range and NUL characters, walked without recursion (a deep body must
    not recurse). The walk keeps no paths (a 1,000-hash batch takes a few hundred
    microseconds); only a body with a value refused is walked again to name where."""
    stack: list[Any] = [(data, 0)]
    refused = not _storable(data, nul_possible)
    while stack:
        node, depth = stack.pop()
        if type(node) is not dict and type(node) is not list:
            continue
        if depth >= MAX_DEPTH:
            raise _too_deep()
        for value in node.values() if type(node) is dict else node:
            kind = type(value)
            if kind is dict or kind is list:
                stack.append((value, depth + 1))
            elif kind is int:
                refused = refused or not MIN_INT <= value <= MAX_INT
            elif kind is str and nul_possible:
                refused = refused or "\x00" in value
    if refused:
        raise InvalidInput(
            N_("a value in the body cannot be taken; nothing was stored"),
            fields=_refused(data, "", nul_possible)[:_MAX_FIELD_ERRORS],
        )


def _storable(value: Any, nul_possible: bool) -> bool:
    if type(value) is int:
        return MIN_INT <= value <= MAX_INT
    return not (nul_possible and type(value) is str and "\x00" in value)


def _refused(node: Any, where: str, nul_possible: bool) -> list[FieldError]:
    """Where each refused value is (the body is known to be at most MAX_DEPTH deep)."""
    if type(node) is dict:
        items: Any = node.items()
    elif type(node) is list:
        items = enumerate(node)
    elif _storable(node, nul_possible):
        return []
    else:
        return [FieldError(where or "body", _RANGE if type(node) is int else _NUL)]
    found: list[FieldError] = []
    for key, value in items:
        found += _refused(value, f"{where}.{key}" if where else str(key), nul_possible)
    return found

"""JSON from outside, checked once at the edge: every JSON API body is parsed here.

What passes `loads` is safe for the rest of the code to hold, hash, store and answer with:
valid UTF-8 with no lone surrogates (they cannot be encoded for hashing or storing), nested at
most `MAX_DEPTH` deep (deeper would reach Python's recursion limit in whatever walks it next),
finite numbers, and integers that fit signed 64 bits (larger ones overflow a database driver).
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

from hotline.errors import FieldError, InvalidInput, MalformedBody

# The bodies we take nest three deep at most ({"hashes": [{"type", "value"}]}).
MAX_DEPTH = 32
MAX_INT = 2**63 - 1  # BIGINT and SQLite INTEGER
MIN_INT = -(2**63)
# Ids and versions are INTEGER columns: 32 bits on PostgreSQL (SQLite's hold 64). A larger
# number would make psycopg raise "integer out of range" mid-query.
MAX_ID = 2**31 - 1
_MAX_FIELD_ERRORS = 50
_NOT_JSON = "the body is not valid JSON in UTF-8 (a lone surrogate such as \\ud800 is not text)"
_RANGE = f"must be a whole number from {MIN_INT} to {MAX_INT}"

DbId = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A row id in a path or query: 1 to MAX_ID (FastAPI answers 422 outside it). With a
`Query(...)` or `Path(...)`, nest it (`Annotated[DbId, Query(...)]`): a `= Query(...)` default
drops these bounds."""

Version = Annotated[int, Field(ge=0, le=MAX_ID)]
"""A list version in a path or query, 0 for none: 0 to MAX_ID."""


def loads(raw: bytes) -> Any:
    """The JSON value in `raw`, or MalformedBody (400) for anything that is not JSON, not
    UTF-8, holds a lone surrogate or nests too deep, or InvalidInput (422) naming each integer
    out of the 64-bit range."""
    try:
        data = orjson.loads(raw)  # refuses bad UTF-8, lone surrogates, NaN; depth up to 1024
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc):
            raise _too_deep() from exc
        raise MalformedBody(_NOT_JSON) from exc
    _check(data)
    return data


def is_whole(value: object) -> bool:
    """A JSON integer (not a bool), within the 64-bit range."""
    return isinstance(value, int) and not isinstance(value, bool) and MIN_INT <= value <= MAX_INT


def require_text(data: Mapping[str, Any], names: Iterable[str]) -> None:
    """InvalidInput naming each of `names` present in `data` that is neither text nor null:
    a list or an object where a string belongs is refused before any rule looks at it."""
    wrong = [FieldError(n, "must be text") for n in names if data.get(n) is not None]
    wrong = [f for f in wrong if not isinstance(data[f.field], str)]
    if wrong:
        raise InvalidInput("the request has problems; nothing was stored", fields=wrong)


def bounded_digits(text: str, limit: int = MAX_ID) -> int | None:
    """`text` as a whole number if it is ASCII digits and at most `limit`, else None (so an
    id or version that no row can have is refused before the database sees it)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 20:
        return None
    value = int(text)
    return value if value <= limit else None


def _too_deep() -> MalformedBody:
    return MalformedBody(f"the body nests deeper than {MAX_DEPTH} levels")


def _check(data: Any) -> None:
    """Depth and integer range, walked without recursion (a deep body must not recurse).
    The walk keeps no paths (a 1,000-hash batch is walked in a few hundred microseconds);
    only a body with an integer out of range is walked again to name where."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    out_of_range = type(data) is int and not MIN_INT <= data <= MAX_INT
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
            elif kind is int and not MIN_INT <= value <= MAX_INT:
                out_of_range = True
    if out_of_range:
        raise InvalidInput(
            "a number in the body is out of range; nothing was stored",
            fields=_out_of_range(data, "")[:_MAX_FIELD_ERRORS],
        )


def _out_of_range(node: Any, where: str) -> list[FieldError]:
    """Where each integer out of range is (the body is known to be at most MAX_DEPTH deep)."""
    if type(node) is int:
        return [] if MIN_INT <= node <= MAX_INT else [FieldError(where or "body", _RANGE)]
    if type(node) is dict:
        items: Any = node.items()
    elif type(node) is list:
        items = enumerate(node)
    else:
        return []
    found: list[FieldError] = []
    for key, value in items:
        found += _out_of_range(value, f"{where}.{key}" if where else str(key))
    return found

"""Checks on names, categories, hash strings and entry records, shared by the API and CLI."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hotline.errors import FieldError, InvalidInput
from hotline.hashing import HashingError, get_signal_type
from hotline.matching.model import HASH_TYPES, HashQuery, NewEntry

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_CATEGORY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,31}$")
ENTRY_FIELDS = frozenset({*HASH_TYPES, "pdq_quality", "category"})


def name(value: object, what: str = "name") -> str:
    """A list or member name: lower-case letters, digits, '.', '_', '-'; at most 64."""
    if not isinstance(value, str) or not _NAME_RE.match(value.strip().lower()):
        raise InvalidInput(
            f"a {what} is 1-64 lower-case letters, digits, '.', '_' or '-'",
            fields=[FieldError(what, "invalid")],
        )
    return value.strip().lower()


def hash_value(hash_type: object, value: object) -> HashQuery:
    """A validated, lower-case hash of a known type; InvalidInput naming `type` or `value`."""
    if not isinstance(hash_type, str) or hash_type.strip().lower() not in HASH_TYPES:
        raise InvalidInput(
            f"unknown hash type; use one of {', '.join(HASH_TYPES)}",
            fields=[FieldError("type", f"must be one of {', '.join(HASH_TYPES)}")],
        )
    kind = hash_type.strip().lower()
    if not isinstance(value, str):
        raise InvalidInput("a hash must be a string", fields=[FieldError("value", "not a string")])
    try:
        return HashQuery(kind, get_signal_type(kind).validate(value))
    except HashingError as exc:
        raise InvalidInput(exc.message, fields=[FieldError("value", exc.message)]) from exc


def entry(record: Mapping[str, Any]) -> NewEntry:
    """One list entry from a JSON object; every problem is reported at once."""
    problems: list[FieldError] = [
        FieldError(k, "unknown field") for k in sorted(set(record) - ENTRY_FIELDS)
    ]
    hashes: dict[str, str] = {}
    for kind in HASH_TYPES:
        if record.get(kind) is None:
            continue
        try:
            hashes[kind] = hash_value(kind, record[kind]).value
        except InvalidInput as exc:
            problems.append(FieldError(kind, exc.message))
    if not hashes and not any(record.get(k) is not None for k in HASH_TYPES):
        problems.append(FieldError("md5", "an entry needs at least one of md5, sha1, sha256, pdq"))
    category = record.get("category")
    if not isinstance(category, str) or not _CATEGORY_RE.match(category):
        problems.append(FieldError("category", "1-32 letters, digits, spaces, '.', '_' or '-'"))
    quality = record.get("pdq_quality")
    if quality is not None and (
        isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 100
    ):
        problems.append(FieldError("pdq_quality", "an integer from 0 to 100"))
    if problems:
        raise InvalidInput("the entry has problems", fields=problems)
    assert isinstance(category, str)
    return NewEntry(
        category=category,
        md5=hashes.get("md5"),
        sha1=hashes.get("sha1"),
        sha256=hashes.get("sha256"),
        pdq=hashes.get("pdq"),
        pdq_quality=quality,
    )


def pdq_max_distance(value: int) -> int:
    if not 0 <= value <= 63:
        raise InvalidInput(
            "pdq_max_distance must be from 0 to 63",
            fields=[FieldError("pdq_max_distance", "from 0 to 63")],
        )
    return value

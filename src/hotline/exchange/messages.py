"""The two messages partners send each other, as JSON, and their checks (pure).

A forward: `{"forward_id", "url", "first_reported_at", "category", "reference"}`.
A status update: `{"forward_id", "status", "at"}`.
Fields a message does not define are ignored, so an instance one version ahead can still
talk to one behind; the defined fields are all checked, and every problem is listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from hotline import json_input
from hotline.errors import N_, FieldError, InvalidInput

CATEGORIES = ("A", "B", "C")  # UK legal categories, the grading model every instance shares
MAX_URL = 2048
_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_REFERENCE_RE = re.compile(r"^[\x21-\x7e]{1,32}$")  # printable ASCII, no spaces


class RemoteStatus(StrEnum):
    """Where a forwarded report stands at the hotline that received it; only ever moves on."""

    received = "received"
    actioned = "actioned"
    removed = "removed"


_RANK: dict[str | None, int] = {"received": 1, "actioned": 2, "removed": 3}


def rank(status: str | None) -> int:
    """0 for none; later statuses rank higher, so a late or repeated update never undoes one."""
    return _RANK.get(status, 0)


@dataclass(frozen=True)
class Forward:
    forward_id: str
    url: str
    first_reported_at: datetime
    category: str | None
    reference: str

    def to_json(self) -> dict[str, Any]:
        return {
            "forward_id": self.forward_id,
            "url": self.url,
            "first_reported_at": self.first_reported_at.isoformat(),
            "category": self.category,
            "reference": self.reference,
        }


@dataclass(frozen=True)
class StatusUpdate:
    forward_id: str
    status: RemoteStatus
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "forward_id": self.forward_id,
            "status": self.status.value,
            "at": self.at.isoformat(),
        }


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(N_("the body must be a JSON object"))
    return data


def _id(data: dict[str, Any], errors: list[FieldError]) -> str:
    value = data.get("forward_id")
    if not isinstance(value, str) or not _ID_RE.match(value):
        errors.append(FieldError("forward_id", N_("must be 1 to 64 letters, digits, . _ or -")))
        return ""
    return value


def _time(data: dict[str, Any], name: str, errors: list[FieldError]) -> datetime | None:
    value = data.get(name)
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        if parsed is not None and parsed.tzinfo is not None:
            parsed.astimezone(UTC)  # year 1 at +14:00, say, has no UTC time: OverflowError
    except (ValueError, OverflowError):
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        errors.append(FieldError(name, N_("must be an ISO 8601 time with its UTC offset")))
        return None
    return parsed


def parse_forward(raw: Any) -> Forward:
    data = _object(raw)
    errors: list[FieldError] = []
    forward_id = _id(data, errors)
    url = data.get("url")
    if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL:
        errors.append(
            FieldError(
                "url", N_("must be the reported address, at most %(max_url)s long", max_url=MAX_URL)
            )
        )
    first = _time(data, "first_reported_at", errors)
    category = data.get("category")
    if category is not None and category not in CATEGORIES:
        errors.append(FieldError("category", N_("must be A, B, C or null")))
    reference = data.get("reference")
    if not isinstance(reference, str) or not _REFERENCE_RE.match(reference):
        errors.append(FieldError("reference", N_("must be the sender's case reference")))
    if errors or first is None:
        raise InvalidInput(
            N_("the forwarded report has problems; nothing was stored"), fields=errors
        )
    assert isinstance(url, str) and isinstance(reference, str)
    return Forward(forward_id, url.strip(), first, category, reference)


def parse_status(raw: Any) -> StatusUpdate:
    data = _object(raw)
    errors: list[FieldError] = []
    forward_id = _id(data, errors)
    if forward_id.isdigit() and json_input.bounded_digits(forward_id) is None:
        # A status update is about one of our forwards: a row id, at most MAX_ID.
        errors.append(
            FieldError(
                "forward_id", N_("a number id is at most %(max_id)s", max_id=json_input.MAX_ID)
            )
        )
    status = data.get("status")
    if not isinstance(status, str) or status not in RemoteStatus.__members__:
        errors.append(FieldError("status", N_("must be received, actioned or removed")))
    at = _time(data, "at", errors)
    if errors or at is None:
        raise InvalidInput(N_("the status update has problems; nothing was stored"), fields=errors)
    return StatusUpdate(forward_id, RemoteStatus(str(status)), at)

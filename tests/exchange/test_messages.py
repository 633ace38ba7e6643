"""The two exchange messages: what parses, and every problem listed by field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hotline.errors import InvalidInput
from hotline.exchange.messages import (
    Forward,
    RemoteStatus,
    parse_forward,
    parse_status,
    rank,
)

FORWARD: dict[str, Any] = {
    "forward_id": "17",
    "url": "http://example.com/gallery/1",
    "first_reported_at": "2024-05-01T10:00:00+00:00",
    "category": "B",
    "reference": "TD-ABCD2345",
}


def _fields(exc: pytest.ExceptionInfo[InvalidInput]) -> set[str]:
    return {f.field for f in exc.value.fields}


def test_a_forward_round_trips() -> None:
    forward = parse_forward(FORWARD)
    assert forward == Forward(
        "17",
        "http://example.com/gallery/1",
        datetime(2024, 5, 1, 10, tzinfo=UTC),
        "B",
        "TD-ABCD2345",
    )
    assert parse_forward(forward.to_json()) == forward
    assert parse_forward({**FORWARD, "category": None}).category is None
    # A field from a newer version is ignored, not refused.
    assert parse_forward({**FORWARD, "priority": 3}) == forward


def test_every_problem_in_a_forward_is_listed() -> None:
    bad = {
        "forward_id": "has space",
        "url": "",
        "first_reported_at": "2024-05-01T10:00:00",  # no offset
        "category": "D",
        "reference": 42,
    }
    with pytest.raises(InvalidInput) as caught:
        parse_forward(bad)
    assert _fields(caught) == {"forward_id", "url", "first_reported_at", "category", "reference"}
    with pytest.raises(InvalidInput) as caught:
        parse_forward({})
    assert _fields(caught) == {"forward_id", "url", "first_reported_at", "reference"}
    with pytest.raises(InvalidInput, match="JSON object"):
        parse_forward(["not", "an", "object"])
    with pytest.raises(InvalidInput) as caught:
        parse_forward({**FORWARD, "url": "http://example.com/" + "a" * 3000})
    assert _fields(caught) == {"url"}


def test_a_status_update_parses() -> None:
    update = parse_status({"forward_id": "17", "status": "removed", "at": "2024-05-02T08:00:00Z"})
    assert update.status is RemoteStatus.removed
    assert update.at == datetime(2024, 5, 2, 8, tzinfo=UTC)
    assert parse_status(update.to_json()) == update


def test_every_problem_in_a_status_update_is_listed() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_status({"forward_id": "", "status": "deleted", "at": "soon"})
    assert _fields(caught) == {"forward_id", "status", "at"}


def test_statuses_only_move_forward() -> None:
    assert rank(None) == 0 < rank("received") < rank("actioned") < rank("removed")
    assert rank("unknown") == 0

"""The one JSON parse at the API edge, on its own: where each bound sits, exactly."""

from __future__ import annotations

import json

import pytest

from hotline import json_input
from hotline.errors import InvalidInput, MalformedBody
from hotline.json_input import MAX_DEPTH, MAX_ID, MAX_INT, MIN_INT


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_depth_up_to_the_limit_passes_and_one_more_is_refused() -> None:
    assert json_input.loads(nested(MAX_DEPTH)) is not None
    with pytest.raises(MalformedBody, match="nests deeper"):
        json_input.loads(nested(MAX_DEPTH + 1))
    with pytest.raises(MalformedBody, match="nests deeper"):
        json_input.loads(nested(100_000))  # past orjson's own limit too: the same answer


@pytest.mark.parametrize("value", [MIN_INT, -1, 0, MAX_INT])
def test_integers_within_64_bits_pass(value: int) -> None:
    assert json_input.loads(json.dumps({"n": [value]}).encode()) == {"n": [value]}


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (json.dumps({"n": MAX_INT + 1}), "n"),
        (json.dumps({"n": [0, MAX_INT + 1]}), "n.1"),
        (json.dumps([{"a": {"b": 2**64 - 1}}]), "0.a.b"),
        (str(2**64 - 1), "body"),
    ],
)
def test_integers_past_64_bits_are_named(raw: str, where: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        json_input.loads(raw.encode())
    assert [f.field for f in caught.value.fields] == [where]


def test_bools_and_floats_are_not_integers_here() -> None:
    """Past 64 bits either way orjson gives a float, which every rule that wants a whole
    number refuses: only 2**63 to 2**64-1 arrive as integers that would overflow."""
    raw = f'{{"t": true, "f": 1e300, "low": {MIN_INT - 1}, "high": {"9" * 30}}}'.encode()
    assert json_input.loads(raw) == {"t": True, "f": 1e300, "low": float(MIN_INT), "high": 1e30}


@pytest.mark.parametrize(
    "raw",
    [
        b'"\\ud800"',  # a lone high surrogate
        b'"\\udc00"',  # a lone low surrogate
        b'"\xed\xa0\x80"',  # a surrogate as raw bytes (not UTF-8)
        b"\xff",
        b"NaN",
        b"1e999",
        b"",
        b'{"a":1',
    ],
)
def test_what_is_not_json_text_is_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedBody):
        json_input.loads(raw)


def test_a_surrogate_pair_is_one_character() -> None:
    assert json_input.loads(b'"\\ud83d\\ude00"') == "\U0001f600"


def test_a_nul_is_refused_but_a_backslash_u_text_is_not() -> None:
    with pytest.raises(InvalidInput) as caught:
        json_input.loads(b'{"d": ["ok", "a\\u0000b"]}')
    assert [f.field for f in caught.value.fields] == ["d.1"]
    assert json_input.loads(b'{"d": "\\\\u0000"}') == {"d": "\\u0000"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("42", 42),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("9" * 5000, None),
        ("²", None),  # str.isdigit says yes; int() says no
        ("-1", None),
        ("", None),
        ("1e3", None),
    ],
)
def test_bounded_digits(text: str, expected: int | None) -> None:
    assert json_input.bounded_digits(text) == expected


def test_require_text_names_each_field_that_is_not_text() -> None:
    json_input.require_text({"a": "x", "b": None}, ["a", "b", "c"])
    with pytest.raises(InvalidInput) as caught:
        json_input.require_text({"a": ["x"], "b": {"k": 1}, "c": 3, "d": []}, ["a", "b", "c"])
    assert [f.field for f in caught.value.fields] == ["a", "b", "c"]

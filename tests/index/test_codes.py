from __future__ import annotations

import numpy as np
import pytest

from hotline.index import IndexInputError, hamming, pdq_bytes_to_hex, pdq_hex_to_bytes
from hotline.index.codes import check_radius, to_ids, to_words, words_to_hex

HEX_A = "f" * 64
HEX_B = "0" * 63 + "1"


def test_hex_round_trip() -> None:
    raw = bytes(range(32))
    assert pdq_hex_to_bytes(pdq_bytes_to_hex(raw)) == raw
    assert pdq_hex_to_bytes(HEX_A.upper()) == b"\xff" * 32


@pytest.mark.parametrize("bad", ["f" * 63, "f" * 65, "g" * 64, "", "0x" + "0" * 62])
def test_bad_hex_is_rejected(bad: str) -> None:
    with pytest.raises(IndexInputError):
        pdq_hex_to_bytes(bad)


def test_hamming() -> None:
    assert hamming(HEX_A, HEX_A) == 0
    assert hamming(HEX_A, "0" * 64) == 256
    assert hamming("0" * 64, HEX_B) == 1
    assert hamming(b"\x00" * 32, bytes.fromhex(HEX_B)) == 1


def test_to_words_accepts_hex_bytes_and_arrays() -> None:
    raw = bytes(range(32))
    by_hex = to_words([raw.hex()])
    assert np.array_equal(by_hex, to_words([raw]))
    assert np.array_equal(by_hex, to_words(np.frombuffer(raw, np.uint8).reshape(1, 32)))
    assert np.array_equal(by_hex, to_words(by_hex))
    assert words_to_hex(by_hex) == [raw.hex()]
    assert to_words([]).shape == (0, 4)


@pytest.mark.parametrize(
    "bad",
    [
        "f" * 64,  # a single hash where a batch is expected
        [b"\x00" * 31],
        [np.zeros(32, np.int16)],
        np.zeros((2, 31), np.uint8),
        [12345],
    ],
)
def test_to_words_rejects_bad_input(bad: object) -> None:
    with pytest.raises(IndexInputError):
        to_words(bad)  # type: ignore[arg-type]


def test_radius_bounds() -> None:
    assert check_radius(0) == 0
    assert check_radius(63) == 63
    for bad in (-1, 64, 31.0, True, "31"):
        with pytest.raises(IndexInputError):
            check_radius(bad)  # type: ignore[arg-type]


def test_ids_validation() -> None:
    assert to_ids([1, 2**62]).dtype == np.int64
    with pytest.raises(IndexInputError):
        to_ids([1.5])  # type: ignore[list-item]
    with pytest.raises(IndexInputError):
        to_ids([2**64])
    with pytest.raises(IndexInputError):
        to_ids([1, 2], expected=3)
    with pytest.raises(IndexInputError):
        to_ids(np.array([1.0]))  # type: ignore[arg-type]

"""`normalised`'s fast path (a batch already in normal form passes with one check a kind)
gives exactly what the item-by-item path gives, and never lets a bad hash through: mixed
batches, lengths that add up, upper case, spaces and odd qualities fall back and are named."""

from __future__ import annotations

import pytest

from hotline.errors import InvalidInput
from hotline.known.model import KnownHashes, all_lower_hex, normalised

MD5, SHA1, SHA256, PDQ = "0a" * 16, "1b" * 20, "2c" * 32, "3d" * 32


def _one_by_one(items: list[KnownHashes]) -> list[KnownHashes]:
    return [normalised([item])[0] for item in items]  # a one-item batch each


def test_a_normal_batch_comes_back_as_it_is() -> None:
    items = [KnownHashes(SHA256, MD5, SHA1, PDQ, 90), KnownHashes(md5=MD5), KnownHashes()]
    assert normalised(items) == items == _one_by_one(items)


def test_upper_case_and_spaces_are_normalised_in_a_batch_too() -> None:
    items = [KnownHashes(md5=MD5), KnownHashes(md5=f" {MD5.upper()} ", pdq=PDQ.upper())]
    assert normalised(items) == [KnownHashes(md5=MD5), KnownHashes(md5=MD5, pdq=PDQ)]


@pytest.mark.parametrize(
    ("items", "fields"),
    [
        # Lengths that add up to two good ones: each is checked on its own.
        ([KnownHashes(md5=MD5[:-1]), KnownHashes(md5=MD5 + "a")], "items[0].md5 items[1].md5"),
        ([KnownHashes(md5=MD5), KnownHashes(md5="g" * 32)], "items[1].md5"),
        ([KnownHashes(pdq=PDQ, pdq_quality=True)], "items[0].pdq_quality"),  # type: ignore[arg-type]
        ([KnownHashes(pdq=PDQ, pdq_quality=101)], "items[0].pdq_quality"),
        ([KnownHashes(sha1=SHA1), KnownHashes(sha1=1)], "items[1].sha1"),  # type: ignore[arg-type]
    ],
)
def test_a_bad_hash_in_a_batch_is_named(items: list[KnownHashes], fields: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        normalised(items)
    assert [f.field for f in refused.value.fields] == fields.split()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("0123456789abcdef" * 3, True),
        ("0123456789abcdeF", False),
        ("0123456789abcdeg", False),
        ("0a 1b", False),
        ("0a\u00e91b", False),  # not ASCII
        ("0a\u0661", False),  # an Arabic-Indic digit: not a hex digit here
    ],
)
def test_all_lower_hex_takes_lower_case_hex_digits_only(text: str, expected: bool) -> None:
    assert all_lower_hex(text) is expected

"""`HammingIndex` against brute force: every code within the radius, exact distances,
nearest first; adds and removes; malformed input refused."""

from __future__ import annotations

import numpy as np
import pytest

import hotline.index
from hotline.index import hamming_index
from hotline.index.errors import DuplicateIdError, IndexInputError, UnknownIdError
from hotline.index.hamming_index import HammingIndex


def codes(rng: np.random.Generator, n: int, bits: int) -> list[str]:
    return [
        f"{int.from_bytes(rng.bytes(-(-bits // 8)), 'big') >> (-bits % 8):0{bits // 4}x}"
        for _ in range(n)
    ]


def near(code: str, flips: int, rng: np.random.Generator) -> str:
    bits = len(code) * 4
    value = int(code, 16)
    for bit in rng.choice(bits, flips, replace=False):
        value ^= 1 << int(bit)
    return f"{value:0{len(code)}x}"


def brute(stored: dict[int, str], query: str, radius: int) -> list[tuple[int, int]]:
    out = []
    for entry_id, code in stored.items():
        d = (int(code, 16) ^ int(query, 16)).bit_count()
        if d <= radius:
            out.append((d, entry_id))
    return [(i, d) for d, i in sorted(out)]


@pytest.mark.parametrize("bits", [64, 68, 144, 256])
def test_search_equals_brute_force(rng: np.random.Generator, bits: int) -> None:
    stored = dict(enumerate(codes(rng, 300, bits), start=1))
    index = HammingIndex(bits)
    index.add(list(stored), list(stored.values()))
    queries = [near(stored[5], 3, rng), near(stored[9], bits // 8, rng), *codes(rng, 5, bits)]
    radius = bits // 4 + 6
    found = index.search_batch(queries, radius)
    for query, matches in zip(queries, found, strict=True):
        assert [(m.id, m.distance) for m in matches] == brute(stored, query, radius)
    assert index.search(stored[5], 0)[0] == (5, 0)


def test_batches_larger_than_the_scratch_agree(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = dict(enumerate(codes(rng, 50, 64), start=1))
    index = HammingIndex(64)
    index.add(list(stored), list(stored.values()))
    queries = [near(c, 4, rng) for c in list(stored.values())[:20]]
    whole = index.search_batch(queries, 12)
    monkeypatch.setattr(hamming_index, "_SCRATCH_WORDS", 60)  # one query a step
    assert index.search_batch(queries, 12) == whole
    assert all(matches for matches in whole)


def test_adds_and_removes(rng: np.random.Generator) -> None:
    a, b, c = codes(rng, 3, 64)
    index = HammingIndex(64)
    index.add([1, 2], [a, b])
    index.add([3], [c.upper()])
    assert len(index) == 3
    assert [m.id for m in index.search(c, 0)] == [3]
    assert index.remove([2, 99], missing_ok=True) == 1
    assert index.search(b, 0) == [] and len(index) == 2
    with pytest.raises(UnknownIdError):
        index.remove([2])
    with pytest.raises(DuplicateIdError):
        index.add([1], [b])
    with pytest.raises(DuplicateIdError):
        index.add([7, 7], [a, b])
    assert HammingIndex(64).search(a, 64) == []


@pytest.mark.parametrize("bad", ["f0f0", "z" * 16, "0" * 15 + " ", "0" * 17, "00 " + "0" * 13])
def test_malformed_codes_are_refused(bad: str) -> None:
    index = HammingIndex(64)
    with pytest.raises(IndexInputError):
        index.add([1], [bad])
    with pytest.raises(IndexInputError):
        index.search(bad, 3)
    assert len(index) == 0


def test_bad_sizes_and_radius() -> None:
    with pytest.raises(IndexInputError):
        HammingIndex(63)
    with pytest.raises(IndexInputError):
        HammingIndex(64).search("0" * 16, -1)
    with pytest.raises(IndexInputError):
        HammingIndex(64).add([1, 2], ["0" * 16])


def test_the_module_leaves_the_packages_hamming_function_alone() -> None:
    # A submodule named `hamming` would replace `hotline.index.hamming` once imported.
    assert callable(hotline.index.hamming) and hotline.index.hamming("0" * 64, "f" * 64) == 256

"""Helpers for index tests: random 256-bit codes and synthetic near-duplicate families only."""

from __future__ import annotations

import numpy as np

from hotline.index.codes import distances


def random_words(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64, endpoint=False)


def flip_bits(words: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """A copy of one (4,) code with the given bit positions flipped."""
    out = words.copy()
    for b in bits:
        out[b // 64] ^= np.uint64(1) << np.uint64(b % 64)
    return out


def at_distance(rng: np.random.Generator, words: np.ndarray, k: int) -> np.ndarray:
    """A code exactly k bits from `words`."""
    return flip_bits(words, rng.choice(256, size=k, replace=False))


def clustered_words(rng: np.random.Generator, centres: int, per: int, max_bits: int) -> np.ndarray:
    """Near-duplicate families: `per` variants of each random centre, 0..max_bits flipped."""
    base = random_words(rng, centres)
    out = [
        at_distance(rng, base[i], int(rng.integers(0, max_bits + 1)))
        for i in range(centres)
        for _ in range(per)
    ]
    return np.array(out, dtype=np.uint64)


def brute_force(
    ids: np.ndarray, words: np.ndarray, query: np.ndarray, radius: int
) -> list[tuple[int, int]]:
    if words.shape[0] == 0:
        return []
    d = distances(words, query)
    hit = np.flatnonzero(d <= radius)
    return sorted((int(d[i]), int(ids[i])) for i in hit)


def as_pairs(matches: list) -> list[tuple[int, int]]:
    return [(m.distance, m.id) for m in matches]

"""`PDQIndex.memory_bytes()`: what the index reports holding, positive and growing with the
number of hashes (random codes only)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from hotline.index import PDQIndex
from tests.index.helpers import random_words

CODE_AND_ID = 32 + 8  # at the least, every hash keeps its 256-bit code and its int64 id


def test_memory_bytes_is_positive_and_grows_with_the_hashes(rng: np.random.Generator) -> None:
    sizes = (1_000, 10_000, 40_000)
    reported = [PDQIndex.build(np.arange(n), random_words(rng, n)).memory_bytes() for n in sizes]
    assert 0 < reported[0] < reported[1] < reported[2]
    for (small, big), (low, high) in zip(pairwise(sizes), pairwise(reported), strict=True):
        assert high - low >= CODE_AND_ID * (big - small)
    assert reported[0] >= CODE_AND_ID * sizes[0]


def test_memory_bytes_grows_with_adds_and_compaction_keeps_it_counted(
    rng: np.random.Generator,
) -> None:
    index = PDQIndex.build(np.arange(1_000), random_words(rng, 1_000), auto_compact_rows=None)
    base = index.memory_bytes()
    index.add(np.arange(1_000, 6_000), random_words(rng, 5_000))  # into the delta segment
    with_delta = index.memory_bytes()
    assert with_delta >= base + CODE_AND_ID * 5_000
    index.compact()  # folded into the base: still counted
    assert index.memory_bytes() >= CODE_AND_ID * 6_000
    assert index.stats().memory_bytes == index.memory_bytes()

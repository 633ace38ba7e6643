"""Big indexes share one query's probes between two threads: the answer must not change."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from hotline.index import PDQIndex, kernels, multi_index

from .helpers import as_pairs, at_distance, brute_force, clustered_words, random_words


class CountingThreads(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.calls = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.calls += 1
        return super().submit(fn, *args, **kwargs)


@pytest.mark.skipif(kernels.search_one is None, reason="the split runs the compiled kernel")
@pytest.mark.parametrize("clustered", [False, True])
def test_a_split_search_answers_as_brute_force(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, clustered: bool
) -> None:
    words = clustered_words(rng, 30, 60, 20) if clustered else random_words(rng, 4000)
    ids = np.arange(words.shape[0], dtype=np.int64) + 11
    index = PDQIndex.build(ids, words)
    threads = CountingThreads()
    monkeypatch.setattr(multi_index, "SPLIT_SEARCH_FROM", 0)
    monkeypatch.setattr(multi_index, "_search_threads", lambda: threads)
    picks = rng.integers(0, words.shape[0], 20)
    queries = [at_distance(rng, words[p], int(rng.integers(0, 40))) for p in picks]
    queries += list(random_words(rng, 3))
    for radius in (0, 15, 31, 47):
        for q in queries:
            got = index.search(q.tobytes(), radius)
            assert as_pairs(got) == brute_force(ids, words, q, radius)
    assert threads.calls > 0
    threads.shutdown()


def only_second_half_finds(mi: multi_index.MultiIndex, code: np.ndarray, radius: int) -> np.ndarray:
    """`code` with rho_i + 1 bits flipped in every chunk the first half probes: within
    `radius` of `code`, but findable only through the second half's tables."""
    first, _ = mi.split_plan(radius)
    bits: list[int] = []
    radii = mi.layout.probe_radii(radius)
    for t in sorted(set(first.table.tolist())):
        bits += range(mi.layout.starts[t], mi.layout.starts[t] + radii[t] + 1)
    assert 0 < len(bits) <= radius
    out = code.copy()
    for b in bits:
        out[b // 64] ^= np.uint64(1) << np.uint64(b % 64)
    return out


@pytest.mark.skipif(kernels.search_one is None, reason="the split runs the compiled kernel")
def test_a_code_only_the_second_half_reaches_is_found(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = random_words(rng, 2000)
    ids = np.arange(words.shape[0], dtype=np.int64)
    index = PDQIndex.build(ids, words)
    mi = multi_index.MultiIndex.build(words, multi_index.ChunkLayout.for_size(words.shape[0]))
    monkeypatch.setattr(multi_index, "SPLIT_SEARCH_FROM", 0)
    for row in (0, 7, 1999):
        q = only_second_half_finds(mi, words[row], 31)
        got_rows, _ = mi.search_one(words, q, 31, strategy="multi_index")
        assert row in got_rows.tolist()
        assert as_pairs(index.search(q.tobytes(), 31)) == brute_force(ids, words, q, 31)


def test_halves_cover_every_probe_once() -> None:
    layout = multi_index.ChunkLayout.with_chunks(11)
    words = random_words(np.random.default_rng(5), 500)
    mi = multi_index.MultiIndex.build(words, layout)
    plan = mi.plan(31)
    first, second = mi.split_plan(31)
    assert first.table.size and second.table.size
    joined = np.concatenate((first.masks, second.masks))
    assert np.array_equal(joined, plan.masks)
    assert np.array_equal(np.concatenate((first.table, second.table)), plan.table)


def test_the_split_is_off_unless_asked_and_a_bad_setting_is_refused() -> None:
    assert multi_index.split_from_env(None) == multi_index.NEVER
    assert multi_index.split_from_env(" ") == multi_index.NEVER
    assert multi_index.split_from_env("20_000_000") == 20_000_000
    for bad in ("lots", "-1", "1e7"):
        with pytest.raises(ValueError, match="HOTLINE_INDEX_SPLIT_FROM"):
            multi_index.split_from_env(bad)

"""Adds, removes and compaction keep results equal to brute force over the live set."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from hotline.index import DuplicateIdError, IndexInputError, PDQIndex, UnknownIdError
from hotline.index.codes import words_to_hex

from .helpers import as_pairs, at_distance, brute_force, random_words


class Model:
    """The live set as plain dicts: what the index must agree with."""

    def __init__(self) -> None:
        self.codes: dict[int, np.ndarray] = {}

    def expected(self, query: np.ndarray, radius: int) -> list[tuple[int, int]]:
        if not self.codes:
            return []
        ids = np.array(list(self.codes), dtype=np.int64)
        words = np.stack(list(self.codes.values()))
        return brute_force(ids, words, query, radius)


def check(index: PDQIndex, model: Model, queries: np.ndarray) -> None:
    assert len(index) == len(model.codes)
    for radius in (0, 31, 63):
        got = index.search_batch(queries, radius)
        for q, matches in zip(queries, got, strict=True):
            assert as_pairs(matches) == model.expected(q, radius)
        assert as_pairs(index.search(queries[0].tobytes(), radius)) == model.expected(
            queries[0], radius
        )


def test_add_remove_compact_sequence(rng: np.random.Generator) -> None:
    words = random_words(rng, 500)
    index = PDQIndex.build(np.arange(500), words, auto_compact_rows=None)
    model = Model()
    model.codes = {i: words[i] for i in range(500)}
    queries = np.stack(
        [
            at_distance(rng, words[i], int(k))
            for i, k in zip(range(0, 500, 25), rng.integers(0, 40, 20))
        ]
    )

    # Near-duplicates of stored codes in the delta, so base and delta both match one query.
    new = np.stack([at_distance(rng, words[i], 5) for i in range(0, 500, 10)])
    new_ids = np.arange(1000, 1000 + new.shape[0])
    index.add(new_ids, new)
    model.codes.update({int(i): w for i, w in zip(new_ids, new, strict=True)})
    check(index, model, queries)

    removed = [0, 25, 1000, 1010, 499]  # base and delta rows
    assert index.remove(removed) == len(removed)
    for i in removed:
        del model.codes[i]
    check(index, model, queries)
    assert index.stats().tombstones == len(removed)

    # Re-adding a removed id with another code is allowed.
    index.add([0], [new[3]])
    model.codes[0] = new[3]
    check(index, model, queries)

    index.compact()
    stats = index.stats()
    assert stats.delta_rows == 0 and stats.tombstones == 0 and stats.base_rows == len(model.codes)
    check(index, model, queries)

    index.remove([0])
    del model.codes[0]
    index.compact()
    check(index, model, queries)


def test_add_is_visible_immediately_and_code_of(rng: np.random.Generator) -> None:
    index = PDQIndex.build([], [])
    code = random_words(rng, 1)
    hexcode = words_to_hex(code)[0]
    index.add([42], [hexcode])
    assert 42 in index and 43 not in index and "42" not in index
    assert index.code_of(42) == hexcode
    assert index.code_of(43) is None
    assert [m.id for m in index.search(hexcode)] == [42]
    index.remove([42])
    assert index.search(hexcode) == [] and 42 not in index and index.code_of(42) is None


def test_duplicate_ids_are_rejected_atomically(rng: np.random.Generator) -> None:
    words = random_words(rng, 4)
    with pytest.raises(DuplicateIdError):
        PDQIndex.build([1, 2, 1, 3], words)
    index = PDQIndex.build([1, 2], words[:2])
    with pytest.raises(DuplicateIdError):
        index.add([3, 1], words[2:])  # 1 is live in the base
    with pytest.raises(DuplicateIdError):
        index.add([5, 5], words[2:])
    index.add([3], words[2:3])
    with pytest.raises(DuplicateIdError):
        index.add([4, 3], words[2:])  # 3 is live in the delta
    assert len(index) == 3 and 4 not in index and 5 not in index
    with pytest.raises(IndexInputError):
        index.add([7, 8], words[:1])  # lengths differ


def test_remove_unknown(rng: np.random.Generator) -> None:
    index = PDQIndex.build([1, 2], random_words(rng, 2))
    with pytest.raises(UnknownIdError):
        index.remove([2, 99])
    assert len(index) == 2  # nothing removed by the failed call
    assert index.remove([2, 99], missing_ok=True) == 1
    assert index.remove([2], missing_ok=True) == 0
    with pytest.raises(UnknownIdError):
        index.remove([2])


def test_auto_compaction_in_background(rng: np.random.Generator) -> None:
    words = random_words(rng, 300)
    index = PDQIndex.build(np.arange(100), words[:100], auto_compact_rows=50)
    for start in range(100, 300, 20):
        index.add(np.arange(start, start + 20), words[start : start + 20])
    index.wait_for_compaction()
    assert len(index) == 300
    for i in (0, 150, 299):
        assert index.search(words[i].tobytes(), 0)[0].id == i
    assert index.stats().delta_rows < 300


def test_queries_stay_correct_during_background_compaction(rng: np.random.Generator) -> None:
    words = random_words(rng, 3000)
    index = PDQIndex.build(np.arange(2000), words[:2000], auto_compact_rows=None)
    index.add(np.arange(2000, 2500), words[2000:2500])
    index.remove(np.arange(0, 2000, 7))
    model = Model()
    model.codes = {i: words[i] for i in range(2500) if not (i < 2000 and i % 7 == 0)}
    queries = words[rng.integers(0, 2500, 12)]
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                for q in queries:
                    got = as_pairs(index.search(q.tobytes(), 31))
                    # Writers below only touch ids >= 2500 and multiples of 11 below 2000.
                    want = [
                        p
                        for p in model.expected(q, 31)
                        if p[1] < 2500 and not (p[1] < 2000 and p[1] % 11 == 0)
                    ]
                    have = [p for p in got if p[1] < 2500 and not (p[1] < 2000 and p[1] % 11 == 0)]
                    assert have == want
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    compactor = index.start_compaction()
    # Writes while the compaction builds: they must survive the swap.
    index.add(np.arange(2500, 3000), words[2500:3000])
    gone = [i for i in range(0, 2000, 11) if i % 7 != 0]
    index.remove(gone)
    compactor.join()
    stop.set()
    thread.join()
    assert not errors, errors[0]
    for i in gone:
        del model.codes[i]
    model.codes.update({i: words[i] for i in range(2500, 3000)})
    check(index, model, words[rng.integers(0, 3000, 10)])
    index.compact()
    check(index, model, words[rng.integers(0, 3000, 10)])


def test_compaction_merges_interleaved_ids(rng: np.random.Generator) -> None:
    words = random_words(rng, 600)
    ids = rng.permutation(5000)[:600].astype(np.int64)
    index = PDQIndex.build(ids[:400], words[:400], auto_compact_rows=None)
    index.add(ids[400:], words[400:])  # ids interleave with the base's
    index.remove(ids[::9])
    model = Model()
    model.codes = {int(i): w for k, (i, w) in enumerate(zip(ids, words, strict=True)) if k % 9}
    index.compact()
    assert index.stats().base_rows == len(model.codes)
    assert np.all(np.diff(index._state.base.ids) > 0)
    check(index, model, words[rng.integers(0, 600, 15)])
    for k in (1, 2, 451):
        assert index.code_of(int(ids[k])) == words_to_hex(words[k : k + 1])[0]

"""The index must return exactly what a brute-force scan returns, for every radius."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.index import IndexInputError, Match, PDQIndex
from hotline.index.multi_index import ChunkLayout

from .helpers import (
    as_pairs,
    at_distance,
    brute_force,
    clustered_words,
    flip_bits,
    random_words,
)

RADII = [0, 1, 15, 31, 32, 40, 63]


def near_queries(rng: np.random.Generator, words: np.ndarray, n: int, max_bits: int) -> np.ndarray:
    picks = rng.integers(0, words.shape[0], n)
    return np.array([at_distance(rng, words[p], int(rng.integers(0, max_bits + 1))) for p in picks])


@pytest.mark.parametrize("chunks", [None, 16, 32])
@pytest.mark.parametrize("strategy", ["auto", "multi_index", "scan"])
def test_random_codes_match_brute_force(
    rng: np.random.Generator, chunks: int | None, strategy: str
) -> None:
    words = random_words(rng, 3000)
    ids = rng.permutation(10**6)[:3000].astype(np.int64)
    index = PDQIndex.build(ids, words, chunks=chunks)
    queries = np.concatenate([near_queries(rng, words, 30, 70), random_words(rng, 5)])
    for radius in RADII:
        batch = index.search_batch(queries, radius, strategy=strategy)  # type: ignore[arg-type]
        for q, got in zip(queries, batch, strict=True):
            expected = brute_force(ids, words, q, radius)
            assert as_pairs(got) == expected
            assert as_pairs(index.search(q.tobytes(), radius, strategy=strategy)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("chunks", [None, 16])
def test_clustered_codes_match_brute_force(rng: np.random.Generator, chunks: int | None) -> None:
    # Families of near-duplicates make some buckets large: the skewed case real lists have.
    words = clustered_words(rng, centres=40, per=50, max_bits=20)
    ids = np.arange(words.shape[0], dtype=np.int64) * 7
    index = PDQIndex.build(ids, words, chunks=chunks)
    queries = near_queries(rng, words, 25, 40)
    for radius in RADII:
        for q, got in zip(queries, index.search_batch(queries, radius), strict=True):
            assert as_pairs(got) == brute_force(ids, words, q, radius)


@pytest.mark.parametrize("radius", [0, 1, 2, 21, 22, 23, 31, 32, 33, 47, 62, 63])
@pytest.mark.parametrize("chunks", [13, 16, 22])
def test_exactly_r_found_and_r_plus_one_not(
    rng: np.random.Generator, radius: int, chunks: int
) -> None:
    centre = random_words(rng, 1)[0]
    inside = at_distance(rng, centre, radius)
    outside = at_distance(rng, centre, radius + 1)
    noise = random_words(rng, 500)
    words = np.concatenate([inside[None], outside[None], noise])
    ids = np.arange(words.shape[0], dtype=np.int64)
    index = PDQIndex.build(ids, words, chunks=chunks)
    for strategy in ("auto", "multi_index", "scan"):
        got = index.search(centre.tobytes(), radius, strategy=strategy)  # type: ignore[arg-type]
        assert Match(0, radius) in got
        assert all(m.id != 1 for m in got)
        assert as_pairs(got) == brute_force(ids, words, centre, radius)


def test_production_layout_eleven_chunks(rng: np.random.Generator) -> None:
    # The layout used at 10M hashes (24/23-bit chunks), on a small set to keep it quick,
    # with the pigeonhole bound's edge: 31 flipped bits packed into as few chunks as possible.
    centre = random_words(rng, 1)[0]
    packed = flip_bits(centre, np.arange(31))  # all of chunk 0 (24 bits) and 7 of chunk 1
    packed_out = flip_bits(centre, np.arange(32))
    spread = flip_bits(centre, np.arange(0, 256, 8)[:31])  # one or two bits in every chunk
    words = np.concatenate([np.stack([packed, packed_out, spread]), random_words(rng, 300)])
    ids = np.arange(words.shape[0], dtype=np.int64)
    index = PDQIndex.build(ids, words, chunks=11)
    assert index.stats().chunk_widths == (24, 24, 24, 23, 23, 23, 23, 23, 23, 23, 23)
    near = [at_distance(rng, words[i], k) for i, k in zip(range(3, 8), [0, 10, 31, 32, 40])]
    queries = np.stack([centre, *near])
    for radius in (0, 30, 31, 32):
        batch = index.search_batch(queries, radius, strategy="multi_index")
        for q, got in zip(queries, batch, strict=True):
            assert as_pairs(got) == brute_force(ids, words, q, radius)
    assert {m.id for m in index.search(centre.tobytes(), 31)} == {0, 2}


def test_duplicate_codes_under_different_ids(rng: np.random.Generator) -> None:
    code = random_words(rng, 1)
    words = np.repeat(code, 5, axis=0)
    index = PDQIndex.build([9, 3, 7, 1, 5], words)
    assert index.search(code[0].tobytes(), 0) == [Match(i, 0) for i in (1, 3, 5, 7, 9)]


def test_empty_index() -> None:
    index = PDQIndex.build([], [])
    assert index.search("0" * 64) == []
    assert index.search_batch(["0" * 64, "f" * 64], 63) == [[], []]
    assert index.search_batch([]) == []
    assert len(index) == 0


def test_search_validates_input() -> None:
    index = PDQIndex.build([1], ["0" * 64])
    for bad_radius in (-1, 64):
        with pytest.raises(IndexInputError):
            index.search("0" * 64, bad_radius)
    with pytest.raises(IndexInputError):
        index.search("0" * 63)
    with pytest.raises(IndexInputError):
        index.search("z" * 64)
    with pytest.raises(IndexInputError):
        index.search(b"\x00" * 33)
    with pytest.raises(IndexInputError):
        index.search_batch("0" * 64)
    with pytest.raises(IndexInputError):
        index.search("0" * 64, strategy="fast")  # type: ignore[arg-type]


@st.composite
def index_and_query(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int, int | None]:
    n = draw(st.integers(0, 60))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    centre = random_words(rng, 1)[0]
    # Codes near one centre so that every radius sees hits and misses.
    words = np.array(
        [at_distance(rng, centre, draw(st.integers(0, 80))) for _ in range(n)], dtype=np.uint64
    ).reshape(n, 4)
    query = at_distance(rng, centre, draw(st.integers(0, 40)))
    radius = draw(st.integers(0, 63))
    chunks = draw(st.sampled_from([None, 13, 16, 22, 64]))
    return words, query, radius, chunks


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index_and_query())
def test_property_exact_against_brute_force(
    case: tuple[np.ndarray, np.ndarray, int, int | None],
) -> None:
    words, query, radius, chunks = case
    ids = np.arange(words.shape[0], dtype=np.int64) * 3 - 50
    index = PDQIndex.build(ids, words, chunks=chunks)
    expected = brute_force(ids, words, query, radius)
    assert as_pairs(index.search(query.tobytes(), radius, strategy="multi_index")) == expected
    assert as_pairs(index.search_batch([query.tobytes()] * 2, radius)[1]) == expected


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 63), st.sampled_from([11, 12, 13, 16, 21, 32, 64, 128, 256]))
def test_probe_radii_satisfy_pigeonhole(radius: int, chunks: int) -> None:
    layout = ChunkLayout.with_chunks(chunks)
    radii = layout.probe_radii(radius)
    assert sum(r + 1 for r in radii) == radius + 1
    assert all(r >= -1 for r in radii)


@pytest.mark.parametrize("strategy", ["auto", "multi_index"])
def test_compiled_and_numpy_paths_agree(rng: np.random.Generator, strategy: str) -> None:
    """`search_one` and `search_many` run compiled where numba is installed; the numpy paths
    they replace stay the fallback, so both must give the same rows and distances (and the
    same as brute force)."""
    from hotline import compiled
    from hotline.index import kernels

    if compiled.disabled():
        pytest.skip("HOTLINE_DISABLE_NUMBA is set: only the numpy path runs")
    assert kernels.search_one is not None  # numba is in the dev lock: the compiled path runs here
    words = np.concatenate(
        [random_words(rng, 2000), clustered_words(rng, centres=10, per=60, max_bits=12)]
    )
    ids = np.arange(words.shape[0], dtype=np.int64)
    index = PDQIndex.build(ids, words, chunks=16)
    base = index._state.base
    tables, base_words = base.tables, base.words
    queries = np.concatenate([near_queries(rng, words, 40, 40), random_words(rng, 5)])
    for radius in RADII:
        for q in queries:
            rows_c, dists_c = tables.search_one(base_words, q, radius, strategy)
            rows_n, dists_n = tables.search_one_numpy(base_words, q, radius, strategy)
            assert rows_c.tolist() == rows_n.tolist()
            assert dists_c.tolist() == dists_n.tolist()
            expected = brute_force(ids, words, q, radius)
            got = zip(dists_c.tolist(), base.ids[rows_c].tolist(), strict=True)
            assert sorted(got) == expected
        many_c = tables.search_many(base_words, queries, radius, strategy)
        many_n = tables.search_many_numpy(base_words, queries, radius, strategy)
        for (rows_c, dists_c), (rows_n, dists_n) in zip(many_c, many_n, strict=True):
            assert (rows_c.tolist(), dists_c.tolist()) == (rows_n.tolist(), dists_n.tolist())

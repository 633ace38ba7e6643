"""Near-duplicate clustering: the self-join is exact and the clustering rule never chains.

Synthetic 256-bit codes only (random centres with near-duplicate variants)."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.index import cluster as cluster_module
from hotline.index import self_join as sj
from hotline.index.cluster import Clustering, cluster_pdq, identical_groups, star_clusters
from hotline.index.codes import distances, words_to_hex
from hotline.index.errors import IndexInputError

from .helpers import at_distance, clustered_words, random_words


def brute_pairs(words: np.ndarray, radius: int) -> set[tuple[int, int, int]]:
    out: set[tuple[int, int, int]] = set()
    for i in range(words.shape[0]):
        d = distances(words, words[i])
        out.update((i, int(j), int(d[j])) for j in np.flatnonzero(d <= radius) if j > i)
    return out


def as_set(pairs: sj.Pairs) -> set[tuple[int, int, int]]:
    return set(zip(pairs.left.tolist(), pairs.right.tolist(), pairs.distance.tolist(), strict=True))


def family_data(rng: np.random.Generator, centres: int = 30, per: int = 8) -> np.ndarray:
    words = np.concatenate([clustered_words(rng, centres, per, 20), random_words(rng, 60)])
    return words[rng.permutation(words.shape[0])]


def numpy_join(words: np.ndarray, radius: int, chunks: int | None) -> sj.Pairs:
    """The numpy fallback, whether or not numba is installed."""
    layout = sj.ChunkLayout.with_chunks(chunks) if chunks else sj.join_layout(len(words), radius)
    parts = [
        sj.join_table(words, layout.widths, t, radius, compiled=False)
        for t, rho in enumerate(layout.probe_radii(radius))
        if rho >= 0
    ]
    return sj._pairs_of(parts, words.shape[0])


def check_rule(words: np.ndarray, c: Clustering, radius: int, alone: tuple[int, ...] = ()) -> None:
    """Every member within the radius of its representative (and the recorded distance is
    right); representatives (but those of low quality, `alone`) pairwise farther apart."""
    reps = c.representatives[c.labels]
    d = np.bitwise_count(words ^ words[reps]).sum(axis=1)
    assert (d <= radius).all()
    assert np.array_equal(d, c.distances)
    assert np.array_equal(c.representatives[c.labels[c.representatives]], c.representatives)
    is_rep = c.is_representative()
    assert np.flatnonzero(is_rep).tolist() == sorted(c.representatives[c.representatives >= 0])
    assert (c.distances[is_rep] == 0).all()
    leaders = np.setdiff1d(c.representatives, alone)
    assert len(sj.self_join(words[leaders], radius)) == 0
    assert c.sizes.sum() == words.shape[0]


# ---- the self-join -----------------------------------------------------------------------


@pytest.mark.parametrize("radius", [0, 8, 31, 45])
@pytest.mark.parametrize("chunks", [None, 11, 16, 21])
def test_self_join_equals_brute_force(
    rng: np.random.Generator, radius: int, chunks: int | None
) -> None:
    words = family_data(rng)
    words[5] = words[6]  # an exact duplicate
    truth = brute_pairs(words, radius)
    pairs = sj.self_join(words, radius, chunks=chunks)
    assert len(pairs) == len(truth)  # each pair once
    assert as_set(pairs) == truth
    assert np.all(pairs.left < pairs.right)
    key = pairs.left * len(words) + pairs.right
    assert np.all(np.diff(key) > 0)  # sorted


@pytest.mark.parametrize("chunks", [None, 16])
def test_numpy_fallback_equals_compiled(rng: np.random.Generator, chunks: int | None) -> None:
    words = family_data(rng)
    compiled = sj.self_join(words, 31, chunks=chunks)
    fallback = numpy_join(words, 31, chunks)
    assert as_set(fallback) == as_set(compiled) == brute_pairs(words, 31)
    assert len(fallback) == len(compiled)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    radius=st.integers(0, 40),
    per=st.integers(1, 12),
    bits=st.integers(0, 30),
)
def test_self_join_exact_on_random_families(seed: int, radius: int, per: int, bits: int) -> None:
    rng = np.random.default_rng(seed)
    words = np.concatenate([clustered_words(rng, 6, per, bits), random_words(rng, 10)])
    assert as_set(sj.self_join(words, radius)) == brute_pairs(words, radius)


def test_self_join_threads_give_the_same_pairs(rng: np.random.Generator) -> None:
    words = family_data(rng)
    one = sj.self_join(words, 31, workers=1)
    two = sj.self_join(words, 31, workers=3)
    for a, b in ((one.left, two.left), (one.right, two.right), (one.distance, two.distance)):
        assert np.array_equal(a, b)


def test_sort_pairs_packed_and_lexsort_agree(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 50
    left, right = np.divmod(rng.choice(n * n, size=500, replace=False), n)  # distinct pairs
    dist = rng.integers(0, 257, 500).astype(np.uint16)
    packed = sj.sort_pairs(left.copy(), right.copy(), dist.copy(), n)
    monkeypatch.setattr(sj, "_PACKED_MAX_ROWS", 1)
    plain = sj.sort_pairs(left.copy(), right.copy(), dist.copy(), n)
    expected = sorted(zip(left.tolist(), right.tolist(), dist.tolist(), strict=True))
    for got in (packed, plain):
        assert list(zip(*(a.tolist() for a in got), strict=True)) == expected


def test_join_layout_for_a_million_at_31_is_16_chunks_of_16_bits() -> None:
    assert sj.join_layout(1_000_000, 31).widths == (16,) * 16


def test_self_join_of_fewer_than_two_codes_is_empty(rng: np.random.Generator) -> None:
    assert len(sj.self_join(random_words(rng, 1), 31)) == 0
    assert len(sj.self_join(np.zeros((0, 4), np.uint64), 31)) == 0


# ---- the clustering rule -------------------------------------------------------------------


def test_clusters_follow_the_rule_on_families(rng: np.random.Generator) -> None:
    words = family_data(rng)
    c = cluster_pdq(words)
    check_rule(words, c, 31)
    assert c.n_clusters < words.shape[0]  # families did cluster


def chain(rng: np.random.Generator, links: int, step: int = 20) -> np.ndarray:
    """Codes each `step` bits (distinct bits) from the last: d(i, j) = step * |i - j|."""
    bits = rng.permutation(256)
    codes = [random_words(rng, 1)[0]]
    for k in range(links):
        codes.append(codes[-1].copy())
        for bit in bits[k * step : (k + 1) * step]:
            codes[-1][bit // 64] ^= np.uint64(1) << np.uint64(bit % 64)
    return np.stack(codes)


def test_a_chain_of_three_joins_its_ends_only_through_a_representative_near_both(
    rng: np.random.Generator,
) -> None:
    words = chain(rng, 2)  # A - B - C: d(A, B) = d(B, C) = 20, d(A, C) = 40
    # Input order: A leads and takes B; C, out of A's range, stays alone.
    c = cluster_pdq(words, order="input")
    check_rule(words, c, 31)
    assert c.labels[0] == c.labels[1] != c.labels[2]
    # Most neighbours first: B leads and takes A and C, both within 20 bits of it.
    c = cluster_pdq(words, order="degree")
    check_rule(words, c, 31)
    assert c.representatives.tolist() == [1]


@pytest.mark.parametrize("order", ["degree", "input"])
def test_a_chain_never_joins_ends_that_no_representative_covers(
    rng: np.random.Generator, order: str
) -> None:
    words = chain(rng, 3)  # A - B - C - D: no code is within 31 bits of both A and D
    c = cluster_pdq(words, order=order)
    check_rule(words, c, 31)
    assert c.labels[0] != c.labels[3]


def test_a_long_chain_is_cut_into_clusters_no_wider_than_the_radius(
    rng: np.random.Generator,
) -> None:
    # 25 codes, each 10 bits from the last: a single-link rule would make one cluster. Here
    # a member is at most 3 steps from its representative, so a cluster spans <= 7 codes.
    words = chain(rng, 24, step=10)
    c = cluster_pdq(words)
    check_rule(words, c, 31)
    assert c.n_clusters >= 4
    for k in range(c.n_clusters):
        members = c.members(k)
        assert members.max() - members.min() <= 6


def test_members_go_to_their_nearest_representative() -> None:
    # In input order R2 leads and takes X (25 bits away); R1 (45 from R2) leads its own
    # cluster; then X moves to R1, 20 bits away, the nearer representative.
    rng = np.random.default_rng(7)
    r1 = random_words(rng, 1)[0]
    bits = rng.choice(256, size=60, replace=False)

    def flip(code: np.ndarray, bs: np.ndarray) -> np.ndarray:
        out = code.copy()
        for bit in bs:
            out[bit // 64] ^= np.uint64(1) << np.uint64(bit % 64)
        return out

    x = flip(r1, bits[:20])
    r2 = flip(x, bits[20:45])  # d(x, r2) = 25, d(r1, r2) = 45
    words = np.stack([r2, x, r1])
    c = cluster_pdq(words, order="input")
    check_rule(words, c, 31)
    assert set(c.representatives.tolist()) == {0, 2}
    assert c.labels[1] == c.labels[2]
    assert c.distances[1] == 20


def test_star_rule_takes_free_neighbours_only() -> None:
    # 0-1, 1-2 within the radius, 0-2 not; input order: 0 leads and takes 1; 2 stays alone.
    pairs = sj.Pairs(np.array([0, 1]), np.array([1, 2]), np.array([10, 10], dtype=np.uint16))
    reps, dist = star_clusters(pairs, 3, order="input")
    assert reps.tolist() == [0, 0, 2]
    assert dist.tolist() == [0, 10, 0]
    reps, _ = star_clusters(pairs, 3, order="degree")
    assert reps.tolist() == [1, 1, 1]


def reference_representatives(words: np.ndarray, radius: int, order: str) -> list[int]:
    """The rule written plainly over all pairwise distances (no join, no grouping)."""
    n = words.shape[0]
    d = np.bitwise_count(words[:, None, :] ^ words[None, :, :]).sum(axis=2)
    near = d <= radius
    degree = near.sum(axis=1) - 1
    visit = sorted(range(n), key=lambda i: (-degree[i], i)) if order == "degree" else range(n)
    rank = {i: k for k, i in enumerate(visit)}
    taken, reps = set(), []
    for i in visit:
        if i not in taken:
            reps.append(i)
            taken.update(np.flatnonzero(near[i]).tolist())
    return [
        min((r for r in reps if near[i, r]), key=lambda r: (d[i, r], rank[r])) for i in range(n)
    ]


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    per=st.integers(1, 8),
    bits=st.integers(0, 30),
    copies=st.integers(0, 20),
    order=st.sampled_from(["degree", "input"]),
)
def test_clusters_equal_the_plain_rule(
    seed: int, per: int, bits: int, copies: int, order: str
) -> None:
    rng = np.random.default_rng(seed)
    words = np.concatenate([clustered_words(rng, 5, per, bits), random_words(rng, 5)])
    # Identical copies of some codes, scattered through the input.
    words = np.concatenate([words, words[rng.integers(0, len(words), copies)]])
    words = words[rng.permutation(len(words))]
    c = cluster_pdq(words, order=order)
    assert c.representatives[c.labels].tolist() == reference_representatives(words, 31, order)
    check_rule(words, c, 31)


def test_identical_copies_are_joined_once(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = random_words(rng, 1)
    near = at_distance(rng, code[0], 6)[None, :]
    words = np.concatenate([random_words(rng, 10), near, np.repeat(code, 3000, axis=0)])
    calls: list[int] = []
    real = cluster_module.self_join

    def counting(w: np.ndarray, *args: object, **kw: object) -> sj.Pairs:
        pairs = real(w, *args, **kw)
        calls.append(len(pairs))
        return pairs

    monkeypatch.setattr(cluster_module, "self_join", counting)
    c = cluster_pdq(words)
    assert calls == [1]  # one pair (near, code), not 4.5 million
    # `near` and each copy have 3,000 neighbours: the earlier, `near`, leads and takes them.
    assert c.representatives[c.labels[11]] == 10
    assert c.sizes[c.labels[11]] == 3001 and set(c.distances[11:].tolist()) == {6}
    check_rule(words, c, 31)


def test_copies_count_as_neighbours_when_choosing_leaders(rng: np.random.Generator) -> None:
    # X has V and five copies of G as neighbours (6); V has X, W1, W2 (3); G's copies see
    # X and each other (5). Counted per distinct code, V (3) would beat X (2) and lead.
    bits = rng.permutation(256)

    def flip(code: np.ndarray, k: int) -> np.ndarray:
        out = code.copy()
        for bit in bits[k * 20 : (k + 1) * 20]:
            out[bit // 64] ^= np.uint64(1) << np.uint64(bit % 64)
        return out

    x = random_words(rng, 1)[0]
    v, g = flip(x, 0), flip(x, 1)
    w1, w2 = flip(v, 2), flip(v, 3)
    words = np.stack([v, w1, w2, x, g, g, g, g, g])
    c = cluster_pdq(words)
    assert c.representatives[c.labels].tolist() == reference_representatives(words, 31, "degree")
    assert c.labels[3] == c.labels[0] == c.labels[4] and c.representatives[c.labels[3]] == 3


def test_identical_groups(rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    base = random_words(rng, 50)
    base[1:10, 0] = base[0, 0]  # same first word, different codes
    words = base[rng.integers(0, 50, 400)]
    for mix in (cluster_module._MIX, (np.uint64(0),) * 3):  # the second: every key collides
        monkeypatch.setattr(cluster_module, "_MIX", mix)
        first, group, sizes = identical_groups(words)
        _, first_np, counts_np = np.unique(words, axis=0, return_index=True, return_counts=True)
        by_first = np.argsort(first_np)
        assert first.tolist() == first_np[by_first].tolist()
        assert sizes.tolist() == counts_np[by_first].tolist()
        assert np.array_equal(words[first[group]], words)
        assert list(first) == sorted(first)


@pytest.mark.parametrize("compiled", [True, False])
def test_adjacency_lists_each_rows_neighbours_ascending(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, compiled: bool
) -> None:
    if not compiled:
        monkeypatch.setattr(cluster_module, "_fill_impl", None)
    words = family_data(rng)
    pairs = sj.self_join(words, 31)
    indptr, nbrs, nd = cluster_module.adjacency(pairs, len(words))
    d = np.bitwise_count(words[:, None, :] ^ words[None, :, :]).sum(axis=2)
    for i in range(len(words)):
        expected = [j for j in range(len(words)) if j != i and d[i, j] <= 31]
        assert nbrs[indptr[i] : indptr[i + 1]].tolist() == expected
        assert nd[indptr[i] : indptr[i + 1]].tolist() == d[i, expected].tolist()
    with pytest.raises(ValueError, match="2\\*\\*31"):
        cluster_module.adjacency(pairs, 2**31)


def test_clustering_is_deterministic_whatever_the_split(rng: np.random.Generator) -> None:
    words = family_data(rng)
    a = cluster_pdq(words, workers=1)
    b = cluster_pdq(words, workers=4)
    for field in ("labels", "representatives", "sizes", "distances"):
        assert np.array_equal(getattr(a, field), getattr(b, field))


def test_input_forms_give_the_same_clusters(rng: np.random.Generator) -> None:
    words = family_data(rng, centres=5, per=4)
    from_words = cluster_pdq(words)
    from_hex = cluster_pdq(words_to_hex(words))
    assert np.array_equal(from_words.labels, from_hex.labels)


def test_radius_option(rng: np.random.Generator) -> None:
    centre = random_words(rng, 1)[0]
    words = np.stack([centre, at_distance(rng, centre, 12)])
    assert cluster_pdq(words, radius=12).n_clusters == 1
    assert cluster_pdq(words, radius=11).n_clusters == 2
    assert cluster_pdq(words).radius == 31


def test_low_quality_codes_stay_alone(rng: np.random.Generator) -> None:
    centre = random_words(rng, 1)[0]
    words = np.stack([centre, at_distance(rng, centre, 3), at_distance(rng, centre, 4)])
    c = cluster_pdq(words, qualities=[90, 49, 50])
    assert c.labels[0] == c.labels[2] != c.labels[1]
    assert c.representatives[c.labels[1]] == 1
    check_rule(words, c, 31, alone=(1,))
    assert cluster_pdq(words, qualities=[90, 49, 50], min_quality=40).n_clusters == 1


def test_low_quality_codes_do_not_join_existing_clusters(rng: np.random.Generator) -> None:
    centre = random_words(rng, 1)[0]
    new = np.stack([at_distance(rng, centre, 2)])
    assert cluster_pdq(new, existing=[centre]).labels.tolist() == [0]
    c = cluster_pdq(new, existing=[centre], qualities=[10])
    assert c.labels.tolist() == [1]
    assert c.representatives.tolist() == [-1, 0]


def test_empty_input() -> None:
    c = cluster_pdq([])
    assert c.n_clusters == 0 and c.labels.shape == (0,) and c.sizes.shape == (0,)
    c = cluster_pdq([], existing=[b"\x00" * 32])
    assert c.n_clusters == 1 and c.sizes.tolist() == [0]


def test_incremental_batches_join_existing_representatives(rng: np.random.Generator) -> None:
    centres = random_words(rng, 3)
    first = np.stack([centres[0], at_distance(rng, centres[0], 5), centres[1]])
    c1 = cluster_pdq(first)
    reps = first[c1.representatives]
    second = np.stack(
        [
            at_distance(rng, centres[1], 7),  # joins centre 1's cluster
            centres[2],  # new
            at_distance(rng, centres[2], 9),  # joins the new one
            at_distance(rng, centres[0], 40),  # too far from everything
        ]
    )
    c2 = cluster_pdq(second, existing=reps)
    assert c2.n_existing == c1.n_clusters == 2
    assert c2.labels[0] == c1.labels[2]
    assert c2.labels[1] == c2.labels[2] >= 2
    assert c2.labels[3] >= 2 and c2.labels[3] != c2.labels[1]
    assert c1.labels.tolist() == [0, 0, 1]
    assert c2.sizes.tolist()[:2] == [0, 1]
    assert c2.representatives[: c2.n_existing].tolist() == [-1, -1]
    # Representatives stay pairwise apart across batches.
    everything = np.concatenate([reps, second[c2.representatives[2:]]])
    assert len(sj.self_join(everything, 31)) == 0


def test_joins_the_nearest_existing_representative(rng: np.random.Generator) -> None:
    a = random_words(rng, 1)[0]
    x = at_distance(rng, a, 10)
    b = at_distance(rng, x, 5)  # nearer, and later in the list
    c = cluster_pdq(np.stack([x]), existing=np.stack([a, b]))
    assert c.labels.tolist() == [1]
    assert c.distances.tolist() == [5]


@pytest.mark.parametrize(
    "codes",
    [
        ["ab" * 31],  # 62 characters
        ["zz" * 32],  # not hex
        [b"\x00" * 31],
        "ab" * 32,  # one hash where a sequence is expected
        np.zeros((3, 5), dtype=np.uint64),
    ],
)
def test_bad_codes_are_rejected(codes: object) -> None:
    with pytest.raises(IndexInputError):
        cluster_pdq(codes)


def test_bad_options_are_rejected(rng: np.random.Generator) -> None:
    words = random_words(rng, 3)
    with pytest.raises(IndexInputError, match="radius"):
        cluster_pdq(words, radius=64)
    with pytest.raises(IndexInputError, match="radius"):
        cluster_pdq(words, radius=-1)
    with pytest.raises(IndexInputError, match="qualities for 3"):
        cluster_pdq(words, qualities=[50, 50])
    with pytest.raises(IndexInputError, match="integers"):
        cluster_pdq(words, qualities=["high", "low", "x"])
    with pytest.raises(IndexInputError, match="min_quality"):
        cluster_pdq(words, min_quality=0.5)
    with pytest.raises(IndexInputError, match="order"):
        cluster_pdq(words, order="random")
    with pytest.raises(IndexInputError):
        cluster_pdq(words, existing=["00" * 31])
    assert issubclass(IndexInputError, ValueError)


# ---- Dask ----------------------------------------------------------------------------------


def test_dask_path_gives_the_same_clusters(rng: np.random.Generator) -> None:
    distributed = pytest.importorskip("dask.distributed")
    words = family_data(rng)
    local = cluster_pdq(words)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = cluster_pdq(words, client=client)
    for field in ("labels", "representatives", "sizes", "distances"):
        assert np.array_equal(getattr(local, field), getattr(remote, field))
    assert as_set(sj.self_join(words, 31)) == brute_pairs(words, 31)


# ---- the benchmark, small ------------------------------------------------------------------


def test_benchmark_runs_small_and_checks_itself() -> None:
    bench = runpy.run_path(str(Path(__file__).resolve().parents[2] / "bench" / "bench_cluster.py"))
    out = bench["main"](["--size", "3000", "--sample", "50", "--faiss-sample", "0"])
    assert out["sample_mismatches"] == 0 and out["sample_neighbours"] > 0
    assert out["max_member_distance"] <= 31
    assert out["representative_pairs_within_radius"] == 0
    assert 0 < out["clusters_per_1000"] < 1000

"""Near-duplicate clusters of PDQ hashes: one representative for a grader to look at.

The rule never chains. Every pair within the radius is found first (`self_join`, exact),
then representatives are picked greedily in a fixed order (most neighbours first, ties by
input position; or input order): an item not yet taken becomes a representative and takes
every free neighbour. Finally each member moves to its nearest representative (ties: the
one picked first). So:

- every member is within `radius` of its cluster's representative, and two members are
  within 2 * radius of each other; a chain A - B - C of small steps never joins A and C
  unless one representative is within the radius of both;
- representatives are pairwise more than `radius` apart (a representative within the
  radius of an earlier one would have been taken by it), also across incremental batches;
- the result depends only on the codes, qualities and options, never on how the join was
  split across threads or Dask workers.

Identical codes (re-encoded copies of one image) are joined once, as one node that counts
as its number of copies when neighbours are counted: the result is the same as without the
grouping, but k copies no longer make k * (k - 1) / 2 pairs.

Items under `min_quality` (PDQ quality, 0-100) are clusters of their own: a low-quality
hash is too unreliable to stand for, or join, another image.

Incremental use: pass the representatives of earlier batches as `existing`. A new item
within the radius of one of them joins the nearest (found through `PDQIndex`); the rest
are clustered among themselves as above.

A pure library (the floor): it imports nothing from the capabilities. See docs/index.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from hotline.compiled import load_numba
from hotline.index.codes import DEFAULT_RADIUS, CodeLike, check_radius, to_words
from hotline.index.errors import IndexInputError
from hotline.index.pdq_index import PDQIndex
from hotline.index.self_join import Pairs, self_join, sort_pairs

DEFAULT_MIN_QUALITY = 50
Order = Literal["degree", "input"]

_numba: Any = load_numba()

Labels = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Clustering:
    """Clusters of the n input codes.

    Clusters 0 .. n_existing - 1 are the `existing` representatives given to `cluster_pdq`,
    in that order (their representative is not an input: `representatives` holds -1); the
    new clusters follow, ordered by their representative's input position.
    """

    labels: Labels  # (n,) cluster of each input
    representatives: Labels  # (clusters,) input position of each representative, or -1
    sizes: Labels  # (clusters,) inputs in each cluster (an existing one may have none)
    distances: npt.NDArray[np.uint16]  # (n,) Hamming distance of each input to its representative
    radius: int
    n_existing: int = 0

    @property
    def n_clusters(self) -> int:
        return int(self.sizes.shape[0])

    def members(self, cluster: int) -> Labels:
        """Input positions in `cluster`, ascending."""
        return np.flatnonzero(self.labels == cluster)

    def is_representative(self) -> npt.NDArray[np.bool_]:
        """(n,) True where the input is its own cluster's representative."""
        out = np.zeros(self.labels.shape[0], dtype=bool)
        reps = self.representatives[self.representatives >= 0]
        out[reps] = True
        return out


def cluster_pdq(
    codes: Iterable[CodeLike] | npt.NDArray[np.generic],
    *,
    radius: int = DEFAULT_RADIUS,
    qualities: Sequence[int] | npt.NDArray[np.integer] | None = None,
    min_quality: int = DEFAULT_MIN_QUALITY,
    existing: Iterable[CodeLike] | npt.NDArray[np.generic] | None = None,
    order: Order = "degree",
    workers: int | None = None,
    client: Any = None,
) -> Clustering:
    """Cluster PDQ hashes so that every member is within `radius` bits of its representative.

    `codes`: hex strings, 32-byte values, or an (n, 32) uint8 / (n, 4) uint64 array.
    `qualities`: PDQ quality per code; codes under `min_quality` stay alone (all are kept
    when None). `existing`: representatives of earlier clusters that new codes may join.
    `order`: "degree" (most neighbours first) or "input". `workers` threads, or a Dask
    `client`, run the self-join. Raises IndexInputError (a ValueError) on bad input.
    """
    words = to_words(codes)
    n = words.shape[0]
    radius = check_radius(radius)
    if order not in ("degree", "input"):
        raise IndexInputError(f"order must be 'degree' or 'input', got {order!r}")
    eligible = _eligible(qualities, min_quality, n)
    ex_words = to_words(existing) if existing is not None else np.zeros((0, 4), np.uint64)
    n_existing = ex_words.shape[0]

    # Identical codes (re-encoded copies of one image) are joined once, as one node of the
    # given weight: k copies would otherwise make k * (k - 1) / 2 pairs.
    candidates = np.flatnonzero(eligible)
    first, inverse, copies = identical_groups(words[candidates])
    group_words = words[candidates[first]]
    g_label = np.full(first.size, -1, dtype=np.int64)
    g_dist = np.zeros(first.size, dtype=np.uint16)
    if n_existing and first.size:
        g_label, g_dist = _join_existing(ex_words, group_words, radius)

    # The rest: clusters among themselves (a singleton where nothing is within the radius).
    rest = np.flatnonzero(g_label < 0)
    pairs = self_join(group_words[rest], radius, workers=workers, client=client)
    rep_local, dist_local = star_clusters(pairs, rest.size, order, weights=copies[rest])
    g_rep = np.full(first.size, -1, dtype=np.int64)
    g_rep[rest] = candidates[first[rest[rep_local]]]  # the first copy of the leading group
    g_dist[rest] = dist_local

    labels = np.full(n, -1, dtype=np.int64)
    labels[candidates] = g_label[inverse]
    dist = np.zeros(n, dtype=np.uint16)
    dist[candidates] = g_dist[inverse]
    rep_of = np.arange(n, dtype=np.int64)  # low quality: alone
    rep_of[candidates] = g_rep[inverse]
    new = labels < 0
    reps = np.flatnonzero(new & (rep_of == np.arange(n)))  # new clusters in this order
    cluster_of = np.zeros(n, dtype=np.int64)
    cluster_of[reps] = np.arange(n_existing, n_existing + reps.size)
    labels[new] = cluster_of[rep_of[new]]
    representatives = np.concatenate([np.full(n_existing, -1, dtype=np.int64), reps])
    sizes = np.bincount(labels, minlength=n_existing + reps.size).astype(np.int64)
    return Clustering(labels, representatives, sizes, dist, radius, n_existing)


def star_clusters(
    pairs: Pairs,
    n: int,
    order: Order = "degree",
    weights: npt.NDArray[np.integer] | None = None,
) -> tuple[Labels, npt.NDArray[np.uint16]]:
    """Representative (a row number) of each of n rows, and the distance to it, from every
    pair within the radius. See the module docstring for the rule. `weights`: how many
    identical codes each row stands for (its neighbours count that many times)."""
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint16)
    indptr, nbrs, nd = adjacency(pairs, n)
    counts = np.diff(indptr)
    degree = counts
    if weights is not None:
        w = np.asarray(weights, dtype=np.int64)
        # Other codes within the radius: the neighbours' copies and this row's other copies.
        sums = np.zeros(n, dtype=np.int64)
        rows = np.flatnonzero(counts)
        if rows.size:
            sums[rows] = np.add.reduceat(w[nbrs], indptr[rows])
        degree = sums + w - 1
    if order == "degree":
        visit = np.lexsort((np.arange(n), -degree)).astype(np.int64)
    else:
        visit = np.arange(n, dtype=np.int64)
    return _star_impl(indptr, nbrs, nd, visit)


def adjacency(pairs: Pairs, n: int) -> tuple[Labels, npt.NDArray[np.int32], npt.NDArray[np.uint16]]:
    """Symmetric CSR adjacency of n rows from pairs sorted by (left, right): `indptr`, and
    each row's neighbours (ascending) and distances."""
    if n >= 2**31:
        raise ValueError("at most 2**31 - 1 codes can be clustered at once")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(
        np.bincount(pairs.left, minlength=n) + np.bincount(pairs.right, minlength=n),
        out=indptr[1:],
    )
    if _fill_impl is not None:
        nbrs, nd = _fill_impl(indptr, pairs.left, pairs.right, pairs.distance)
        return indptr, nbrs, nd
    # numpy: sort both directions as one packed key.
    _, dst, nd = sort_pairs(
        np.concatenate([pairs.left, pairs.right]),
        np.concatenate([pairs.right, pairs.left]),
        np.concatenate([pairs.distance, pairs.distance]),
        n,
    )
    return indptr, dst.astype(np.int32), nd


def _fill(indptr: Any, left: Any, right: Any, dist: Any) -> tuple[Any, Any]:
    """One pass, no sort: row x's neighbours below x come from pairs (l, x), met in order of
    l, all before the pairs (x, r), met in order of r."""
    n = indptr.shape[0] - 1
    pos = indptr[:n].copy()
    nbrs = np.empty(indptr[n], np.int32)
    nd = np.empty(indptr[n], np.uint16)
    for k in range(left.shape[0]):
        a, b = left[k], right[k]
        nbrs[pos[a]] = b
        nd[pos[a]] = dist[k]
        pos[a] += 1
        nbrs[pos[b]] = a
        nd[pos[b]] = dist[k]
        pos[b] += 1
    return nbrs, nd


def _star(indptr: Any, nbrs: Any, nd: Any, visit: Any) -> tuple[Labels, npt.NDArray[np.uint16]]:
    n = indptr.shape[0] - 1
    taken = np.zeros(n, np.bool_)
    is_rep = np.zeros(n, np.bool_)
    rank = np.empty(n, np.int64)
    for k in range(n):
        i = visit[k]
        rank[i] = k
        if taken[i]:
            continue
        is_rep[i] = True
        taken[i] = True
        for e in range(indptr[i], indptr[i + 1]):
            taken[nbrs[e]] = True
    # Each member goes to its nearest representative (ties: the one picked first). The one
    # that took it is among its neighbours, so there is one within the radius.
    rep_of = np.arange(n)
    dist = np.zeros(n, np.uint16)
    for j in range(n):
        if is_rep[j]:
            continue
        best, best_d = -1, 1 << 16
        for e in range(indptr[j], indptr[j + 1]):
            r = nbrs[e]
            if is_rep[r] and (nd[e] < best_d or (nd[e] == best_d and rank[r] < rank[best])):
                best, best_d = r, nd[e]
        rep_of[j] = best
        dist[j] = best_d
    return rep_of, dist


_star_impl: Callable[..., tuple[Labels, npt.NDArray[np.uint16]]] = _star
# Without numba the numpy sort in `adjacency` is far faster than this loop in Python.
_fill_impl: Callable[..., tuple[Any, Any]] | None = None
if _numba is not None:
    _star_impl = _numba.njit(cache=True, nogil=True)(_star)
    _fill_impl = _numba.njit(cache=True, nogil=True)(_fill)


_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9))


def identical_groups(words: npt.NDArray[np.uint64]) -> tuple[Labels, Labels, Labels]:
    """Groups of identical codes, numbered by first occurrence: the position of each group's
    first code (ascending), the group of each code, and each group's size."""
    m = words.shape[0]
    if m == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    # Sort by a 64-bit mix of the four words (one key sorts far faster than four); should
    # two different codes share a key and meet, sort by the words themselves.
    key = words[:, 0] ^ (words[:, 1] * _MIX[0]) ^ (words[:, 2] * _MIX[1]) ^ (words[:, 3] * _MIX[2])
    by = np.argsort(key, kind="stable")
    sorted_key = key[by]
    same_key = sorted_key[1:] == sorted_key[:-1]
    if not same_key.any():
        everything = np.arange(m, dtype=np.int64)
        return everything, everything.copy(), np.ones(m, dtype=np.int64)
    ordered = words[by]
    same = (ordered[1:] == ordered[:-1]).all(axis=1)
    if np.any(same_key & ~same):
        by = np.lexsort((words[:, 3], words[:, 2], words[:, 1], words[:, 0]))
        ordered = words[by]
        same = (ordered[1:] == ordered[:-1]).all(axis=1)
    if same.size == 0 or not same.any():
        everything = np.arange(m, dtype=np.int64)
        return everything, everything.copy(), np.ones(m, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], ~same]))
    first_of = by[starts]  # both sorts are stable: a group's first code comes first
    sizes = np.diff(np.append(starts, m))
    rank = np.argsort(first_of, kind="stable")
    renumber = np.empty(rank.size, dtype=np.int64)
    renumber[rank] = np.arange(rank.size)
    group = np.empty(m, dtype=np.int64)
    group[by] = renumber[np.cumsum(np.concatenate([[True], ~same])) - 1]
    return first_of[rank].astype(np.int64), group, sizes[rank].astype(np.int64)


def _eligible(
    qualities: Sequence[int] | npt.NDArray[np.integer] | None, min_quality: int, n: int
) -> npt.NDArray[np.bool_]:
    if isinstance(min_quality, bool) or not isinstance(min_quality, int | np.integer):
        raise IndexInputError(f"min_quality must be an int, got {type(min_quality).__name__}")
    if qualities is None:
        return np.ones(n, dtype=bool)
    try:
        q = np.asarray(qualities)
    except (TypeError, ValueError):
        raise IndexInputError("qualities must be a sequence of integers") from None
    if q.ndim != 1 or (q.size and q.dtype.kind not in "iu"):
        raise IndexInputError("qualities must be a sequence of integers")
    if q.shape[0] != n:
        raise IndexInputError(f"got {q.shape[0]} qualities for {n} hashes")
    return q >= min_quality


def _join_existing(
    ex_words: npt.NDArray[np.uint64], words: npt.NDArray[np.uint64], radius: int
) -> tuple[Labels, npt.NDArray[np.uint16]]:
    """Nearest existing representative within `radius` of each code (ties: lowest position),
    or -1."""
    index = PDQIndex.build(np.arange(ex_words.shape[0]), ex_words, auto_compact_rows=None)
    found = index.search_batch(words, radius)
    nearest = np.array([m[0].id if m else -1 for m in found], dtype=np.int64)
    dist = np.array([m[0].distance if m else 0 for m in found], dtype=np.uint16)
    return nearest, dist


__all__: Sequence[str] = [
    "DEFAULT_MIN_QUALITY",
    "Clustering",
    "adjacency",
    "cluster_pdq",
    "identical_groups",
    "star_clusters",
]

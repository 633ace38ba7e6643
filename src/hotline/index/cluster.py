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

    labels = np.full(n, -1, dtype=np.int64)
    dist = np.zeros(n, dtype=np.uint16)
    candidates = np.flatnonzero(eligible)
    if n_existing and candidates.size:
        joined, joined_dist = _join_existing(ex_words, words[candidates], radius)
        hit = joined >= 0
        labels[candidates[hit]] = joined[hit]
        dist[candidates[hit]] = joined_dist[hit]
        candidates = candidates[~hit]

    # The rest: clusters among themselves (a singleton where nothing is within the radius).
    pairs = self_join(words[candidates], radius, workers=workers, client=client)
    rep_local, dist_local = star_clusters(pairs, candidates.size, order)
    rep_of = np.arange(n, dtype=np.int64)  # low quality: alone
    rep_of[candidates] = candidates[rep_local]
    dist[candidates] = dist_local
    new = labels < 0
    reps = np.flatnonzero(new & (rep_of == np.arange(n)))  # new clusters in this order
    cluster_of = np.zeros(n, dtype=np.int64)
    cluster_of[reps] = np.arange(n_existing, n_existing + reps.size)
    labels[new] = cluster_of[rep_of[new]]
    representatives = np.concatenate([np.full(n_existing, -1, dtype=np.int64), reps])
    sizes = np.bincount(labels, minlength=n_existing + reps.size).astype(np.int64)
    return Clustering(labels, representatives, sizes, dist, radius, n_existing)


def star_clusters(
    pairs: Pairs, n: int, order: Order = "degree"
) -> tuple[Labels, npt.NDArray[np.uint16]]:
    """Representative (a row number) of each of n rows, and the distance to it, from every
    pair within the radius. See the module docstring for the rule."""
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint16)
    # Symmetric CSR adjacency, neighbours ascending.
    src, dst, nd = sort_pairs(
        np.concatenate([pairs.left, pairs.right]),
        np.concatenate([pairs.right, pairs.left]),
        np.concatenate([pairs.distance, pairs.distance]),
        n,
    )
    degree = np.bincount(src, minlength=n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(degree, out=indptr[1:])
    if order == "degree":
        visit = np.lexsort((np.arange(n), -degree)).astype(np.int64)
    else:
        visit = np.arange(n, dtype=np.int64)
    return _star_impl(indptr, dst, nd, visit)


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
if _numba is not None:
    _star_impl = _numba.njit(cache=True, nogil=True)(_star)


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
    "cluster_pdq",
    "star_clusters",
]

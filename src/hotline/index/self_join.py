"""Exact PDQ self-join: every pair of codes within r bits of each other, each pair once.

Asking the index once per code costs ~0.2 ms a query at 1M codes (docs/benchmarks.md),
about 200 s of CPU for a 1M self-join. A self-join can do better with the same arithmetic
(multi-index hashing, `multi_index.py`): cut the 256 bits into m chunks with per-chunk
radii rho_t, sum(rho_t + 1) = r + 1, so two codes within r agree within rho_t bits on at
least one chunk t (pigeonhole). For each chunk t the codes are sorted by chunk value into
buckets, and every bucket v is compared with every bucket v ^ mask for the masks of weight
<= rho_t, taking each bucket pair once (v ^ mask >= v). The compared buckets are short
contiguous runs of a copy of the codes in bucket order, so the work is a stream of 4-word
popcounts rather than a random read per candidate.

A pair is reported only by the first chunk t on which it lies within rho_t (the check runs
only for the rare hits), so the output needs no de-duplication. Chunks are processed one at
a time, as independent tasks (threads over a nogil compiled loop by default, or a Dask
client): the pairs are sorted at the end, so the result does not depend on the split.

Fewer, wider chunks mean fewer pairs to compare but more masks (random bucket look-ups);
`join_layout` picks the chunk count with the lowest estimated cost (16 chunks of 16 bits,
rho = 1, for r = 31 at 1M codes).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hotline.compiled import load_numba
from hotline.index.codes import Words, check_radius
from hotline.index.multi_index import MAX_CHUNK_BITS, ChunkLayout, chunk_value, flip_masks

_numba: Any = load_numba()

# Cost model for `join_layout`, in nanoseconds measured on the 2-core development machine:
# a bucket look-up (random read), one compared pair (4 popcounts in a stream), and sorting
# and copying one code into a chunk's bucket order.
_NS_PROBE = 20.0
_NS_PAIR = 1.5
_NS_PREPARE = 60.0
# Default thread count cap: each thread holds a copy of the codes (400 MB at 10M).
DEFAULT_MAX_WORKERS = 4
# Numpy fallback: compare at most this many candidate pairs in one vectorised step.
_NUMPY_BLOCK_PAIRS = 1 << 21

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
_ONE = np.uint64(1)


@dataclass(frozen=True)
class Pairs:
    """Every pair (left[k], right[k]) of row numbers within the radius, left < right, sorted
    by (left, right), with its Hamming distance."""

    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    distance: npt.NDArray[np.uint16]

    def __len__(self) -> int:
        return int(self.left.shape[0])


def join_layout(n: int, radius: int) -> ChunkLayout:
    """The chunk layout with the lowest estimated self-join cost for n codes at `radius`."""
    best: tuple[float, int] | None = None
    for m in range(-(-256 // MAX_CHUNK_BITS), 33):
        layout = ChunkLayout.with_chunks(m)
        cost = 0.0
        for w, rho in zip(layout.widths, layout.probe_radii(radius), strict=True):
            masks = flip_masks(w, rho).shape[0]
            cost += min(1 << w, n) * masks / 2 * _NS_PROBE  # bucket look-ups
            cost += float(n) * n / (1 << w) * masks / 2 * _NS_PAIR  # compared pairs
            cost += n * _NS_PREPARE if masks else 0.0
        if best is None or cost < best[0]:
            best = (cost, m)
    assert best is not None
    return ChunkLayout.with_chunks(best[1])


def self_join(
    words: Words,
    radius: int,
    *,
    workers: int | None = None,
    client: Any = None,
    chunks: int | None = None,
) -> Pairs:
    """Every pair of rows of `words` ((n, 4) uint64) within `radius` bits, exactly once.

    `workers` threads (default: the CPU count, at most DEFAULT_MAX_WORKERS) run one chunk's
    join each, each holding the codes in its chunk's order (40 bytes a code); `client`, a
    `dask.distributed.Client`, runs them as Dask tasks instead. `chunks` overrides the layout.
    """
    radius = check_radius(radius)
    words = np.ascontiguousarray(words, dtype=np.uint64)
    n = words.shape[0]
    if n < 2:
        return _pairs_of([], n)
    layout = ChunkLayout.with_chunks(chunks) if chunks else join_layout(n, radius)
    tables = [t for t, rho in enumerate(layout.probe_radii(radius)) if rho >= 0]
    if client is not None:
        # Dask: the codes go to each worker once; one task per chunk.
        shared = client.scatter(words, broadcast=True)
        k = len(tables)
        futures = client.map(
            join_table, [shared] * k, [layout.widths] * k, tables, [radius] * k, pure=False
        )
        return _pairs_of(client.gather(futures), n)
    workers = workers or min(os.cpu_count() or 1, DEFAULT_MAX_WORKERS)
    if workers <= 1 or len(tables) == 1:
        return _pairs_of([join_table(words, layout.widths, t, radius) for t in tables], n)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(lambda t: join_table(words, layout.widths, t, radius), tables))
    return _pairs_of(parts, n)


Part = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.uint16]]


def join_table(
    words: Words, widths: Sequence[int], table: int, radius: int, *, compiled: bool = True
) -> Part:
    """The pairs within `radius` that chunk `table` is the first to find (one task).

    A module-level function of plain arguments, so Dask can ship it to another process.
    `compiled=False` runs the numpy loop even where numba is installed (tests compare)."""
    layout = ChunkLayout(tuple(widths))
    rhos = np.array(layout.probe_radii(radius), dtype=np.int64)
    starts = np.array(layout.starts, dtype=np.int64)
    widths_arr = np.array(layout.widths, dtype=np.int64)
    start, width = layout.starts[table], layout.widths[table]
    n = words.shape[0]
    values = chunk_value(words, start, width)
    # Sorting (value << 32 | row) keys is several times faster than argsort.
    keys = values.astype(np.uint64)
    keys <<= np.uint64(32)
    keys |= np.arange(n, dtype=np.uint64)
    keys.sort()
    rows = (keys & np.uint64(0xFFFFFFFF)).astype(np.int64)
    del keys
    bucket_words = np.ascontiguousarray(words[rows])
    offsets = np.zeros((1 << width) + 1, dtype=np.int64)
    np.cumsum(np.bincount(values, minlength=1 << width), out=offsets[1:])
    masks = flip_masks(width, int(rhos[table]))
    join: Callable[..., Part] = _join_numpy
    if compiled and _join_compiled is not None:
        join = _join_compiled
    return join(bucket_words, rows, offsets, masks, table, starts, widths_arr, rhos, radius)


def _pairs_of(parts: Sequence[Part], n: int) -> Pairs:
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return Pairs(empty, empty.copy(), np.zeros(0, dtype=np.uint16))
    left = np.concatenate([p[0] for p in parts])
    right = np.concatenate([p[1] for p in parts])
    dist = np.concatenate([p[2] for p in parts]).astype(np.uint16)
    return Pairs(*sort_pairs(left, right, dist, n))


# Distances take 9 bits (0-256), so (left * n + right) << 9 | distance fits in an int64 below
# this many rows.
_PACKED_MAX_ROWS = 1 << 27


def sort_pairs(
    left: npt.NDArray[np.int64], right: npt.NDArray[np.int64], dist: npt.NDArray[np.uint16], n: int
) -> Part:
    """The triples sorted by (left, right), for rows < n. Sorting one packed int64 key is
    several times faster than an argsort and three gathers."""
    if n >= _PACKED_MAX_ROWS:
        order = np.lexsort((right, left))
        return left[order], right[order], dist[order]
    key = left * n
    key += right
    key <<= 9
    key |= dist
    key.sort()
    out_dist = (key & 0x1FF).astype(np.uint16)
    key >>= 9
    out_left, out_right = np.divmod(key, n)
    return out_left, out_right, out_dist


# ---- the compiled loop (numba) --------------------------------------------------------


def _popcount(x: np.uint64) -> int:
    x = x - ((x >> _ONE) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return int((x * _H01) >> np.uint64(56))


def _chunk_weight(x0: Any, x1: Any, x2: Any, x3: Any, start: int, width: int) -> int:
    """Set bits in [start, start + width) of the 256-bit value (x0, x1, x2, x3)."""
    word, shift = start // 64, start % 64
    xs = (x0, x1, x2, x3)
    value = xs[word] >> np.uint64(shift)
    if shift + width > 64:
        value |= xs[word + 1] << np.uint64(64 - shift)
    return _popcount(value & ((_ONE << np.uint64(width)) - _ONE))


def _found_earlier(
    x0: Any, x1: Any, x2: Any, x3: Any, table: int, starts: Any, widths: Any, rhos: Any
) -> bool:
    """Whether a chunk before `table` already holds this pair (XOR x) within its radius."""
    for s in range(table):
        if rhos[s] >= 0 and _chunk_weight(x0, x1, x2, x3, starts[s], widths[s]) <= rhos[s]:
            return True
    return False


def _join(
    bucket_words: Any,
    rows: Any,
    offsets: Any,
    masks: Any,
    table: int,
    starts: Any,
    widths: Any,
    rhos: Any,
    radius: int,
) -> Part:
    """Compare each bucket v with each bucket v ^ mask >= v (within a bucket, each pair once);
    keep pairs within `radius` that no earlier chunk finds."""
    cap = 1024
    out_l = np.empty(cap, np.int64)
    out_r = np.empty(cap, np.int64)
    out_d = np.empty(cap, np.uint16)
    k = 0
    buckets = offsets.shape[0] - 1
    for v in range(buckets):
        a_lo, a_hi = offsets[v], offsets[v + 1]
        if a_lo == a_hi:
            continue
        for mi in range(masks.shape[0]):
            u = v ^ masks[mi]
            if u < v:
                continue
            b_hi = offsets[u + 1]
            for a in range(a_lo, a_hi):
                q0, q1 = bucket_words[a, 0], bucket_words[a, 1]
                q2, q3 = bucket_words[a, 2], bucket_words[a, 3]
                b_lo = a + 1 if u == v else offsets[u]
                for b in range(b_lo, b_hi):
                    x0 = bucket_words[b, 0] ^ q0
                    x1 = bucket_words[b, 1] ^ q1
                    x2 = bucket_words[b, 2] ^ q2
                    x3 = bucket_words[b, 3] ^ q3
                    d = _popcount(x0) + _popcount(x1) + _popcount(x2) + _popcount(x3)
                    if d > radius or _found_earlier(x0, x1, x2, x3, table, starts, widths, rhos):
                        continue
                    if k == cap:
                        cap *= 2
                        grown_l = np.empty(cap, np.int64)
                        grown_r = np.empty(cap, np.int64)
                        grown_d = np.empty(cap, np.uint16)
                        grown_l[:k] = out_l[:k]
                        grown_r[:k] = out_r[:k]
                        grown_d[:k] = out_d[:k]
                        out_l, out_r, out_d = grown_l, grown_r, grown_d
                    i, j = rows[a], rows[b]
                    out_l[k] = min(i, j)
                    out_r[k] = max(i, j)
                    out_d[k] = d
                    k += 1
    return out_l[:k].copy(), out_r[:k].copy(), out_d[:k].copy()


_join_compiled: Callable[..., Part] | None = None
if _numba is not None:
    _jit = _numba.njit(cache=True, nogil=True)
    _popcount = _jit(_popcount)
    _chunk_weight = _jit(_chunk_weight)
    _found_earlier = _jit(_found_earlier)
    _join_compiled = _jit(_join)


# ---- the numpy fallback ---------------------------------------------------------------


def _join_numpy(
    bucket_words: Words,
    rows: npt.NDArray[np.int64],
    offsets: npt.NDArray[np.int64],
    masks: npt.NDArray[np.int64],
    table: int,
    starts: npt.NDArray[np.int64],
    widths: npt.NDArray[np.int64],
    rhos: npt.NDArray[np.int64],
    radius: int,
) -> Part:
    """`_join` without numba: the same bucket pairs, vectorised over codes a mask at a time."""
    n = bucket_words.shape[0]
    width = int(widths[table])
    values = np.repeat(np.arange(1 << width, dtype=np.int64), np.diff(offsets))
    position = np.arange(n, dtype=np.int64)
    out: list[Part] = []
    for mask in masks.tolist():
        partner = values ^ mask
        if mask == 0:
            lo, hi = position + 1, offsets[values + 1]
        else:
            lo, hi = offsets[partner], offsets[partner + 1]
            hi = np.where(partner > values, hi, lo)  # each bucket pair once
        lengths = hi - lo
        cum = np.cumsum(lengths)
        a_start = 0
        while a_start < n:
            # As many codes as keep this step under _NUMPY_BLOCK_PAIRS candidates (at least one).
            before = int(cum[a_start - 1]) if a_start else 0
            a_end = max(a_start + 1, int(np.searchsorted(cum, before + _NUMPY_BLOCK_PAIRS)))
            a_end = min(a_end, n)
            lens = lengths[a_start:a_end]
            a = np.repeat(position[a_start:a_end], lens)
            first = np.cumsum(lens) - lens
            b = np.arange(a.shape[0], dtype=np.int64) - np.repeat(first, lens)
            b += np.repeat(lo[a_start:a_end], lens)
            x = bucket_words[a] ^ bucket_words[b]
            d = np.bitwise_count(x).sum(axis=1, dtype=np.uint16)
            hit = np.flatnonzero(d <= radius)
            if hit.size:
                x, a, b, d = x[hit], a[hit], b[hit], d[hit]
                keep = np.ones(hit.size, dtype=bool)
                for s in range(table):
                    if rhos[s] >= 0:
                        chunk = chunk_value(x, int(starts[s]), int(widths[s]))
                        keep &= np.bitwise_count(chunk) > rhos[s]
                i, j = rows[a[keep]], rows[b[keep]]
                out.append((np.minimum(i, j), np.maximum(i, j), d[keep]))
            a_start = a_end
    if not out:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint16)
    return (
        np.concatenate([p[0] for p in out]),
        np.concatenate([p[1] for p in out]),
        np.concatenate([p[2] for p in out]),
    )


__all__: Sequence[str] = ["Pairs", "join_layout", "join_table", "self_join", "sort_pairs"]

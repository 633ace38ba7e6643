"""The one-query multi-index search as one compiled loop (numba).

`MultiIndex.search_one` in numpy makes about 25 array calls a query, each a few microseconds
of fixed cost whatever its size; at 100,000 codes that overhead is most of a 0.09 ms query,
and a match API call searches one hash at a time. Here the same steps run as one loop over
the probes: chunk values, bucket ranges, candidate distances, de-duplication. The answer is
the same set of rows and distances (tests/index compare the two on every search).

numba is optional, as for the hasher: without it `search_one` is None and the numpy path
runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from hotline.compiled import load_numba

# None without numba or with HOTLINE_DISABLE_NUMBA=1 (hotline.compiled).
_numba: Any = load_numba()

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
_ONE = np.uint64(1)


def _popcount(x: np.uint64) -> int:
    x = x - ((x >> _ONE) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return int((x * _H01) >> np.uint64(56))


def _chunk(query: Any, start: int, width: int) -> int:
    """Bits [start, start + width) of the 256-bit code whose words are `query` (word 0 holds
    bits 0-63), as `codes.chunk_value` reads them."""
    word, shift = start // 64, start % 64
    value = query[word] >> np.uint64(shift)
    if shift + width > 64:
        value |= query[word + 1] << np.uint64(64 - shift)
    return int(value & ((_ONE << np.uint64(width)) - _ONE))


def _search_one(
    offsets: Any,
    rows: Any,
    words: Any,
    query: Any,
    starts: Any,
    widths: Any,
    table: Any,
    masks: Any,
    offset_base: Any,
    row_base: Any,
    radius: int,
    max_candidates: int,
) -> tuple[Any, Any, bool]:
    """Rows of `words` within `radius` of `query` (sorted, unique) and their distances; or
    nothing and True when the buckets hold more than `max_candidates` (the caller scans)."""
    m = starts.shape[0]
    values = np.empty(m, np.int64)
    for i in range(m):
        values[i] = _chunk(query, starts[i], widths[i])
    probes = table.shape[0]
    lo = np.empty(probes, np.int64)
    hi = np.empty(probes, np.int64)
    total = 0
    for p in range(probes):
        slot = (values[table[p]] ^ masks[p]) + offset_base[p]
        lo[p] = offsets[slot]
        hi[p] = offsets[slot + 1]
        total += hi[p] - lo[p]
    if total > max_candidates:
        return np.empty(0, np.int64), np.empty(0, np.uint16), True
    found = np.empty(total, np.int64)
    dist = np.empty(total, np.uint16)
    k = 0
    q0, q1, q2, q3 = query[0], query[1], query[2], query[3]
    for p in range(probes):
        base = row_base[p]
        for r in range(lo[p], hi[p]):
            row = np.int64(rows[base + r])
            d = (
                _popcount(words[row, 0] ^ q0)
                + _popcount(words[row, 1] ^ q1)
                + _popcount(words[row, 2] ^ q2)
                + _popcount(words[row, 3] ^ q3)
            )
            if d <= radius:
                found[k] = row
                dist[k] = d
                k += 1
    # A code near the query usually sits in several tables' buckets: keep it once.
    order = np.argsort(found[:k])
    out_rows = np.empty(k, np.int64)
    out_dist = np.empty(k, np.uint16)
    n = 0
    for j in range(k):
        row = found[order[j]]
        if n == 0 or out_rows[n - 1] != row:
            out_rows[n] = row
            out_dist[n] = dist[order[j]]
            n += 1
    return out_rows[:n], out_dist[:n], False


def _search_many(
    offsets: Any,
    rows: Any,
    words: Any,
    queries: Any,
    starts: Any,
    widths: Any,
    table: Any,
    masks: Any,
    offset_base: Any,
    row_base: Any,
    radius: int,
    max_candidates: int,
) -> tuple[Any, Any, Any, Any]:
    """`_search_one` for each row of `queries` in one call (a batch of 10,000 manifest rows
    otherwise pays the call's fixed cost 10,000 times). Every query's rows and distances end
    to end, where query i's are [ends[i - 1], ends[i]); `too_many[i]`: query i's buckets
    held more than `max_candidates` (nothing returned for it: the caller scans)."""
    nq = queries.shape[0]
    ends = np.empty(nq, np.int64)
    too_many = np.zeros(nq, np.bool_)
    capacity = 64
    all_rows = np.empty(capacity, np.int64)
    all_dist = np.empty(capacity, np.uint16)
    k = 0
    for i in range(nq):
        found, dist, over = _search_one(
            offsets,
            rows,
            words,
            queries[i],
            starts,
            widths,
            table,
            masks,
            offset_base,
            row_base,
            radius,
            max_candidates,
        )
        too_many[i] = over
        n = found.shape[0]
        if k + n > capacity:
            while k + n > capacity:
                capacity *= 2
            grown_rows = np.empty(capacity, np.int64)
            grown_dist = np.empty(capacity, np.uint16)
            grown_rows[:k] = all_rows[:k]
            grown_dist[:k] = all_dist[:k]
            all_rows, all_dist = grown_rows, grown_dist
        all_rows[k : k + n] = found
        all_dist[k : k + n] = dist
        k += n
        ends[i] = k
    return all_rows[:k], all_dist[:k], ends, too_many


search_one: Callable[..., tuple[Any, Any, bool]] | None = None
search_many: Callable[..., tuple[Any, Any, Any, Any]] | None = None
if _numba is not None:
    _jit = _numba.njit(cache=True, nogil=True)
    _popcount = _jit(_popcount)
    _chunk = _jit(_chunk)
    _search_one = _jit(_search_one)
    search_one = _search_one
    search_many = _jit(_search_many)

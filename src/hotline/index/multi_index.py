"""Multi-index hashing over packed PDQ codes: exact Hamming range search.

The 256 bits are cut into m chunks. If two codes differ in at most r bits, then for any
per-chunk radii rho_i with sum(rho_i + 1) >= r + 1, at least one chunk i differs in at most
rho_i bits (pigeonhole: otherwise the chunks alone would differ in >= r + 1 bits). So probing,
in each table, every chunk value within rho_i of the query's chunk finds every stored code
within r: the search is exact, never approximate. A chunk with rho_i = -1 is not probed.

Each table is a CSR structure (no Python dicts): `offsets` (2**width + 1) and `rows` (n),
the row numbers sorted by chunk value, so bucket v is rows[offsets[v]:offsets[v + 1]]. All
tables live in two flat arrays, so one query is a handful of vectorised numpy calls.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from hotline.index import kernels
from hotline.index.codes import PDQ_BITS, Words, distances

Rows = npt.NDArray[np.int64]
Dists = npt.NDArray[np.uint16]

MIN_CHUNK_BITS = 12
MAX_CHUNK_BITS = 24
# Beyond this many candidates (relative to n) a linear scan is cheaper than gathering them.
SCAN_CANDIDATE_FRACTION = 0.25
SCAN_BLOCK_ROWS = 1 << 14
# Rows a table's sort keys are computed for at a time (bounds chunk_value's temporaries).
BUILD_BLOCK_ROWS = 1 << 20
# From this many codes one query's probes are shared between two threads (the compiled
# kernel releases the GIL): at 100M a query reads ~30,000 codes at random from GBs and waits
# on memory, which two idle cores overlap. Off unless HOTLINE_INDEX_SPLIT_FROM says so: on
# cores kept busy by other work the second half waits for a core and the query is slower
# (docs/benchmarks.md), so it suits a lookup host with cores to spare, not a busy one.
SPLIT_ENV = "HOTLINE_INDEX_SPLIT_FROM"
NEVER = 1 << 62


def split_from_env(value: str | None) -> int:
    """The code count from which searches split; NEVER when unset or empty."""
    if not (value or "").strip():
        return NEVER
    try:
        codes = int(str(value).replace("_", ""))
    except ValueError:
        codes = -1
    if codes < 0:
        raise ValueError(f"{SPLIT_ENV} must be a whole number of codes, not {value!r}")
    return codes


SPLIT_SEARCH_FROM = split_from_env(os.environ.get(SPLIT_ENV))


@lru_cache(maxsize=1)
def _search_threads() -> ThreadPoolExecutor | None:
    """The threads that take the second half of split searches; None on one core."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if (cores or 1) < 2:
        return None
    return ThreadPoolExecutor(max_workers=(cores or 2) - 1, thread_name_prefix="index-search")


@dataclass(frozen=True)
class ChunkLayout:
    """How the 256 bits are cut into chunks: widths in bits, widest first."""

    widths: tuple[int, ...]

    def __post_init__(self) -> None:
        if sum(self.widths) != PDQ_BITS:
            raise ValueError(f"chunk widths must sum to {PDQ_BITS}")
        if any(not 1 <= w <= MAX_CHUNK_BITS for w in self.widths):
            raise ValueError(f"chunk widths must be between 1 and {MAX_CHUNK_BITS} bits")

    @classmethod
    def with_chunks(cls, m: int) -> ChunkLayout:
        """m chunks of nearly equal width (the wider ones first)."""
        base, extra = divmod(PDQ_BITS, m)
        return cls(tuple([base + 1] * extra + [base] * (m - extra)))

    @classmethod
    def for_size(cls, n: int) -> ChunkLayout:
        """Chunks about log2(n) bits wide, so a bucket holds about one code for random data.

        At 10M codes that is 11 chunks of 23-24 bits: radius-2 probes, ~3k probes and ~4k
        candidates a query at r=31, with 2**24-entry offset tables that stay under 2 GB.
        """
        bits = min(MAX_CHUNK_BITS, max(MIN_CHUNK_BITS, math.ceil(math.log2(max(n, 2)))))
        return cls.with_chunks(math.ceil(PDQ_BITS / bits))

    @property
    def starts(self) -> tuple[int, ...]:
        return tuple(itertools.accumulate((0, *self.widths[:-1])))

    def chunk_values(self, words: Words) -> npt.NDArray[np.uint32]:
        """(m, n) chunk values of (n, 4) codes."""
        out = np.empty((len(self.widths), words.shape[0]), dtype=np.uint32)
        for i, (start, width) in enumerate(zip(self.starts, self.widths, strict=True)):
            out[i] = chunk_value(words, start, width)
        return out

    def probe_radii(self, radius: int) -> tuple[int, ...]:
        """Per-chunk probe radii with sum(rho_i + 1) == radius + 1 (the pigeonhole bound).

        The wider chunks get the smaller radius because they have more values to probe.
        """
        m = len(self.widths)
        q, rem = divmod(radius + 1, m)
        return tuple([q - 1] * (m - rem) + [q] * rem)


def chunk_value(words: Words, start: int, width: int) -> npt.NDArray[np.uint32]:
    """Bits [start, start + width) of each code, counting from bit 0 of word 0."""
    word, shift = divmod(start, 64)
    mask = np.uint64((1 << width) - 1)
    low = words[:, word] >> np.uint64(shift)
    if shift + width > 64:
        # The chunk straddles two words: take the rest from the next one.
        low = low | (words[:, word + 1] << np.uint64(64 - shift))
    return (low & mask).astype(np.uint32)


@lru_cache(maxsize=64)
def flip_masks(width: int, radius: int) -> npt.NDArray[np.int64]:
    """Every width-bit value with popcount <= radius (the XOR masks to probe)."""
    if radius < 0:
        return np.zeros(0, dtype=np.int64)
    masks = [
        sum(1 << b for b in bits)
        for k in range(min(radius, width) + 1)
        for bits in itertools.combinations(range(width), k)
    ]
    out = np.array(masks, dtype=np.int64)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class ProbePlan:
    """The probes one query makes at one radius, flattened across tables."""

    table: npt.NDArray[np.intp]  # which table each probe reads
    masks: npt.NDArray[np.int64]  # XOR applied to that table's query chunk
    offset_base: npt.NDArray[np.int64]  # where that table's offsets start in the flat array
    row_base: npt.NDArray[np.int64]  # where that table's rows start in the flat array

    def halves(self, bucket_rows: npt.NDArray[np.float64]) -> tuple[ProbePlan, ProbePlan]:
        """The probes cut in two with about the same expected candidates each, where
        `bucket_rows[t]` is table t's mean bucket size (narrow tables' buckets are fuller)."""
        expected = np.cumsum(bucket_rows[self.table])
        cut = int(np.searchsorted(expected, expected[-1] / 2)) + 1 if expected.size else 0
        first, second = slice(0, cut), slice(cut, None)
        return (
            ProbePlan(
                self.table[first], self.masks[first], self.offset_base[first], self.row_base[first]
            ),
            ProbePlan(
                self.table[second],
                self.masks[second],
                self.offset_base[second],
                self.row_base[second],
            ),
        )


class MultiIndex:
    """Immutable CSR tables over n codes; rows are positions in the caller's code array."""

    def __init__(
        self,
        layout: ChunkLayout,
        offsets: npt.NDArray[np.integer[Any]],
        rows: npt.NDArray[np.integer[Any]],
        n: int,
    ) -> None:
        self.layout = layout
        self.offsets = offsets
        self.rows = rows
        self.n = n
        sizes = [(1 << w) + 1 for w in layout.widths]
        self._offset_base = np.array([0, *itertools.accumulate(sizes)][:-1], dtype=np.int64)
        self._starts = np.array(layout.starts, dtype=np.int64)
        self._widths = np.array(layout.widths, dtype=np.int64)
        self._plans: dict[int, ProbePlan] = {}
        self._halves: dict[int, tuple[ProbePlan, ProbePlan]] = {}
        if offsets.shape[0] != sum(sizes) or rows.shape[0] != n * len(layout.widths):
            raise ValueError("multi-index arrays do not match the layout")

    @classmethod
    def build(cls, words: Words, layout: ChunkLayout, workers: int | None = None) -> MultiIndex:
        """Group each table's rows by chunk value (tables built in parallel threads).

        Compiled, a table is a counting sort written straight into the index's arrays, so
        the build holds little beyond the index itself; the numpy path sorts keys (faster to
        write, several GB of temporaries at 100M codes)."""
        n = words.shape[0]
        if n >= 2**31:
            raise ValueError("a base segment holds at most 2**31 - 1 codes")
        m = len(layout.widths)
        sizes = [(1 << w) + 1 for w in layout.widths]
        offsets: npt.NDArray[np.integer[Any]] = np.empty(sum(sizes), dtype=np.uint32)
        rows: npt.NDArray[np.integer[Any]] = np.empty(n * m, dtype=np.int32)
        off_starts = [0, *itertools.accumulate(sizes)]

        def one_table(i: int) -> None:
            # One n-long uint64 buffer a table and nothing else of size n: at 100M codes the
            # straightforward version held the chunk values, the keys, a row counter and
            # chunk_value's intermediates at once (about 3 GB a worker above the index).
            keys = np.empty(n, dtype=np.uint64)
            start, width = layout.starts[i], layout.widths[i]
            for lo in range(0, n, BUILD_BLOCK_ROWS):
                hi = min(n, lo + BUILD_BLOCK_ROWS)
                block = keys[lo:hi]
                block[:] = chunk_value(words[lo:hi], start, width)
                block <<= np.uint64(32)
                block |= np.arange(lo, hi, dtype=np.uint64)
            # Sorting (value << 32 | row) keys is several times faster than argsort (numpy
            # uses SIMD sorts for plain uint64); numpy's sort releases the GIL, so tables
            # build in parallel threads.
            keys.sort()
            table_offsets = offsets[off_starts[i] : off_starts[i + 1]]
            table_offsets[0] = 0
            # Each value's end is where the first key of the next value would go.
            for lo in range(0, 1 << width, BUILD_BLOCK_ROWS):
                hi = min(1 << width, lo + BUILD_BLOCK_ROWS)
                bounds = np.arange(lo + 1, hi + 1, dtype=np.uint64) << np.uint64(32)
                table_offsets[lo + 1 : hi + 1] = np.searchsorted(keys, bounds)
            keys &= np.uint64(0xFFFFFFFF)
            rows[i * n : (i + 1) * n] = keys

        workers = workers or min(2, os.cpu_count() or 1)
        if workers <= 1 or m == 1:
            for i in range(m):
                one_table(i)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(one_table, range(m)))
        return cls(layout, offsets, rows, n)

    def memory_bytes(self) -> int:
        return int(self.offsets.nbytes + self.rows.nbytes)

    def plan(self, radius: int) -> ProbePlan:
        plan = self._plans.get(radius)
        if plan is None:
            tables, masks = [], []
            for i, (w, rho) in enumerate(
                zip(self.layout.widths, self.layout.probe_radii(radius), strict=True)
            ):
                fm = flip_masks(w, rho)
                tables.append(np.full(fm.shape[0], i, dtype=np.intp))
                masks.append(fm)
            table = np.concatenate(tables)
            plan = ProbePlan(
                table=table,
                masks=np.concatenate(masks),
                offset_base=self._offset_base[table],
                row_base=table.astype(np.int64) * self.n,
            )
            self._plans[radius] = plan
        return plan

    def _expand(
        self, starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
    ) -> tuple[Rows, npt.NDArray[np.int64]]:
        """Rows in the ranges [starts, starts + lengths), and which range each came from."""
        total = int(lengths.sum())
        range_of = np.repeat(np.arange(lengths.shape[0]), lengths)
        before = np.cumsum(lengths)
        before -= lengths
        positions = np.arange(total, dtype=np.int64)
        positions += np.repeat(starts - before, lengths)
        return self.rows[positions].astype(np.int64), range_of

    def search_one(
        self, words: Words, query: Words, radius: int, strategy: str = "auto"
    ) -> tuple[Rows, Dists]:
        """Sorted unique rows of `words` within `radius` of one (4,) query, and distances.

        Compiled (`kernels.search_one`, one loop) where numba is installed, else numpy."""
        if strategy == "scan" or self.n == 0:
            return scan(words, query, radius)
        if strategy not in ("auto", "multi_index"):
            raise ValueError(f"unknown strategy {strategy!r}")
        if kernels.search_one is None:
            return self.search_one_numpy(words, query, radius, strategy)
        limit = int(SCAN_CANDIDATE_FRACTION * self.n) if strategy == "auto" else 1 << 62
        threads = _search_threads() if self.n >= SPLIT_SEARCH_FROM else None
        if threads is None:
            rows, dists, too_many = self._kernel(words, query, self.plan(radius), radius, limit)
        else:
            first, second = self.split_plan(radius)
            other = threads.submit(self._kernel, words, query, second, radius, limit)
            rows, dists, too_many = self._kernel(words, query, first, radius, limit)
            rows_b, dists_b, too_many_b = other.result()
            too_many |= too_many_b
            # A code can sit in buckets of both halves: keep it once, as the kernel does.
            rows, keep = np.unique(np.concatenate((rows, rows_b)), return_index=True)
            dists = np.concatenate((dists, dists_b))[keep]
        if too_many:
            # Clustered lists can make some buckets huge; then reading everything is cheaper.
            return scan(words, query, radius)
        return rows, dists

    def split_plan(self, radius: int) -> tuple[ProbePlan, ProbePlan]:
        """`plan(radius)` in two halves for two threads (see SPLIT_SEARCH_FROM)."""
        halves = self._halves.get(radius)
        if halves is None:
            bucket_rows = self.n / np.exp2(self._widths.astype(np.float64))
            halves = self._halves[radius] = self.plan(radius).halves(bucket_rows)
        return halves

    def _kernel(
        self, words: Words, query: Words, plan: ProbePlan, radius: int, limit: int
    ) -> tuple[Rows, Dists, bool]:
        assert kernels.search_one is not None
        return kernels.search_one(
            self.offsets,
            self.rows,
            words,
            query,
            self._starts,
            self._widths,
            plan.table,
            plan.masks,
            plan.offset_base,
            plan.row_base,
            radius,
            limit,
        )

    def search_one_numpy(
        self, words: Words, query: Words, radius: int, strategy: str = "auto"
    ) -> tuple[Rows, Dists]:
        """`search_one` without numba. It avoids per-query numpy overhead where it can: chunk
        values come from one Python int, and the only large steps are three gathers (offsets,
        rows, codes)."""
        if strategy == "scan" or self.n == 0:
            return scan(words, query, radius)
        plan = self.plan(radius)
        x = int(query[0]) | int(query[1]) << 64 | int(query[2]) << 128 | int(query[3]) << 192
        values = np.array(
            [
                (x >> s) & ((1 << w) - 1)
                for s, w in zip(self.layout.starts, self.layout.widths, strict=True)
            ],
            dtype=np.int64,
        )
        slots = values[plan.table]
        slots ^= plan.masks
        slots += plan.offset_base
        starts = self.offsets[slots].astype(np.int64)
        lengths = self.offsets[slots + 1].astype(np.int64)
        lengths -= starts
        nonempty = np.flatnonzero(lengths)
        lengths = lengths[nonempty]
        if strategy == "auto" and lengths.sum() > SCAN_CANDIDATE_FRACTION * self.n:
            # Clustered lists can make some buckets huge; then reading everything is cheaper.
            return scan(words, query, radius)
        if strategy not in ("auto", "multi_index"):
            raise ValueError(f"unknown strategy {strategy!r}")
        starts = starts[nonempty]
        starts += plan.row_base[nonempty]
        rows, _ = self._expand(starts, lengths)
        dist = distances(np.take(words, rows, axis=0), query)
        hit = np.flatnonzero(dist <= radius)
        # A code near the query usually sits in several tables' buckets: keep it once.
        rows, first = np.unique(rows[hit], return_index=True)
        return rows, dist[hit][first]

    def search_many(
        self, words: Words, queries: Words, radius: int, strategy: str = "auto"
    ) -> list[tuple[Rows, Dists]]:
        """`search_one` for each row of `queries`. Compiled: the one-query loop run for every
        query inside one compiled call (faster than numpy vectorised across the batch at every
        batch size measured, 1-100 queries, 100k and 1M codes; and than a call a query, whose
        fixed cost was most of a 10,000-row manifest batch's search); without numba, the
        vectorised numpy path."""
        if kernels.search_many is None or strategy == "scan" or self.n == 0:
            return self.search_many_numpy(words, queries, radius, strategy)
        if strategy not in ("auto", "multi_index"):
            raise ValueError(f"unknown strategy {strategy!r}")
        plan = self.plan(radius)
        limit = int(SCAN_CANDIDATE_FRACTION * self.n) if strategy == "auto" else 1 << 62
        queries = np.ascontiguousarray(queries, dtype=np.uint64)
        rows, dists, ends, too_many = kernels.search_many(
            self.offsets,
            self.rows,
            words,
            queries,
            self._starts,
            self._widths,
            plan.table,
            plan.masks,
            plan.offset_base,
            plan.row_base,
            radius,
            limit,
        )
        out: list[tuple[Rows, Dists]] = []
        begin = 0
        for i, end in enumerate(ends.tolist()):
            if too_many[i]:
                # Clustered lists can make some buckets huge; then reading everything is cheaper.
                out.append(scan(words, queries[i], radius))
            else:
                out.append((rows[begin:end], dists[begin:end]))
            begin = end
        return out

    def search_many_numpy(
        self, words: Words, queries: Words, radius: int, strategy: str = "auto"
    ) -> list[tuple[Rows, Dists]]:
        """`search_many` without numba, vectorised across the batch."""
        nq = queries.shape[0]
        if strategy == "scan" or self.n == 0 or nq == 0:
            return [scan(words, queries[i], radius) for i in range(nq)]
        if strategy not in ("auto", "multi_index"):
            raise ValueError(f"unknown strategy {strategy!r}")
        plan = self.plan(radius)
        values = self.layout.chunk_values(queries).astype(np.int64)  # (m, q)
        slots = values[plan.table].T  # (q, probes)
        slots ^= plan.masks
        slots += plan.offset_base
        starts = self.offsets[slots].astype(np.int64)
        lengths = self.offsets[slots + 1].astype(np.int64)
        lengths -= starts
        starts += plan.row_base
        out: list[tuple[Rows, Dists] | None] = [None] * nq
        if strategy == "auto":
            too_many = lengths.sum(axis=1) > SCAN_CANDIDATE_FRACTION * self.n
            for q in np.flatnonzero(too_many).tolist():
                out[q] = scan(words, queries[q], radius)
            lengths[too_many] = 0
        range_query, probe = np.nonzero(lengths)
        rows, range_of = self._expand(starts[range_query, probe], lengths[range_query, probe])
        cand_query = range_query[range_of]
        diff = np.take(words, rows, axis=0)
        diff ^= queries[cand_query]
        counts = np.bitwise_count(diff)
        dist = counts[:, 0].astype(np.uint16)
        dist += counts[:, 1]
        dist += counts[:, 2]
        dist += counts[:, 3]
        hit = np.flatnonzero(dist <= radius)
        rows, dist, cand_query = rows[hit], dist[hit], cand_query[hit]
        key = cand_query.astype(np.int64) * max(self.n, 1) + rows
        _, first = np.unique(key, return_index=True)
        rows, dist, cand_query = rows[first], dist[first], cand_query[first]
        bounds = np.searchsorted(cand_query, np.arange(nq + 1))
        for i in range(nq):
            if out[i] is None:
                out[i] = (rows[bounds[i] : bounds[i + 1]], dist[bounds[i] : bounds[i + 1]])
        return [r for r in out if r is not None]


def scan(words: Words, query: Words, radius: int) -> tuple[Rows, Dists]:
    """Linear scan: rows of `words` within `radius` of `query`, in row order."""
    found_rows: list[Rows] = []
    found_dists: list[Dists] = []
    n = words.shape[0]
    for start in range(0, n, SCAN_BLOCK_ROWS):
        d = distances(words[start : start + SCAN_BLOCK_ROWS], query)
        hit = np.flatnonzero(d <= radius)
        if hit.size:
            found_rows.append(hit + start)
            found_dists.append(d[hit])
    if not found_rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint16)
    return np.concatenate(found_rows).astype(np.int64), np.concatenate(found_dists)


__all__: Sequence[str] = ["ChunkLayout", "MultiIndex", "flip_masks", "scan"]

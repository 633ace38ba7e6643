"""Immutable index state: a base segment (multi-index), a delta segment (scanned) and tombstones.

Every write builds a new `IndexState` and publishes it with one attribute assignment, so a
query that picked up a state keeps a consistent view while writers and compaction go on
(LSM-like: the base is rebuilt rarely, small adds land in the delta).

Rows are numbered globally: base rows are 0..B-1, delta rows are B..B+D-1. A removed row is
a tombstone in `dead` (sorted) until the next compaction drops it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from hotline.index.codes import WORDS, Ids, Words
from hotline.index.multi_index import ChunkLayout, Dists, MultiIndex, Rows, scan


class Match(NamedTuple):
    """One stored hash within the search radius: the caller's entry id and the distance."""

    id: int
    distance: int


@dataclass(frozen=True)
class BaseSegment:
    """The bulk of the index: codes and ids sorted by id, with multi-index tables."""

    words: Words
    ids: Ids  # ascending, unique
    tables: MultiIndex
    # Snapshot directory the arrays were memory-mapped from; lets a checkpoint hard-link them.
    source: Path | None = None

    @classmethod
    def build(
        cls,
        ids: Ids,
        words: Words,
        layout: ChunkLayout | None = None,
        workers: int | None = None,
    ) -> BaseSegment:
        if ids.shape[0] > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            order = np.argsort(ids, kind="stable")
            ids = ids[order]
            words = words[order]
        # No copy of arrays already in shape: at 100M codes a copy is 4 GB of the build's peak.
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        words = np.ascontiguousarray(words, dtype=np.uint64)
        layout = layout or ChunkLayout.for_size(ids.shape[0])
        return cls(words, ids, MultiIndex.build(words, layout, workers=workers))

    @classmethod
    def merged(
        cls,
        ids: Ids,
        words: Words,
        more_ids: Ids,
        more_words: Words,
        workers: int | None = None,
    ) -> BaseSegment:
        """Build from id-sorted (ids, words) plus unsorted extra rows, without re-sorting
        the bulk: the extras are sorted and inserted (a linear copy, not an n log n sort)."""
        order = np.argsort(more_ids)
        more_ids, more_words = more_ids[order], more_words[order]
        at = np.searchsorted(ids, more_ids)
        all_ids = np.insert(ids, at, more_ids)
        all_words = np.insert(words, at, more_words, axis=0)
        return cls.build(all_ids, all_words, workers=workers)

    @classmethod
    def empty(cls) -> BaseSegment:
        return cls.build(np.zeros(0, np.int64), np.zeros((0, WORDS), np.uint64))

    @property
    def n(self) -> int:
        return int(self.ids.shape[0])

    def rows_of(self, ids: Ids) -> npt.NDArray[np.int64]:
        """Row of each id, or -1 where the base does not hold it."""
        if self.n == 0:
            return np.full(ids.shape, -1, np.int64)
        pos = np.minimum(np.searchsorted(self.ids, ids), self.n - 1)
        return np.where(self.ids[pos] == ids, pos, -1).astype(np.int64)

    def memory_bytes(self) -> int:
        return int(self.words.nbytes + self.ids.nbytes + self.tables.memory_bytes())


@dataclass(frozen=True)
class IndexState:
    """One consistent view: base + delta rows [0, delta_len) + tombstones."""

    base: BaseSegment
    delta_words: Words  # view of the first delta_len rows of an append-only buffer
    delta_ids: Ids
    dead: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def delta_len(self) -> int:
        return int(self.delta_ids.shape[0])

    @property
    def total_rows(self) -> int:
        return self.base.n + self.delta_len

    def __len__(self) -> int:
        return self.total_rows - int(self.dead.shape[0])

    def id_at(self, rows: Rows) -> Ids:
        b = self.base.n
        in_base = rows < b
        out = np.empty(rows.shape, np.int64)
        out[in_base] = self.base.ids[rows[in_base]]
        out[~in_base] = self.delta_ids[rows[~in_base] - b]
        return out

    def is_dead(self, rows: Rows) -> npt.NDArray[np.bool_]:
        if self.dead.shape[0] == 0 or rows.shape[0] == 0:
            return np.zeros(rows.shape, bool)
        pos = np.minimum(np.searchsorted(self.dead, rows), self.dead.shape[0] - 1)
        return np.asarray(self.dead[pos] == rows)

    def search(self, queries: Words, radius: int, strategy: str = "auto") -> list[list[Match]]:
        if queries.shape[0] == 1:
            found = [self.base.tables.search_one(self.base.words, queries[0], radius, strategy)]
        else:
            found = self.base.tables.search_many(self.base.words, queries, radius, strategy)
        out: list[list[Match]] = []
        for i, (rows, dists) in enumerate(found):
            if self.delta_len:
                d_rows, d_dists = scan(self.delta_words, queries[i], radius)
                rows = np.concatenate([rows, d_rows + self.base.n])
                dists = np.concatenate([dists, d_dists])
            out.append(self._matches(rows, dists))
        return out

    def _matches(self, rows: Rows, dists: Dists) -> list[Match]:
        if rows.shape[0] == 0:
            return []
        alive = ~self.is_dead(rows)
        ids = self.id_at(rows[alive])
        dists = dists[alive]
        order = np.lexsort((ids, dists))
        return [
            Match(i, d) for i, d in zip(ids[order].tolist(), dists[order].tolist(), strict=True)
        ]

    def memory_bytes(self) -> int:
        return int(
            self.base.memory_bytes()
            + self.delta_words.nbytes
            + self.delta_ids.nbytes
            + self.dead.nbytes
        )


__all__: Sequence[str] = ["BaseSegment", "IndexState", "Match"]

"""`PDQIndex`: exact PDQ range search with incremental updates and crash-safe persistence."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from hotline.index import persistence
from hotline.index.codes import (
    DEFAULT_RADIUS,
    WORDS,
    CodeLike,
    Ids,
    Words,
    check_radius,
    one_to_words,
    to_ids,
    to_words,
    unique_ids_or_raise,
    words_to_hex,
)
from hotline.index.errors import (
    DuplicateIdError,
    IndexInputError,
    IndexStorageError,
    UnknownIdError,
)
from hotline.index.multi_index import ChunkLayout, MultiIndex
from hotline.index.segments import BaseSegment, IndexState, Match

log = logging.getLogger(__name__)

Strategy = Literal["auto", "multi_index", "scan"]
FORMAT = "hotline-pdq-index"
FORMAT_VERSION = 1
PDQ_CODE_BYTES = 32
# Scanning the delta costs ~15 ns a row per query, so past ~50k rows it is time to fold it in.
DEFAULT_AUTO_COMPACT_ROWS = 50_000
# Sub-batches of 32 keep the gathered candidate arrays cache-sized; larger ones are slower.
BATCH_QUERIES = 32
# Arrays that belong to the base segment: unchanged between compactions, so a checkpoint
# hard-links them from the previous snapshot instead of rewriting ~1 GB at 10M hashes.
_BASE_ARRAYS = ("base_words", "base_ids", "table_offsets", "table_rows")


@dataclass(frozen=True)
class IndexStats:
    size: int  # live hashes
    base_rows: int
    delta_rows: int
    tombstones: int
    chunk_widths: tuple[int, ...]
    memory_bytes: int  # arrays held (memory-mapped ones included, at their full size)
    path: str | None
    generation: int | None
    compacting: bool


class PDQIndex:
    """Exact Hamming range search over PDQ hashes keyed by caller-chosen int64 ids.

    Thread-safety: any number of threads may search while one thread at a time writes
    (writes are serialised by a lock); compaction may run in a background thread.
    """

    def __init__(
        self,
        base: BaseSegment | None = None,
        *,
        auto_compact_rows: int | None = DEFAULT_AUTO_COMPACT_ROWS,
        workers: int | None = None,
    ) -> None:
        base = base if base is not None else BaseSegment.empty()
        self._buf_words: Words = np.zeros((0, WORDS), np.uint64)
        self._buf_ids: Ids = np.zeros(0, np.int64)
        self._state = IndexState(base, self._buf_words, self._buf_ids)
        # id -> global row of each live delta entry; kept by writers under the write lock so
        # that id checks cost O(1) per id however the delta grows (e.g. while replaying).
        self._delta_rows: dict[int, int] = {}
        self._write_lock = threading.RLock()
        self._compact_lock = threading.Lock()
        self._compactor: threading.Thread | None = None
        self.auto_compact_rows = auto_compact_rows
        self.workers = workers
        self._root: Path | None = None
        self._generation: int | None = None
        self._log: persistence.LogWriter | None = None
        self._fsync = True

    # ---- construction -------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        ids: Iterable[int] | npt.NDArray[np.integer],
        codes: Iterable[CodeLike] | npt.NDArray[np.generic],
        *,
        chunks: int | None = None,
        workers: int | None = None,
        auto_compact_rows: int | None = DEFAULT_AUTO_COMPACT_ROWS,
    ) -> PDQIndex:
        """Bulk-build an in-memory index. `chunks` overrides the automatic table layout.

        Codes given as an (n, 4) uint64 array and ids as int64 (sorted by id) are kept as
        they are, not copied, so a build of 100M codes does not hold them twice: do not write
        to those arrays afterwards."""
        words = to_words(codes)
        id_arr = to_ids(ids, expected=words.shape[0])
        unique_ids_or_raise(id_arr)
        layout = ChunkLayout.with_chunks(chunks) if chunks else None
        base = BaseSegment.build(id_arr, words, layout=layout, workers=workers)
        return cls(base, auto_compact_rows=auto_compact_rows, workers=workers)

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        create: bool = True,
        fsync: bool = True,
        mmap: bool = True,
        auto_compact_rows: int | None = DEFAULT_AUTO_COMPACT_ROWS,
        workers: int | None = None,
    ) -> PDQIndex:
        """Open the index stored in directory `path`, replaying its log; the returned index
        appends every add and remove to that log before applying it."""
        root = Path(path)
        generation = persistence.current_generation(root)
        if generation is None:
            if not create:
                raise IndexStorageError(f"no index at {root}")
            cls(auto_compact_rows=None).save(root)
            generation = persistence.current_generation(root)
            assert generation is not None
        snap, meta, arrays = persistence.read_snapshot(root, generation, mmap=mmap)
        index = cls._from_snapshot(snap, meta, arrays, auto_compact_rows, workers)
        log_path = root / persistence.log_name(generation)
        records, valid = persistence.read_log(log_path, PDQ_CODE_BYTES)
        index.auto_compact_rows = None  # replay first; compact afterwards if needed
        try:
            for record in records:
                if record.op == persistence.OP_ADD:
                    index._add_words(record.ids, _bytes_to_words(record.codes), replay=True)
                else:
                    index._remove_ids(record.ids, missing_ok=True, replay=True)
        except IndexInputError as exc:  # the log only holds writes that were validated
            raise IndexStorageError(f"{log_path} does not replay cleanly: {exc}") from exc
        index._root, index._generation, index._fsync = root, generation, fsync
        index._log = persistence.LogWriter.open_at(log_path, valid, fsync=fsync)
        index.auto_compact_rows = auto_compact_rows
        index._maybe_auto_compact()
        return index

    @classmethod
    def _from_snapshot(
        cls,
        snap: Path,
        meta: dict[str, Any],
        arrays: dict[str, npt.NDArray[Any]],
        auto_compact_rows: int | None,
        workers: int | None,
    ) -> PDQIndex:
        if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
            raise IndexStorageError(f"{snap} is not a {FORMAT} v{FORMAT_VERSION} snapshot")
        try:
            layout = ChunkLayout(tuple(int(w) for w in meta["chunk_widths"]))
            # Plain ndarray views of the memory maps: the np.memmap subclass adds overhead to
            # every numpy call on the query path.
            words, ids = np.asarray(arrays["base_words"]), np.asarray(arrays["base_ids"])
            offsets, rows = np.asarray(arrays["table_offsets"]), np.asarray(arrays["table_rows"])
            tables = MultiIndex(layout, offsets, rows, len(ids))
            base = BaseSegment(words, ids, tables, source=snap)
            index = cls(base, auto_compact_rows=auto_compact_rows, workers=workers)
            delta_ids = np.array(arrays["delta_ids"], dtype=np.int64)
            index._publish_delta(np.array(arrays["delta_words"], dtype=np.uint64), delta_ids)
            state = dataclasses.replace(index._state, dead=np.array(arrays["dead"], dtype=np.int64))
            index._state = state
            delta_rows = np.arange(base.n, state.total_rows, dtype=np.int64)
            delta_rows = delta_rows[~state.is_dead(delta_rows)]
            index._delta_rows = dict(
                zip(state.id_at(delta_rows).tolist(), delta_rows.tolist(), strict=True)
            )
        except (KeyError, ValueError) as exc:
            raise IndexStorageError(f"snapshot {snap} is inconsistent: {exc}") from exc
        return index

    # ---- reads -------------------------------------------------------------------------

    def search(
        self, code: CodeLike, radius: int = DEFAULT_RADIUS, *, strategy: Strategy = "auto"
    ) -> list[Match]:
        """Every live hash within `radius` bits of `code`, nearest first (ties by id)."""
        radius = check_radius(radius)
        _check_strategy(strategy)
        query = one_to_words(code).reshape(1, WORDS)
        return self._state.search(query, radius, strategy)[0]

    def search_batch(
        self,
        codes: Iterable[CodeLike] | npt.NDArray[np.generic],
        radius: int = DEFAULT_RADIUS,
        *,
        strategy: Strategy = "auto",
    ) -> list[list[Match]]:
        """`search` for many codes at once (vectorised; faster per query than a loop)."""
        radius = check_radius(radius)
        _check_strategy(strategy)
        queries = to_words(codes)
        state = self._state  # one consistent view for the whole batch
        out: list[list[Match]] = []
        for start in range(0, queries.shape[0], BATCH_QUERIES):
            out.extend(state.search(queries[start : start + BATCH_QUERIES], radius, strategy))
        return out

    def __len__(self) -> int:
        return len(self._state)

    def __contains__(self, entry_id: object) -> bool:
        if isinstance(entry_id, bool) or not isinstance(entry_id, int | np.integer):
            return False
        with self._write_lock:
            return bool(self._live_rows_of(np.array([entry_id], np.int64))[0] >= 0)

    def code_of(self, entry_id: int) -> str | None:
        """The stored hex PDQ hash of a live id, or None."""
        with self._write_lock:
            state = self._state
            row = int(self._live_rows_of(to_ids([entry_id]))[0])
        if row < 0:
            return None
        b = state.base.n
        words = state.base.words[row] if row < b else state.delta_words[row - b]
        return words_to_hex(np.asarray(words))[0]

    # ---- writes ------------------------------------------------------------------------

    def add(
        self,
        ids: Iterable[int] | npt.NDArray[np.integer],
        codes: Iterable[CodeLike] | npt.NDArray[np.generic],
    ) -> None:
        """Add hashes; visible to searches when this returns. Raises DuplicateIdError if an
        id is already live or repeated in the call (nothing is added then)."""
        words = to_words(codes)
        id_arr = to_ids(ids, expected=words.shape[0])
        self._add_words(id_arr, words)

    def remove(
        self, ids: Iterable[int] | npt.NDArray[np.integer], *, missing_ok: bool = False
    ) -> int:
        """Remove live ids; returns how many were removed. Raises UnknownIdError for an id
        that is not live unless `missing_ok` (nothing is removed then)."""
        return self._remove_ids(to_ids(ids), missing_ok=missing_ok)

    def _add_words(self, ids: Ids, words: Words, replay: bool = False) -> None:
        if ids.shape[0] == 0:
            return
        unique_ids_or_raise(ids)
        with self._write_lock:
            live = self._live_rows_of(ids) >= 0
            if live.any():
                raise DuplicateIdError(f"id {int(ids[live][0])} is already in the index")
            if self._log is not None and not replay:
                self._log.append(persistence.OP_ADD, ids, words.astype("<u8").tobytes())
            self._publish_delta(words, ids)
        self._maybe_auto_compact()

    def _remove_ids(self, ids: Ids, missing_ok: bool, replay: bool = False) -> int:
        if ids.shape[0] == 0:
            return 0
        with self._write_lock:
            state = self._state
            rows = self._live_rows_of(ids)
            missing = rows < 0
            if missing.any() and not missing_ok:
                raise UnknownIdError(f"id {int(ids[missing][0])} is not in the index")
            rows = np.unique(rows[~missing])
            if rows.shape[0] == 0:
                return 0
            if self._log is not None and not replay:
                self._log.append(persistence.OP_REMOVE, state.id_at(rows))
            self._state = dataclasses.replace(state, dead=np.union1d(state.dead, rows))
            for row in rows[rows >= state.base.n].tolist():
                del self._delta_rows[int(state.delta_ids[row - state.base.n])]
            return int(rows.shape[0])

    def _live_rows_of(self, ids: Ids) -> npt.NDArray[np.int64]:
        """Global row of each id's live entry, or -1 (callers hold the write lock)."""
        state = self._state
        rows = state.base.rows_of(ids)
        rows[state.is_dead(rows)] = -1
        if self._delta_rows:
            get = self._delta_rows.get
            in_delta = np.array([get(i, -1) for i in ids.tolist()], dtype=np.int64)
            rows = np.where(in_delta >= 0, in_delta, rows)
        return rows

    def _publish_delta(self, words: Words, ids: Ids) -> None:
        """Append to the delta buffer and publish a state that sees the new rows.

        Rows are only ever written past the end that published states can see, so readers
        holding an older state are unaffected; a full buffer is replaced, never resized.
        """
        with self._write_lock:
            state = self._state
            n, k = state.delta_len, ids.shape[0]
            if n + k > self._buf_ids.shape[0]:
                cap = max(2 * self._buf_ids.shape[0], n + k, 1024)
                buf_words = np.zeros((cap, WORDS), np.uint64)
                buf_ids = np.zeros(cap, np.int64)
                buf_words[:n] = state.delta_words
                buf_ids[:n] = state.delta_ids
                self._buf_words, self._buf_ids = buf_words, buf_ids
            self._buf_words[n : n + k] = words
            self._buf_ids[n : n + k] = ids
            first = state.base.n + n
            self._delta_rows.update(zip(ids.tolist(), range(first, first + k), strict=True))
            self._state = dataclasses.replace(
                state, delta_words=self._buf_words[: n + k], delta_ids=self._buf_ids[: n + k]
            )

    # ---- compaction --------------------------------------------------------------------

    def compact(self) -> None:
        """Fold the delta and tombstones into a new base segment.

        Searches, adds and removes keep working while it runs (it holds the write lock only
        to swap the result in); writes made meanwhile are carried over into the new state.
        """
        with self._compact_lock:
            s0 = self._state
            if s0.delta_len == 0 and s0.dead.shape[0] == 0:
                return
            b0, d0 = s0.base.n, s0.delta_len
            keep_base = np.ones(b0, bool)
            keep_base[s0.dead[s0.dead < b0]] = False
            keep_delta = np.ones(d0, bool)
            keep_delta[s0.dead[s0.dead >= b0] - b0] = False
            new_base = BaseSegment.merged(
                s0.base.ids[keep_base],
                s0.base.words[keep_base],
                s0.delta_ids[keep_delta],
                s0.delta_words[keep_delta],
                workers=self.workers,
            )
            with self._write_lock:
                s1 = self._state
                newly_dead = np.setdiff1d(s1.dead, s0.dead)
                old = newly_dead[newly_dead < b0 + d0]
                # Rows that died during the build were live in s0, so their ids are in the
                # new base exactly once.
                mapped = new_base.rows_of(s1.id_at(old))
                tail = newly_dead[newly_dead >= b0 + d0] - (b0 + d0) + new_base.n
                self._buf_words = np.array(s1.delta_words[d0:])
                self._buf_ids = np.array(s1.delta_ids[d0:])
                shift = new_base.n - (b0 + d0)
                self._delta_rows = {
                    i: r + shift for i, r in self._delta_rows.items() if r >= b0 + d0
                }
                self._state = IndexState(
                    new_base,
                    self._buf_words,
                    self._buf_ids,
                    np.sort(np.concatenate([mapped, tail])),
                )

    def start_compaction(self) -> threading.Thread:
        """Run `compact()` in a daemon thread (or return the one already running)."""
        with self._write_lock:
            if self._compactor is not None and self._compactor.is_alive():
                return self._compactor
            self._compactor = threading.Thread(
                target=self._compact_logged, name="pdq-index-compact", daemon=True
            )
            self._compactor.start()
            return self._compactor

    def wait_for_compaction(self, timeout: float | None = None) -> None:
        compactor = self._compactor
        if compactor is not None:
            compactor.join(timeout)

    def _compact_logged(self) -> None:
        try:
            self.compact()
        except Exception:  # a background failure must not pass silently
            log.exception("background compaction of the PDQ index failed")

    def _maybe_auto_compact(self) -> None:
        limit = self.auto_compact_rows
        if limit is not None and self._state.delta_len > limit:
            self.start_compaction()

    # ---- persistence -------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write a snapshot of the current contents into directory `path` (creating it).

        For the directory this index was opened from, this is a checkpoint: the snapshot
        replaces the old one and the log starts empty.
        """
        root = Path(path)
        with self._write_lock:
            state = self._state
            previous = persistence.current_generation(root) if root.exists() else None
            generation = (previous or 0) + 1
            base = state.base
            link_from = base.source if base.source is not None else None
            if link_from is not None and link_from.parent.resolve() != root.resolve():
                link_from = None
            snap = persistence.write_snapshot(
                root,
                generation,
                {
                    "base_words": base.words,
                    "base_ids": base.ids,
                    "table_offsets": base.tables.offsets,
                    "table_rows": base.tables.rows,
                    "delta_words": state.delta_words,
                    "delta_ids": state.delta_ids,
                    "dead": state.dead,
                },
                {
                    "format": FORMAT,
                    "version": FORMAT_VERSION,
                    "generation": generation,
                    "chunk_widths": list(base.tables.layout.widths),
                    "base_rows": base.n,
                    "delta_rows": state.delta_len,
                    "tombstones": int(state.dead.shape[0]),
                },
                link_from=link_from,
                linkable=_BASE_ARRAYS,
            )
            if self._root is not None and self._root.resolve() == root.resolve():
                assert self._log is not None
                self._log.close()
                log_path = root / persistence.log_name(generation)
                self._log = persistence.LogWriter.open_at(log_path, 0, fsync=self._fsync)
                self._generation = generation
                self._state = dataclasses.replace(
                    state, base=dataclasses.replace(base, source=snap)
                )
            persistence.remove_old_generations(root, keep=generation)

    def checkpoint(self) -> None:
        """Snapshot the bound directory and start an empty log (shorter replay on open)."""
        if self._root is None:
            raise IndexStorageError("checkpoint() needs an index opened with PDQIndex.open()")
        self.save(self._root)

    def close(self) -> None:
        """Wait for a running compaction and close the log. Searches still work after."""
        self.wait_for_compaction()
        with self._write_lock:
            if self._log is not None:
                self._log.close()
                self._log = None
                self._root = None

    def __enter__(self) -> PDQIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- introspection -----------------------------------------------------------------

    def memory_bytes(self) -> int:
        """Bytes of the arrays (memory-mapped ones at full size), the spare delta buffer and
        an estimate of ~100 bytes per entry of the delta's id dict."""
        state = self._state
        spare = self._buf_words.nbytes + self._buf_ids.nbytes
        spare -= state.delta_words.nbytes + state.delta_ids.nbytes
        return state.memory_bytes() + max(spare, 0) + 100 * len(self._delta_rows)

    def stats(self) -> IndexStats:
        state = self._state
        compactor = self._compactor
        return IndexStats(
            size=len(state),
            base_rows=state.base.n,
            delta_rows=state.delta_len,
            tombstones=int(state.dead.shape[0]),
            chunk_widths=state.base.tables.layout.widths,
            memory_bytes=self.memory_bytes(),
            path=str(self._root) if self._root is not None else None,
            generation=self._generation,
            compacting=compactor is not None and compactor.is_alive(),
        )


def _check_strategy(strategy: str) -> None:
    if strategy not in ("auto", "multi_index", "scan"):
        raise IndexInputError(f"strategy must be auto, multi_index or scan, got {strategy!r}")


def _bytes_to_words(raw: bytes) -> Words:
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64).reshape(-1, WORDS)


__all__: Sequence[str] = ["IndexStats", "Match", "PDQIndex"]

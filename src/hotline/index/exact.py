"""`ExactHashIndex`: MD5 / SHA-1 / SHA-256 digest -> entry ids.

The base is two flat arrays sorted by digest (fixed-width bytes, found by binary search):
16-32 bytes + 8 bytes of id per entry, against ~100+ bytes per entry for a dict of bytes.
Recent adds go to a small dict, removals of base entries are tombstones, and `compact()`
folds both into a new base. The same digest may belong to several ids (one file on two
lists); an id has one digest.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hotline.index import persistence
from hotline.index.codes import Ids, to_ids, unique_ids_or_raise
from hotline.index.errors import (
    DuplicateIdError,
    IndexInputError,
    IndexStorageError,
    UnknownIdError,
)

DIGEST_BYTES = {"md5": 16, "sha1": 20, "sha256": 32}
FORMAT = "hotline-exact-index"
FORMAT_VERSION = 1

DigestLike = str | bytes | bytearray | memoryview


class ExactHashIndex:
    """Exact digest lookups for one algorithm ("md5", "sha1" or "sha256").

    All methods are thread-safe (one lock; lookups are a binary search, so it is short).
    """

    def __init__(self, algorithm: str) -> None:
        if algorithm not in DIGEST_BYTES:
            raise IndexInputError(f"algorithm must be one of {sorted(DIGEST_BYTES)}")
        self.algorithm = algorithm
        self.width = DIGEST_BYTES[algorithm]
        self._dtype = np.dtype(f"S{self.width}")
        self._digests: npt.NDArray[np.bytes_] = np.zeros(0, self._dtype)  # sorted
        self._ids: Ids = np.zeros(0, np.int64)  # parallel to _digests
        self._by_id: npt.NDArray[np.int64] = np.zeros(0, np.int64)  # base positions by id
        self._sorted_ids: Ids = np.zeros(0, np.int64)  # _ids[_by_id]
        self._dead: set[int] = set()  # base positions removed since the last compaction
        self._delta: dict[int, bytes] = {}  # id -> digest, added since the last compaction
        self._delta_by_digest: dict[bytes, set[int]] = {}
        self._lock = threading.RLock()
        self._root: Path | None = None
        self._log: persistence.LogWriter | None = None
        self._fsync = True

    # ---- input -------------------------------------------------------------------------

    def digest_bytes(self, digest: DigestLike) -> bytes:
        """Validate one digest (hex string or raw bytes) into raw bytes."""
        if isinstance(digest, str):
            if len(digest) != 2 * self.width:
                raise IndexInputError(
                    f"{self.algorithm} hex digest must be {2 * self.width} characters, "
                    f"got {len(digest)}"
                )
            try:
                return bytes.fromhex(digest)
            except ValueError:
                raise IndexInputError(f"{self.algorithm} digest contains non-hex") from None
        if isinstance(digest, bytes | bytearray | memoryview):
            raw = bytes(digest)
            if len(raw) != self.width:
                raise IndexInputError(
                    f"{self.algorithm} digest must be {self.width} bytes, got {len(raw)}"
                )
            return raw
        raise IndexInputError(f"unsupported digest type {type(digest).__name__}")

    def _digest_list(self, digests: Iterable[DigestLike]) -> list[bytes]:
        if isinstance(digests, str | bytes | bytearray | memoryview):
            raise IndexInputError("expected a sequence of digests, got a single digest")
        return [self.digest_bytes(d) for d in digests]

    # ---- construction ------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        algorithm: str,
        ids: Iterable[int] | npt.NDArray[np.integer],
        digests: Iterable[DigestLike],
    ) -> ExactHashIndex:
        index = cls(algorithm)
        raw = index._digest_list(digests)
        id_arr = to_ids(ids, expected=len(raw))
        unique_ids_or_raise(id_arr)
        index._set_base(id_arr, np.array(raw, dtype=index._dtype))
        return index

    def _set_base(self, ids: Ids, digests: npt.NDArray[np.bytes_]) -> None:
        order = np.lexsort((ids, digests))
        self._digests = digests[order]
        self._ids = ids[order]
        self._by_id = np.argsort(self._ids, kind="stable").astype(np.int64)
        self._sorted_ids = self._ids[self._by_id]
        self._dead = set()
        self._delta = {}
        self._delta_by_digest = {}

    # ---- reads -------------------------------------------------------------------------

    def lookup(self, digest: DigestLike) -> list[int]:
        """Ids of live entries with this digest, ascending."""
        raw = self.digest_bytes(digest)
        with self._lock:
            return self._lookup_raw(raw)

    def lookup_batch(self, digests: Iterable[DigestLike]) -> list[list[int]]:
        raws = self._digest_list(digests)
        with self._lock:
            keys = np.array(raws, dtype=self._dtype)
            lo = np.searchsorted(self._digests, keys, side="left")
            hi = np.searchsorted(self._digests, keys, side="right")
            return [
                self._collect(raw, int(a), int(b)) for raw, a, b in zip(raws, lo, hi, strict=True)
            ]

    def _lookup_raw(self, raw: bytes) -> list[int]:
        key = np.array([raw], dtype=self._dtype)
        lo = int(np.searchsorted(self._digests, key, side="left")[0])
        hi = int(np.searchsorted(self._digests, key, side="right")[0])
        return self._collect(raw, lo, hi)

    def _collect(self, raw: bytes, lo: int, hi: int) -> list[int]:
        found = [int(self._ids[p]) for p in range(lo, hi) if p not in self._dead]
        found.extend(self._delta_by_digest.get(raw, ()))
        return sorted(found)

    def _live_base_positions(self, ids: Ids) -> npt.NDArray[np.int64]:
        """Live base position of each id, or -1."""
        if self._ids.shape[0] == 0:
            return np.full(ids.shape, -1, np.int64)
        i = np.minimum(np.searchsorted(self._sorted_ids, ids), self._sorted_ids.shape[0] - 1)
        pos = np.where(self._sorted_ids[i] == ids, self._by_id[i], -1)
        return np.array([p if p not in self._dead else -1 for p in pos.tolist()], np.int64)

    def __contains__(self, entry_id: object) -> bool:
        if isinstance(entry_id, bool) or not isinstance(entry_id, int | np.integer):
            return False
        with self._lock:
            entry = np.array([int(entry_id)], np.int64)
            return int(entry_id) in self._delta or bool(self._live_base_positions(entry)[0] >= 0)

    def __len__(self) -> int:
        with self._lock:
            return int(self._ids.shape[0]) - len(self._dead) + len(self._delta)

    # ---- writes ------------------------------------------------------------------------

    def add(
        self, ids: Iterable[int] | npt.NDArray[np.integer], digests: Iterable[DigestLike]
    ) -> None:
        raws = self._digest_list(digests)
        id_arr = to_ids(ids, expected=len(raws))
        self._add(id_arr, raws)

    def _add(self, ids: Ids, raws: list[bytes], replay: bool = False) -> None:
        unique_ids_or_raise(ids)
        with self._lock:
            live = self._live_base_positions(ids) >= 0
            for i, entry_id in enumerate(ids.tolist()):
                if live[i] or entry_id in self._delta:
                    raise DuplicateIdError(f"id {entry_id} is already in the index")
            if self._log is not None and not replay:
                self._log.append(persistence.OP_ADD, ids, b"".join(raws))
            for entry_id, raw in zip(ids.tolist(), raws, strict=True):
                self._delta[entry_id] = raw
                self._delta_by_digest.setdefault(raw, set()).add(entry_id)

    def remove(
        self, ids: Iterable[int] | npt.NDArray[np.integer], *, missing_ok: bool = False
    ) -> int:
        """Remove live ids; returns how many. UnknownIdError unless `missing_ok`."""
        return self._remove(to_ids(ids), missing_ok)

    def _remove(self, ids: Ids, missing_ok: bool, replay: bool = False) -> int:
        with self._lock:
            ids = np.unique(ids)
            base_pos = self._live_base_positions(ids)
            in_delta = np.array([i in self._delta for i in ids.tolist()], bool)
            found = (base_pos >= 0) | in_delta
            if not missing_ok and not found.all():
                raise UnknownIdError(f"id {int(ids[~found][0])} is not in the index")
            if self._log is not None and not replay and found.any():
                self._log.append(persistence.OP_REMOVE, ids[found])
            for entry_id in ids[in_delta].tolist():
                raw = self._delta.pop(entry_id)
                holders = self._delta_by_digest[raw]
                holders.discard(entry_id)
                if not holders:
                    del self._delta_by_digest[raw]
            self._dead.update(base_pos[base_pos >= 0].tolist())
            return int(found.sum())

    def compact(self) -> None:
        """Fold the delta and tombstones into the sorted base (holds the lock throughout)."""
        with self._lock:
            if not self._delta and not self._dead:
                return
            keep = np.ones(self._ids.shape[0], bool)
            keep[list(self._dead)] = False
            ids = np.concatenate([self._ids[keep], np.array(list(self._delta), np.int64)])
            digests = np.concatenate(
                [self._digests[keep], np.array(list(self._delta.values()), self._dtype)]
            )
            self._set_base(ids, digests)

    # ---- persistence -------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Compact, then write a snapshot into `path` (a checkpoint if opened from there)."""
        root = Path(path)
        with self._lock:
            self.compact()
            previous = persistence.current_generation(root) if root.exists() else None
            generation = (previous or 0) + 1
            persistence.write_snapshot(
                root,
                generation,
                {"digests": self._digests.view(np.uint8).reshape(-1, self.width), "ids": self._ids},
                {"format": FORMAT, "version": FORMAT_VERSION, "algorithm": self.algorithm},
            )
            if self._root is not None and self._root.resolve() == root.resolve():
                assert self._log is not None
                self._log.close()
                self._log = persistence.LogWriter.open_at(
                    root / persistence.log_name(generation), 0, fsync=self._fsync
                )
            persistence.remove_old_generations(root, keep=generation)

    @classmethod
    def open(
        cls, path: str | Path, algorithm: str, *, create: bool = True, fsync: bool = True
    ) -> ExactHashIndex:
        """Open (or create) the index in directory `path`, replaying its log."""
        root = Path(path)
        generation = persistence.current_generation(root)
        if generation is None:
            if not create:
                raise IndexStorageError(f"no index at {root}")
            cls(algorithm).save(root)
            generation = persistence.current_generation(root)
            assert generation is not None
        snap, meta, arrays = persistence.read_snapshot(root, generation, mmap=False)
        index = cls._from_snapshot(snap, meta, arrays, algorithm)
        log_path = root / persistence.log_name(generation)
        records, valid = persistence.read_log(log_path, index.width)
        for record in records:
            if record.op == persistence.OP_ADD:
                raws = [
                    record.codes[i * index.width : (i + 1) * index.width]
                    for i in range(record.ids.shape[0])
                ]
                index._add(record.ids, raws, replay=True)
            else:
                index._remove(record.ids, missing_ok=True, replay=True)
        index._root, index._fsync = root, fsync
        index._log = persistence.LogWriter.open_at(log_path, valid, fsync=fsync)
        return index

    @classmethod
    def _from_snapshot(
        cls, snap: Path, meta: dict[str, Any], arrays: dict[str, npt.NDArray[Any]], algorithm: str
    ) -> ExactHashIndex:
        if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
            raise IndexStorageError(f"{snap} is not a {FORMAT} v{FORMAT_VERSION} snapshot")
        if meta.get("algorithm") != algorithm:
            raise IndexStorageError(f"{snap} holds {meta.get('algorithm')}, not {algorithm}")
        index = cls(algorithm)
        try:
            raw = np.ascontiguousarray(arrays["digests"], dtype=np.uint8)
            digests = raw.view(index._dtype).reshape(-1)
            index._set_base(np.array(arrays["ids"], np.int64), digests)
        except (KeyError, ValueError) as exc:
            raise IndexStorageError(f"snapshot {snap} is inconsistent: {exc}") from exc
        return index

    def close(self) -> None:
        with self._lock:
            if self._log is not None:
                self._log.close()
                self._log = None
                self._root = None

    def memory_bytes(self) -> int:
        """Array bytes plus a rough 200 bytes per delta entry (two dict slots and bytes)."""
        with self._lock:
            arrays = sum(
                a.nbytes for a in (self._digests, self._ids, self._by_id, self._sorted_ids)
            )
            return int(arrays + 200 * len(self._delta) + 60 * len(self._dead))


__all__: Sequence[str] = ["DIGEST_BYTES", "ExactHashIndex"]

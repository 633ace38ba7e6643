"""On-disk layout: numbered snapshot directories, a CURRENT pointer and an append log.

    root/
      CURRENT              name of the live snapshot, replaced by write-then-rename
      snap-00000003/       raw .npy arrays + meta.json, loadable with mmap
      log-00000003.bin     adds and removes made since snapshot 3

A crash at any point leaves either the old snapshot + its log or the new one: the new
snapshot is written to a temporary directory, fsynced, renamed, and only then does CURRENT
move to it. Each log record carries its length and a CRC32, so a record torn by a crash is
detected on open, dropped and truncated away rather than failing the open.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from hotline.index.errors import IndexStorageError

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
LOG_MAGIC = b"HLIXLOG1"
OP_ADD = 1
OP_REMOVE = 2
_RECORD_HEAD = struct.Struct("<II")  # payload length, crc32 of payload
_PAYLOAD_HEAD = struct.Struct("<BI")  # op, count


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_bytes_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def snapshot_name(generation: int) -> str:
    return f"snap-{generation:08d}"


def log_name(generation: int) -> str:
    return f"log-{generation:08d}.bin"


def current_generation(root: Path) -> int | None:
    """The generation CURRENT points at, or None for a directory with no snapshot yet."""
    try:
        name = (root / CURRENT).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    if not name.startswith("snap-") or not name[5:].isdigit():
        raise IndexStorageError(f"{root / CURRENT} does not name a snapshot: {name!r}")
    return int(name[5:])


def write_snapshot(
    root: Path,
    generation: int,
    arrays: Mapping[str, npt.NDArray[Any]],
    meta: Mapping[str, Any],
    link_from: Path | None = None,
    linkable: Sequence[str] = (),
) -> Path:
    """Write arrays + meta as snapshot `generation` and point CURRENT at it.

    Arrays named in `linkable` that exist in `link_from` (an earlier snapshot of the same,
    unchanged data) are hard-linked instead of rewritten, so a checkpoint after small
    changes costs little I/O. Returns the snapshot directory.
    """
    root.mkdir(parents=True, exist_ok=True)
    final = root / snapshot_name(generation)
    tmp = root / (final.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    for name, array in arrays.items():
        target = tmp / f"{name}.npy"
        source = link_from / f"{name}.npy" if link_from is not None else None
        if name in linkable and source is not None and source.exists():
            try:
                os.link(source, target)
                continue
            except OSError:
                pass  # other filesystem or no hard links: fall back to writing
        with open(target, "wb") as f:
            np.save(f, np.asarray(array), allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
    with open(tmp / "meta.json", "w", encoding="utf-8") as f:
        json.dump(dict(meta), f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    fsync_dir(tmp)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    fsync_dir(root)
    # An empty log for the new generation must exist before CURRENT names it.
    LogWriter.create(root / log_name(generation)).close()
    _write_bytes_atomic(root / CURRENT, (final.name + "\n").encode("ascii"))
    return final


def remove_old_generations(root: Path, keep: int) -> None:
    """Delete snapshots and logs older than generation `keep` (after CURRENT moved on)."""
    for path in root.iterdir():
        for prefix, suffix in (("snap-", ""), ("log-", ".bin")):
            stem = path.name.removeprefix(prefix).removesuffix(suffix).removesuffix(".tmp")
            if path.name.startswith(prefix) and stem.isdigit() and int(stem) < keep:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()


def read_snapshot(
    root: Path, generation: int, mmap: bool = True
) -> tuple[Path, dict[str, Any], dict[str, npt.NDArray[Any]]]:
    """Load a snapshot's meta and arrays (memory-mapped, read-only, when `mmap`)."""
    snap = root / snapshot_name(generation)
    try:
        meta = json.loads((snap / "meta.json").read_text(encoding="utf-8"))
        arrays = {
            p.stem: np.load(p, mmap_mode="r" if mmap else None, allow_pickle=False)
            for p in snap.glob("*.npy")
        }
    except (OSError, ValueError) as exc:
        raise IndexStorageError(f"cannot read snapshot {snap}: {exc}") from exc
    return snap, meta, arrays


@dataclass(frozen=True)
class LogRecord:
    op: int
    ids: npt.NDArray[np.int64]
    codes: bytes  # count * code_bytes for adds, empty for removes


def encode_record(op: int, ids: npt.NDArray[np.int64], codes: bytes = b"") -> bytes:
    payload = _PAYLOAD_HEAD.pack(op, ids.shape[0]) + ids.astype("<i8").tobytes() + codes
    return _RECORD_HEAD.pack(len(payload), zlib.crc32(payload)) + payload


def read_log(path: Path, code_bytes: int) -> tuple[list[LogRecord], int]:
    """Records in the log and the byte length of its valid prefix.

    Reading stops at the first incomplete or corrupt record (a write torn by a crash); the
    caller truncates the file there before appending.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    if len(data) < len(LOG_MAGIC):
        return [], 0
    if data[: len(LOG_MAGIC)] != LOG_MAGIC:
        raise IndexStorageError(f"{path} is not an index log")
    records: list[LogRecord] = []
    pos = len(LOG_MAGIC)
    while pos < len(data):
        if pos + _RECORD_HEAD.size > len(data):
            break
        length, crc = _RECORD_HEAD.unpack_from(data, pos)
        start, end = pos + _RECORD_HEAD.size, pos + _RECORD_HEAD.size + length
        if end > len(data) or zlib.crc32(data[start:end]) != crc:
            break
        op, count = _PAYLOAD_HEAD.unpack_from(data, start)
        body = start + _PAYLOAD_HEAD.size
        ids = np.frombuffer(data, dtype="<i8", count=count, offset=body).astype(np.int64)
        codes = data[body + 8 * count : end]
        expected = count * code_bytes if op == OP_ADD else 0
        if op not in (OP_ADD, OP_REMOVE) or len(codes) != expected:
            break
        records.append(LogRecord(op, ids, codes))
        pos = end
    if pos < len(data):
        log.warning("ignoring %d torn or corrupt bytes at the end of %s", len(data) - pos, path)
    return records, pos


class LogWriter:
    """Appends records; each append is flushed and (by default) fsynced before returning."""

    def __init__(self, f: BinaryIO, fsync: bool = True) -> None:
        self._f = f
        self._fsync = fsync

    @classmethod
    def create(cls, path: Path, fsync: bool = True) -> LogWriter:
        f = open(path, "wb")  # noqa: SIM115 - owned by the writer, closed by close()
        f.write(LOG_MAGIC)
        f.flush()
        os.fsync(f.fileno())
        return cls(f, fsync)

    @classmethod
    def open_at(cls, path: Path, valid_length: int, fsync: bool = True) -> LogWriter:
        """Open for appending after the valid prefix, cutting off any torn tail."""
        if valid_length < len(LOG_MAGIC):
            return cls.create(path, fsync)
        f = open(path, "r+b")  # noqa: SIM115 - owned by the writer, closed by close()
        f.truncate(valid_length)
        f.seek(valid_length)
        os.fsync(f.fileno())
        return cls(f, fsync)

    def append(self, op: int, ids: npt.NDArray[np.int64], codes: bytes = b"") -> None:
        self._f.write(encode_record(op, ids, codes))
        self._f.flush()
        if self._fsync:
            os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


__all__: Sequence[str] = [
    "LogRecord",
    "LogWriter",
    "current_generation",
    "read_log",
    "read_snapshot",
    "remove_old_generations",
    "write_snapshot",
]

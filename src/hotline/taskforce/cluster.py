"""Hashing on a Dask cluster: a LocalCluster (one single-threaded worker per core) unless a
scheduler address is given (`--scheduler`, HOTLINE_DASK_SCHEDULER).

Workers hash with hotline's own library (`hotline.hashing.media.hash_bytes`: exact digests,
PDQ or vPDQ); the bytes travel to them a chunk at a time, never the whole set. A worker on
another machine needs hotline installed, the same version.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hotline.hashing.errors import HashingError
from hotline.hashing.media import hash_bytes

if TYPE_CHECKING:
    from distributed import Client


@dataclass(frozen=True, slots=True)
class Hashed:
    """One member's hashes (a plain value: it travels back from a worker)."""

    index: int
    kind: str
    md5: str
    sha1: str
    sha256: str
    pdq: str | None
    pdq_quality: int | None
    byte_count: int


@dataclass(frozen=True, slots=True)
class Failed:
    index: int
    reason: str
    sha256: str | None = None


def hash_chunk(chunk: list[tuple[int, bytes]]) -> list[Hashed | Failed]:
    """Runs on a worker: each member's hashes, or why it could not be hashed."""
    out: list[Hashed | Failed] = []
    for index, data in chunk:
        try:
            hashes = hash_bytes(data)
        except HashingError as exc:
            out.append(Failed(index, f"{exc.code.value}: {exc.message}"))
            continue
        except Exception as exc:  # a decoder bug on one file must never stop the set
            out.append(Failed(index, f"internal_error: {type(exc).__name__}"))
            continue
        pdq = hashes.pdq
        d = hashes.digests
        out.append(
            Hashed(
                index,
                hashes.kind.value,
                d.md5,
                d.sha1,
                d.sha256,
                pdq.hex if pdq else None,
                pdq.quality if pdq else None,
                len(data),
            )
        )
    return out


@contextmanager
def connect(scheduler: str = "", *, workers: int = 0, processes: bool = True) -> Iterator[Client]:
    """A client on the scheduler at `scheduler`, or on a LocalCluster started (and stopped)
    here: `workers` single-threaded workers (0: one per core)."""
    # Imported here: distributed takes a third of a second to load, and every other
    # `hotline` command would pay it.
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    count = workers or os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=count,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=":0",
            silence_logs=40,  # logging.ERROR: the progress bar is the output
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client

"""Taskforce hashing on Dask: images/s with 1 and 2 workers against threatexchange in one
process, on the same images, with every PDQ hash checked identical.

    .venv/bin/python bench/bench_taskforce_hashing.py --n 200 [--workers 1 2] [--import]

Draws N benign 1024x768 JPEGs in memory (bench_hashing.benign_jpegs: colour waves and shapes),
hashes them with `threatexchange`'s `PdqSignal.hash_from_bytes` in this process, then on a
LocalCluster of 1 and of 2 single-threaded worker processes with the import's own task
(`cluster.hash_chunk`: MD5, SHA-1, SHA-256 and PDQ of each file), chunks of
`importer.CHUNK_FILES` in flight two a worker, as the import sends them. Workers are warmed up
(imports, compiled kernels) before the clock starts. `--import` also times a whole
`hotline taskforce import` of the images as a folder into SQLite (hash-only) on 2 workers.
The load average is printed: on a shared machine the scaling figure is an upper bound on
what the other processes left.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from distributed import Client

from bench_hashing import benign_jpegs
from hotline.db import migrate
from hotline.db.engine import Database
from hotline.security.audit_keys import chain_key_from, use_key
from hotline.security.permissions import Actor
from hotline.taskforce import cluster, importer
from hotline.taskforce.cluster import Hashed, hash_chunk
from hotline.taskforce.model import Limits


def reference(images: list[bytes]) -> tuple[float, list[str]]:
    from threatexchange.signal_type.pdq.signal import PdqSignal

    PdqSignal.hash_from_bytes(images[0])  # warm-up
    start = time.perf_counter()
    hashes = [PdqSignal.hash_from_bytes(data) for data in images]
    return time.perf_counter() - start, hashes


def on_cluster(client: Client, images: list[bytes], workers: int) -> tuple[float, list[str]]:
    client.run(hash_chunk, [(0, images[0])])  # every worker: imports and compiled kernels
    chunk = importer.CHUNK_FILES
    start = time.perf_counter()
    pending: deque = deque()
    out: list[str] = []
    for at in range(0, len(images), chunk):
        work = [(i, images[i]) for i in range(at, min(at + chunk, len(images)))]
        pending.append(client.submit(hash_chunk, work, pure=False))
        while len(pending) >= 2 * workers:
            out += [r.pdq or "" for r in pending.popleft().result() if isinstance(r, Hashed)]
    while pending:
        out += [r.pdq or "" for r in pending.popleft().result() if isinstance(r, Hashed)]
    return time.perf_counter() - start, out


def _hash_one(data: bytes) -> str:
    result = hash_chunk([(0, data)])[0]
    return result.pdq or "" if isinstance(result, Hashed) else ""


def plain_pool(images: list[bytes], workers: int) -> float:
    """The same work in a plain process pool: what this machine allows, without Dask."""
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_hash_one, images[: workers * 2]))  # start and warm every process
        start = time.perf_counter()
        list(pool.map(_hash_one, images, chunksize=importer.CHUNK_FILES))
        return time.perf_counter() - start


def whole_import(images: list[bytes], workers: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "set"
        folder.mkdir()
        for i, data in enumerate(images):
            (folder / f"{i:05d}.jpg").write_bytes(data)
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        use_key(db, chain_key_from(b"bench-taskforce-hashing-key-32-bytes"))
        migrate.upgrade(db)
        with cluster.connect(workers=workers) as client:
            client.run(hash_chunk, [(0, images[0])])
            start = time.perf_counter()
            importer.import_sources(
                db,
                Actor.operator("bench"),
                "bench",
                [folder],
                client=client,
                hash_only=True,
                options=importer.Options(Limits(10**6, 10**12, 10**9, 200)),
            )
            elapsed = time.perf_counter() - start
        db.dispose()
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--import", dest="whole", action="store_true")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}; load average at start: {os.getloadavg()}")
    images = benign_jpegs(args.n, seed=12)
    ref_time, ref_hashes = reference(images)
    print(f"threatexchange PdqSignal, 1 process: {args.n / ref_time:7.1f} images/s")
    rates: dict[int, float] = {}
    for workers in args.workers:
        with cluster.connect(workers=workers) as client:
            elapsed, hashes = on_cluster(client, images, workers)
        rates[workers] = args.n / elapsed
        same = sum(a == b for a, b in zip(hashes, ref_hashes, strict=True))
        print(
            f"hotline on Dask, {workers} worker(s):   {rates[workers]:7.1f} images/s "
            f"(MD5, SHA-1, SHA-256 and PDQ); PDQ identical to threatexchange: {same}/{args.n}"
        )
    if 1 in rates and 2 in rates:
        speedup = rates[2] / rates[1]
        print(f"scaling 1 -> 2 workers: x{speedup:.2f}, {speedup / 2:.0%} of linear")
        one, two = (args.n / plain_pool(images, w) for w in (1, 2))
        print(
            f"the machine's ceiling, a plain process pool: {one:.1f} -> {two:.1f} images/s, "
            f"x{two / one:.2f}, {two / one / 2:.0%} of linear"
        )
    if args.whole:
        elapsed = whole_import(images, 2)
        print(f"whole import of a folder, 2 workers, SQLite: {args.n / elapsed:7.1f} files/s")
    print(f"load average at end:   {os.getloadavg()}")


if __name__ == "__main__":
    main()

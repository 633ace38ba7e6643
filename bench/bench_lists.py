"""Benchmark list releases: write and sign a full release, make a delta, verify a release.

    .venv/bin/python bench/bench_lists.py --entries 2000000 --repeat 3

A throwaway SQLite database gets one list of `--entries` synthetic entries (random MD5,
SHA-1, PDQ and derived jurisdiction categories; no media). Then, timed, each `--repeat`
times (the release row and folder are removed between repeats, so each does the same work):

1. a full release in every format (JSONL, CSV, VICS JSON, threatexchange), signed;
2. verifying that release folder (signature, then SHA-256 of every file);
3. after 10,000 additions and 10,000 withdrawals, a JSONL-only release
   (`hotline lists configure --formats jsonl`), with its delta from release 1, signed;
4. the delta between the two releases on request (made afresh each time), signed;
5. verifying the JSONL-only release;
6. for scale, the same bytes hashed by `sha256sum` and written by a bare `json.dumps` loop.

Each line gives wall-clock seconds and the CPU seconds of this process (all its threads:
`time.process_time`), the steadier figure on a shared machine; with repeats, the median and
the best. The load average is printed at the start and the end.

There is no reference library for signed list releases to run beside it (python-threatexchange
has none), so line 6 shows the floor the machine sets.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def hexes(rng: np.random.Generator, n: int, nbytes: int) -> list[str]:
    return [bytes(row).hex() for row in rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)]


def fill(db: object, n: int, seed: int, name: str = "bench") -> None:
    from hotline.matching import store
    from hotline.matching.model import NewEntry

    rng = np.random.default_rng(seed)
    shared = {"jurisdictions": {"interpol_baseline": "baseline", "us_vics": "1", "canada": "csam"}}
    with db.write() as session:  # type: ignore[attr-defined]
        if seed == 1:
            store.create_list(session, name, "synthetic entries")
        for start in range(0, n, 100_000):
            size = min(100_000, n - start)
            md5, sha1, pdq = hexes(rng, size, 16), hexes(rng, size, 20), hexes(rng, size, 32)
            store.add_entries(
                session,
                name,
                [
                    NewEntry(
                        "A", md5=md5[i], sha1=sha1[i], pdq=pdq[i], pdq_quality=100, shared=shared
                    )
                    for i in range(size)
                ],
            )


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(
    label: str,
    fn: Callable[[], Any],
    repeat: int = 1,
    between: Callable[[Any], None] | None = None,
) -> Any:
    """Run `fn` `repeat` times (`between(result)` after each but the last), print wall and
    CPU seconds; returns the last result."""
    walls, cpus = [], []
    result = None
    for i in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        if between is not None and i < repeat - 1:
            between(result)
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    line = f"{label:<52} wall {wall:7.2f} s  CPU {cpu:7.2f} s"
    if repeat > 1:
        line += f"  (median of {repeat}; best wall {min(walls):.2f}, CPU {min(cpus):.2f};"
        line += f" all wall {' '.join(f'{w:.2f}' for w in walls)})"
    print(line, flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timed step")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()

    from sqlalchemy import delete, select

    from hotline.db import migrate
    from hotline.db.engine import Database
    from hotline.lists import release, signing
    from hotline.lists import store as lists_store
    from hotline.lists.model import ListConfig
    from hotline.lists.tables import ListReleaseRow
    from hotline.lists.verify import verify_dir
    from hotline.matching import store
    from hotline.matching.tables import HashListEntryRow

    print(f"{os.cpu_count()} CPUs, {load()}", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="bench-lists-"))
    secret = b"bench-secret-" + b"x" * 40
    db = Database(f"sqlite:///{scratch / 'bench.db'}")
    migrate.upgrade(db)
    root = scratch / "releases"
    t = time.perf_counter()
    fill(db, args.entries, 1)
    print(f"stored {args.entries:,} entries in {time.perf_counter() - t:.1f}s", flush=True)

    def unrelease(made: release.Published) -> None:
        """Forget a release (row and folder) so that the same version can be made again."""
        with db.write() as session:
            session.execute(
                delete(ListReleaseRow).where(ListReleaseRow.version == made.manifest.version)
            )
        shutil.rmtree(made.path)

    def publish() -> release.Published:
        return release.publish(db, root, "bench", secret, "bench")

    full = timed("full release, 4 formats, signed", publish, args.repeat, unrelease)
    sizes = ", ".join(f"{f.name} {f.bytes / 1e6:.0f} MB" for f in full.manifest.files)
    print(f"  files: {sizes}")
    with db.read() as session:
        ring = signing.keyring(session)
    timed(
        "verify that release (signature + SHA-256 of all)",
        lambda: verify_dir(full.path, ring),
        args.repeat,
    )

    # Change the list: 10k additions and 10k withdrawals, then the JSONL-only release.
    with db.write() as session:
        lists_store.set_config(session, "bench", ListConfig.parse({"formats": ["jsonl"]}))
        first = (
            session.execute(select(HashListEntryRow.id).order_by(HashListEntryRow.id).limit(10_000))
            .scalars()
            .all()
        )
        store.withdraw_entries(session, "bench", first, "benchmark")
    fill(db, 10_000, 2)
    second = timed(
        "full release, JSONL only, signed (+ delta from 1)", publish, args.repeat, unrelease
    )
    made = timed(
        f"delta {full.manifest.version} -> {second.manifest.version} on request, signed",
        lambda: release.delta(db, root, "bench", full.manifest.version, secret),
        args.repeat,
        lambda made: shutil.rmtree(made.path),
    )
    print(f"  delta: +{made.manifest.additions} -{made.manifest.withdrawals}")
    timed("verify the JSONL-only release", lambda: verify_dir(second.path, ring), args.repeat)

    entries_file = full.path / "entries.jsonl"
    timed(
        "floor: sha256sum of the 4-format release's files",
        lambda: subprocess.run(
            ["sha256sum", *[str(full.path / f.name) for f in full.manifest.files]],
            check=True,
            capture_output=True,
        ),
    )
    print("  (sha256sum runs in a child process: its CPU is not counted above)")

    def bare() -> None:
        with (scratch / "bare.jsonl").open("w") as out:
            for line in entries_file.open():
                out.write(json.dumps(json.loads(line)) + "\n")

    timed("floor: stdlib json round trip of entries.jsonl", bare)
    print(load(), flush=True)
    db.dispose()
    if not args.keep:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()

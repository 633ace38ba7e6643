"""Benchmark list releases: write and sign a full release, make a delta, verify a release.

    .venv/bin/python bench/bench_lists.py --entries 2000000

A throwaway SQLite database gets one list of `--entries` synthetic entries (random MD5,
SHA-1, PDQ and derived jurisdiction categories; no media). Then, timed:

1. a full release in every format (JSONL, CSV, VICS JSON, threatexchange), signed;
2. the same with JSONL only (`hotline lists configure --formats jsonl`);
3. after 10,000 additions and 10,000 withdrawals, the delta between the two releases;
4. verifying a release folder (signature, then SHA-256 of every file);
5. for scale, the same bytes hashed by `sha256sum` and written by a bare `json.dumps` loop.

There is no reference library for signed list releases to run beside it (python-threatexchange
has none), so line 5 shows the floor the machine sets.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=2_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()

    from sqlalchemy import select

    from hotline.db import migrate
    from hotline.db.engine import Database
    from hotline.lists import release, signing
    from hotline.lists import store as lists_store
    from hotline.lists.model import ListConfig
    from hotline.lists.verify import verify_dir
    from hotline.matching import store
    from hotline.matching.tables import HashListEntryRow

    scratch = Path(tempfile.mkdtemp(prefix="bench-lists-"))
    secret = b"bench-secret-" + b"x" * 40
    db = Database(f"sqlite:///{scratch / 'bench.db'}")
    migrate.upgrade(db)
    root = scratch / "releases"
    t = time.perf_counter()
    fill(db, args.entries, 1)
    print(f"stored {args.entries:,} entries in {time.perf_counter() - t:.1f}s", flush=True)

    def timed(label: str, fn):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        result = fn()
        print(f"{label:<52} {time.perf_counter() - start:7.2f} s", flush=True)
        return result

    full = timed(
        "full release, 4 formats, signed",
        lambda: release.publish(db, root, "bench", secret, "bench"),
    )
    sizes = ", ".join(f"{f.name} {f.bytes / 1e6:.0f} MB" for f in full.manifest.files)
    print(f"  files: {sizes}")
    with db.read() as session:
        ring = signing.keyring(session)
    timed("verify that release (signature + SHA-256 of all)", lambda: verify_dir(full.path, ring))

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
        "full release, JSONL only, signed (+ delta from 1)",
        lambda: release.publish(db, root, "bench", secret, "bench"),
    )
    made = timed(
        f"delta {full.manifest.version} -> {second.manifest.version} on request, signed",
        lambda: release.delta(db, root, "bench", full.manifest.version, secret),
    )
    print(f"  delta: +{made.manifest.additions} -{made.manifest.withdrawals}")
    timed("verify the JSONL-only release", lambda: verify_dir(second.path, ring))

    entries_file = full.path / "entries.jsonl"
    timed(
        "floor: sha256sum of the 4-format release's files",
        lambda: subprocess.run(
            ["sha256sum", *[str(full.path / f.name) for f in full.manifest.files]],
            check=True,
            capture_output=True,
        ),
    )

    def bare() -> None:
        with (scratch / "bare.jsonl").open("w") as out:
            for line in entries_file.open():
                out.write(json.dumps(json.loads(line)) + "\n")

    timed("floor: stdlib json round trip of entries.jsonl", bare)
    db.dispose()
    if not args.keep:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()

"""Benchmark a hash-manifest import into a taskforce case set (target: 1,000,000 rows <= 60 s).

    .venv/bin/python bench/bench_taskforce_import.py --rows 1000000 [--postgres URL]

Writes a CSV manifest of `--rows` rows (random md5, sha1 and sha256; a share of exact
duplicate rows, `--duplicates`) to a temporary folder, then imports it with
`importer.import_sources` into a throwaway database (SQLite in the temporary folder, or the
PostgreSQL URL given, in a schema of its own): the check pass over every row, then the rows
written `--batch` a transaction, with the known-material step on each batch (against an
empty store). Prints the wall-clock and CPU seconds, rows a second, peak memory, and the load
average before and after: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import secrets
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from hotline.db import migrate
from hotline.db.engine import Database
from hotline.security.audit_keys import chain_key_from, use_key
from hotline.security.permissions import Actor
from hotline.taskforce import importer
from hotline.taskforce.model import Limits


def write_manifest(path: Path, rows: int, duplicates: float, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w") as out:
        out.write("id,md5,sha1,sha256\n")
        last = ""
        for n in range(rows):
            if last and rng.random() < duplicates:
                out.write(f"r{n},{last}\n")
                continue
            md5, sha1 = f"{rng.getrandbits(128):032x}", f"{rng.getrandbits(160):040x}"
            last = f"{md5},{sha1},{rng.getrandbits(256):064x}"
            out.write(f"r{n},{last}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--duplicates", type=float, default=0.01)
    parser.add_argument("--batch", type=int, default=importer.BATCH_ROWS)
    parser.add_argument("--postgres", help="a PostgreSQL URL (a schema of its own is made)")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "manifest.csv"
        started = time.perf_counter()
        write_manifest(manifest, args.rows, args.duplicates)
        size = manifest.stat().st_size
        print(
            f"manifest: {args.rows:,} rows, {size / 1e6:.0f} MB, written in "
            f"{time.perf_counter() - started:.1f} s"
        )
        url = args.postgres or f"sqlite:///{Path(tmp) / 'bench.db'}"
        schema = None
        if args.postgres:
            schema = f"bench_taskforce_{secrets.token_hex(4)}"
            admin = Database(url)
            with admin.write() as s:
                s.execute(text(f"CREATE SCHEMA {schema}"))
            admin.dispose()
            url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
        db = Database(url)
        use_key(db, chain_key_from(b"bench-" + secrets.token_bytes(32)))
        migrate.upgrade(db)
        limits = Limits(10**7, 10**12, 10**9, 200)
        options = importer.Options(limits, batch_rows=args.batch)
        wall, cpu = time.perf_counter(), time.process_time()
        report = importer.import_sources(
            db,
            Actor.operator("bench"),
            "bench",
            [manifest],
            client=None,
            hash_only=True,
            options=options,
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        case = report.case_set
        backend = "postgresql" if args.postgres else "sqlite"
        print(
            f"{backend}: {case.files:,} rows -> {case.items:,} items ({case.duplicates:,} "
            f"duplicates) in {wall:.1f} s wall, {cpu:.1f} s CPU: {case.files / wall:,.0f} rows/s"
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of this process: {peak:.0f} MiB")
        db.dispose()
        if schema is not None:
            admin = Database(args.postgres)
            with admin.write() as s:
                s.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    print(f"load average at end:   {os.getloadavg()}")


if __name__ == "__main__":
    main()

"""Benchmark a hash-manifest import into a taskforce case set (target: 1,000,000 rows <= 60 s).

    .venv/bin/python bench/bench_taskforce_import.py --rows 1000000 [--postgres URL]

Writes a CSV manifest of `--rows` rows (random md5, sha1 and sha256; a share of exact
duplicate rows, `--duplicates`) to a temporary folder, then imports it with
`importer.import_sources` into a throwaway database (SQLite in the temporary folder, or the
PostgreSQL URL given, in a schema of its own): the check pass over every row, then the rows
written `--batch` a transaction, with the known-material step on each batch (against an
empty store). Prints the wall-clock and CPU seconds, rows a second, peak memory, and the load
average before and after: the machine is shared.

With `--families F` the rows also carry PDQ codes (quality 90): a `--singletons` share of
random codes, the rest spread over F near-duplicate families (each code 0-20 bits from its
family's centre, synthetic: no image's). `--known-share S` first imports a hash list holding
the centres of that share of the families, so their members are known material. The import
then clusters what is left, and the run prints the exposure: how many images a grader must
look at per 1,000 files imported (one representative a cluster), after exact duplicates,
known material and clustering.
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

from sqlalchemy import func, select, text

from hotline.db import migrate
from hotline.db.engine import Database
from hotline.lists import actions as lists_actions
from hotline.matching.model import NewEntry
from hotline.security.audit_keys import chain_key_from, use_key
from hotline.security.permissions import Actor
from hotline.taskforce import importer
from hotline.taskforce.model import Limits
from hotline.taskforce.tables import ClusterRow


def family_centres(families: int, seed: int = 11) -> list[int]:
    rng = random.Random(seed)
    return [rng.getrandbits(256) for _ in range(families)]


def _near(rng: random.Random, centre: int) -> int:
    code = centre
    for bit in rng.sample(range(256), rng.randint(0, 20)):
        code ^= 1 << bit
    return code


def write_manifest(
    path: Path,
    rows: int,
    duplicates: float,
    seed: int = 7,
    *,
    families: int = 0,
    singletons: float = 0.2,
) -> None:
    rng = random.Random(seed)
    centres = family_centres(families)
    with path.open("w") as out:
        out.write("id,md5,sha1,sha256" + (",pdq,pdq_quality\n" if families else "\n"))
        last = ""
        for n in range(rows):
            if last and rng.random() < duplicates:
                out.write(f"r{n},{last}\n")
                continue
            md5, sha1 = f"{rng.getrandbits(128):032x}", f"{rng.getrandbits(160):040x}"
            last = f"{md5},{sha1},{rng.getrandbits(256):064x}"
            if families:
                if rng.random() < singletons:
                    code = rng.getrandbits(256)
                else:
                    code = _near(rng, centres[rng.randrange(families)])
                last += f",{code:064x},90"
            out.write(f"r{n},{last}\n")


def add_known_list(db: Database, families: int, share: float) -> int:
    """A hash list holding the centres of the first `share` of the families (category B)."""
    count = int(families * share)
    if not count:
        return 0
    centres = family_centres(families)[:count]
    operator = Actor.operator("bench")
    with db.write() as session:
        lists_actions.create_list(session, operator, "known-bench")
        lists_actions.add_entries(
            session,
            operator,
            "known-bench",
            [NewEntry("B", pdq=f"{c:064x}", pdq_quality=90) for c in centres],
        )
    return count


def clusters_of(db: Database, case_set_id: int) -> int:
    with db.read() as session:
        return int(
            session.scalar(select(func.count()).where(ClusterRow.case_set_id == case_set_id)) or 0
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--duplicates", type=float, default=0.01)
    parser.add_argument("--batch", type=int, default=importer.BATCH_ROWS)
    parser.add_argument("--postgres", help="a PostgreSQL URL (a schema of its own is made)")
    parser.add_argument("--families", type=int, default=0, help="PDQ near-duplicate families")
    parser.add_argument("--singletons", type=float, default=0.2, help="share of random PDQs")
    parser.add_argument("--known-share", type=float, default=0.0, help="families already known")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "manifest.csv"
        started = time.perf_counter()
        write_manifest(
            manifest, args.rows, args.duplicates, families=args.families, singletons=args.singletons
        )
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
        known_centres = add_known_list(db, args.families, args.known_share)
        if known_centres:
            print(f"a hash list of {known_centres:,} family centres (known material)")
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
        if args.families:
            clusters = clusters_of(db, case.id)
            print(
                f"known {case.known:,}, clusters {clusters:,}; exposure: "
                f"{1000 * clusters / case.files:.1f} images to look at per 1,000 files "
                f"(duplicates {1000 * case.duplicates / case.files:.1f}, known "
                f"{1000 * case.known / case.files:.1f}, clustered away "
                f"{1000 * (case.items - case.known - clusters) / case.files:.1f})"
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

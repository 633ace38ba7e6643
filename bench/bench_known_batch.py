"""Benchmark the known-material lookup on a taskforce import's batches.

    .venv/bin/python bench/bench_known_batch.py [--items 10000] [--repeat 7]

A throwaway SQLite database with a hash list of 1,000 PDQ family centres (as
`bench_taskforce_import.py --families 20000 --known-share 0.05` imports first); then
`taskforce.known_step.match` on one batch of `--items` manifest rows (random md5, sha1,
sha256; a PDQ, 80% of them 0-20 bits from a family's centre), `--repeat` times. Prints the
CPU seconds a batch (`time.process_time`: the machine is shared, wall time swings), the hits
and a digest of the answers, which must not change when the lookup is made faster.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import time
from pathlib import Path

from hotline.db import migrate
from hotline.db.engine import Database
from hotline.security.audit_keys import chain_key_from, use_key
from hotline.taskforce import known_step

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_taskforce_import import _near, add_known_list, family_centres

FAMILIES = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{folder}/known.db")
        migrate.upgrade(db)
        use_key(db, chain_key_from(b"bench-known-batch"))
        add_known_list(db, FAMILIES, 0.05)
        rng = random.Random(3)
        centres = family_centres(FAMILIES)
        items = []
        for _ in range(args.items):
            if rng.random() < 0.2:
                code = rng.getrandbits(256)
            else:
                code = _near(rng, centres[rng.randrange(FAMILIES)])
            items.append(
                known_step.Hashes(
                    f"{rng.getrandbits(128):032x}",
                    f"{rng.getrandbits(160):040x}",
                    f"{rng.getrandbits(256):064x}",
                    f"{code:064x}",
                    90,
                )
            )
        with db.read() as session:
            known_step.match(session, items[:10])  # the index loads once
            times = []
            for _ in range(args.repeat):
                start = time.process_time()
                found = known_step.match(session, items)
                times.append(time.process_time() - start)
        digest = hashlib.sha256(repr(found).encode()).hexdigest()[:16]
        db.dispose()
    times.sort()
    print(
        f"known lookup, {args.items:,} rows a batch: CPU best {times[0]:.3f} s, "
        f"median {times[len(times) // 2]:.3f} s; hits {sum(f is not None for f in found):,}; "
        f"answers {digest}"
    )


if __name__ == "__main__":
    main()

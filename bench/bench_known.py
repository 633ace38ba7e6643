"""Benchmark `hotline.known.lookup` (issue 12 item 3): per captured item against N known
hashes, beside the scan it replaced (`grading.service.find_known`, copied below).

    .venv/bin/python bench/bench_known.py --known 2000000 [--batch 20] [--queries 3000]
        [--scan-size 20000]

A throwaway SQLite database gets `--known` known hashes, half finally graded media items
(written straight into media_items, numbered by the 0016 trigger as grading would leave them)
and half entries of one imported hash list. PDQ codes come in near-duplicate families
(clustered data: 8 codes within a few bits of a centre), the rest of the hashes are random:
nothing here is any real image's. Timed, on that database:

- the first lookup (loads the index from the database);
- `--queries` items looked up in batches of `--batch` (a captured page): a third exact hits,
  a third PDQ near-duplicates (up to 24 bits from a known code), a third misses; per item,
  refresh poll included (each batch first brings the index up to date);
- the refresh poll alone (nothing changed), and a lookup right after a grade commits.

Then the old scan: `--scan-size` graded items in a second database, the old `find_known`
per item against the index's lookup on the same data; the scan grows linearly, so its cost
at `--known` is extrapolated. The load average is printed: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hotline import known
from hotline.db import migrate
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.grading import service
from hotline.grading.model import parse_grade
from hotline.grading.tables import MediaItemRow
from hotline.known import KnownHashes
from hotline.known.index import index_for
from hotline.matching import store
from hotline.matching.model import NewEntry
from hotline.security import users
from hotline.security.audit_keys import chain_key_from, use_default_key

SECRET = b"bench-known-secret-bench-known-secret-bench-known"
GRADE = json.dumps({"age_band": "11-13", "category": "B"}, sort_keys=True)
FAMILY = 8


def hexes(rng: np.random.Generator, n: int, width: int) -> list[str]:
    raw = rng.integers(0, 256, (n, width), dtype=np.uint8)
    return [row.tobytes().hex() for row in raw]


def pdq_families(rng: np.random.Generator, n: int) -> list[str]:
    """n codes in families of FAMILY: a random centre, members a few bits from it."""
    centres = rng.integers(0, 256, (n // FAMILY + 1, 32), dtype=np.uint8)
    codes = np.repeat(centres, FAMILY, axis=0)[:n]
    bits = rng.random((n, 256)) < 4 / 256  # ~4 bits flipped per member
    codes ^= np.packbits(bits, axis=1)
    return [row.tobytes().hex() for row in codes]


def flip(code: str, rng: np.random.Generator, bits: int) -> str:
    value = int(code, 16)
    for position in rng.choice(256, bits, replace=False):
        value ^= 1 << int(position)
    return f"{value:064x}"


def fill_graded(db: Database, rng: np.random.Generator, n: int, chunk: int = 100_000) -> list:
    """n finally graded items; returns their (sha256, pdq) for the queries."""
    kept: list[tuple[str, str]] = []
    now = utcnow()
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        md5s, sha1s, sha256s = hexes(rng, size, 16), hexes(rng, size, 20), hexes(rng, size, 32)
        pdqs = pdq_families(rng, size)
        rows = [
            {
                "source_url": "https://example.com/known.jpg",
                "kind": "image",
                "md5": md5s[i],
                "sha1": sha1s[i],
                "sha256": sha256s[i],
                "pdq": pdqs[i],
                "pdq_quality": 90,
                "byte_count": 1000,
                "status": "agreed",
                "stored": False,
                "final_grade": GRADE,
                "qa_sampled": False,
                "decided_at": now,
                "created_at": now,
            }
            for i in range(size)
        ]
        with db.write() as session:
            session.execute(insert(MediaItemRow), rows)
        kept.extend(zip(sha256s[:1000], pdqs[:1000], strict=True))
    return kept


def fill_list(db: Database, rng: np.random.Generator, n: int, chunk: int = 100_000) -> list:
    kept: list[tuple[str, str]] = []
    with db.write() as session:
        store.create_list(session, "partner")
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        md5s, pdqs = hexes(rng, size, 16), pdq_families(rng, size)
        entries = [
            NewEntry("vics-1", md5=md5s[i], pdq=pdqs[i], pdq_quality=80) for i in range(size)
        ]
        with db.write() as session:
            store.add_entries(session, "partner", entries)
        kept.extend(zip(md5s[:1000], pdqs[:1000], strict=True))
    return kept


def queries(rng: np.random.Generator, graded: list, listed: list, count: int) -> list[KnownHashes]:
    out: list[KnownHashes] = []
    for i in range(count):
        kind = i % 3
        source = graded if (i // 3) % 2 == 0 or not listed else listed
        digest, pdq = source[int(rng.integers(len(source)))]
        fresh = hexes(rng, 1, 32)[0]
        if kind == 0:  # the same bytes
            out.append(KnownHashes(sha256=digest) if source is graded else KnownHashes(md5=digest))
        elif kind == 1:  # a near-duplicate
            near = flip(pdq, rng, int(rng.integers(1, 25)))
            out.append(KnownHashes(sha256=fresh, pdq=near, pdq_quality=90))
        else:  # unknown
            out.append(KnownHashes(sha256=fresh, pdq=hexes(rng, 1, 32)[0], pdq_quality=90))
    return out


def timed_lookups(db: Database, items: list[KnownHashes], batch: int) -> tuple[float, float, int]:
    """Wall and CPU milliseconds per item, and how many were known."""
    found = 0
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(items), batch):
        with db.read() as session:
            found += sum(m is not None for m in known.lookup(session, items[start : start + batch]))
    per = 1000 / len(items)
    return (time.perf_counter() - started) * per, (time.process_time() - cpu) * per, found


# -- the scan `hotline.known` replaced (grading.service.find_known before issue 12) ---------


def old_find_known(session: Session, sha256: str, pdq: str | None, quality: int | None) -> bool:
    final = [s.value for s in service.FINAL]
    exact = session.execute(
        select(MediaItemRow.id)
        .where(MediaItemRow.sha256 == sha256, MediaItemRow.status.in_(final))
        .order_by(MediaItemRow.id)
        .limit(1)
    ).scalar_one_or_none()
    if exact is not None:
        return True
    if not pdq or (quality or 0) < 50:
        return False
    candidates = session.execute(
        select(MediaItemRow.id, MediaItemRow.pdq).where(
            MediaItemRow.status.in_(final),
            MediaItemRow.pdq.is_not(None),
            MediaItemRow.pdq_quality >= 50,
        )
    ).all()
    best = min(
        (((int(pdq, 16) ^ int(p, 16)).bit_count(), i) for i, p in candidates if p),
        default=None,
    )
    return best is not None and best[0] <= 31


def database(folder: Path, name: str) -> Database:
    db = Database(f"sqlite:///{folder / name}")
    migrate.upgrade(db)
    return db


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--known", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--scan-size", type=int, default=20_000)
    parser.add_argument("--scan-queries", type=int, default=60)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    use_default_key(chain_key_from(SECRET))
    rng = np.random.default_rng(12)
    folder = Path(tempfile.mkdtemp())

    db = database(folder, "known.db")
    started = time.perf_counter()
    graded = fill_graded(db, rng, args.known // 2)
    listed = fill_list(db, rng, args.known - args.known // 2)
    print(f"filled {args.known:,} known hashes in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    with db.read() as session:
        known.lookup(session, [KnownHashes(sha256="0" * 64)])
    print(f"first lookup (loads the index): {time.perf_counter() - started:.1f} s")
    items = queries(rng, graded, listed, args.queries)
    wall, cpu, found = timed_lookups(db, items, args.batch)
    print(
        f"lookup: {wall:.3f} ms wall, {cpu:.3f} ms CPU per item in batches of {args.batch} "
        f"({found} of {len(items)} known), refresh included"
    )
    wall, cpu, _ = timed_lookups(db, items[:600], 1)
    print(f"lookup one item at a time: {wall:.3f} ms wall, {cpu:.3f} ms CPU per item")
    with db.read() as session:
        index = index_for(session)
    started, spent = time.perf_counter(), time.process_time()
    for _ in range(200):
        index.refresh()
    print(
        f"refresh poll, nothing changed: {(time.perf_counter() - started) * 5:.3f} ms wall, "
        f"{(time.process_time() - spent) * 5:.3f} ms CPU"
    )
    with db.write() as session:
        people = [
            users.create_user(session, f"g{i}", "a long enough password", ["analyst"]).id
            for i in (1, 2)
        ]
        fresh = service.register_media(
            session,
            url_id=None,
            source_url="https://example.com/new.jpg",
            kind="image",
            hashes=service.MediaHashesIn("a" * 32, "a" * 40, "a" * 64, "a" * 64, 90),
            byte_count=10,
            stored=False,
            purge_after=None,
        )
        for person in people:
            service.submit_grade(
                session,
                fresh.id,
                person,
                parse_grade({"category": "C", "age_band": "14-15"}),
                required=2,
                qa_share=0,
            )
    started = time.perf_counter()
    with db.read() as session:
        (match,) = known.lookup(session, [KnownHashes(sha256="a" * 64)])
    took = (time.perf_counter() - started) * 1000
    print(f"lookup right after a grade commits: {took:.2f} ms, found: {match is not None}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss:.0f} MB")
    db.dispose()

    small = database(folder, "scan.db")
    sample = fill_graded(small, rng, args.scan_size)
    items = queries(rng, sample, [], args.scan_queries)
    started, spent = time.perf_counter(), time.process_time()
    with small.read() as session:
        for item in items:
            old_find_known(session, item.sha256 or "", item.pdq, item.pdq_quality)
    scan = (time.perf_counter() - started) / len(items) * 1000
    scan_cpu = (time.process_time() - spent) / len(items) * 1000
    with small.read() as session:
        known.lookup(session, [KnownHashes(sha256="0" * 64)])  # load outside the timing
    new, new_cpu, _ = timed_lookups(small, items, 1)
    print(
        f"at {args.scan_size:,} graded items: old scan {scan:.1f} ms wall, {scan_cpu:.1f} ms "
        f"CPU per item; lookup {new:.3f} ms wall, {new_cpu:.3f} ms CPU (one at a time); "
        f"the scan at {args.known:,}: ~{scan_cpu * args.known / args.scan_size / 1000:.1f} s "
        "of CPU per item"
    )
    print(f"load average {os.getloadavg()[0]:.1f}")
    small.dispose()


if __name__ == "__main__":
    main()

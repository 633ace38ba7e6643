"""Benchmark the audit chain: appends, a full verify, and an append while the staff page walks.

    .venv/bin/python bench/bench_audit.py --rows 200000
    .venv/bin/python bench/bench_audit.py --rows 200000 --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

A throwaway database (SQLite in a temporary folder, or a scratch schema on `--postgres`,
dropped after) is filled with `--rows` entries through `audit.record_many` in groups of 1,000
(the match API's writer appends this way). Then:

1. per row, the hash alone: the old unkeyed SHA-256 over \\x1f-joined fields, and the keyed
   HMAC over a JSON array (what an append now computes);
2. `record_many` of 1,000 entries (one transaction), median of `--repeat`;
3. `hotline audit verify`'s walk of the whole chain (`audit.verify`);
4. the staff page's first visit (a full walk, nothing verified yet) with an audited write made
   from another thread as soon as the walk starts: how long that write took, and the visit;
   then a second visit (incremental: only the rows since).

With `--without-search-indexes` the staff audit search's three indexes (migration 0025:
actor, object id and action, each with the sequence number) are dropped after migrating, so two
runs show what they cost an audited write (issue 14.1). Step 2 then also times single audited
writes (`audit.record` in its own transaction, median of 50).

The issue this answers: the old page walked the chain holding the append lock, and at
200,000 rows another audited write waited 4.2 s.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from hotline.db import migrate
from hotline.db.engine import Database
from hotline.security import audit
from hotline.security.audit_keys import chain_key_from, use_key

GROUP = 1000
SEARCH_INDEXES = ("ix_audit_log_actor_seq", "ix_audit_log_object_seq", "ix_audit_log_action_seq")


@contextmanager
def database(postgres: str, tmp: str) -> Iterator[Database]:
    if not postgres:
        db = Database(f"sqlite:///{tmp}/bench.db")
        migrate.upgrade(db)
        yield db
        db.dispose()
        return
    schema = f"bench_{secrets.token_hex(4)}"
    admin = Database(postgres)
    with admin.writer.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in postgres else "?"
    db = Database(f"{postgres}{sep}options=-csearch_path%3D{schema}")
    try:
        migrate.upgrade(db)
        yield db
    finally:
        db.dispose()
        with admin.writer.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def entries(n: int, tag: str) -> list[audit.NewEntry]:
    return [
        audit.NewEntry("member:42", "match.request", "hash", f"{tag}{i}", {"n": i})
        for i in range(n)
    ]


def hash_costs(n: int = 100_000) -> tuple[float, float]:
    """Microseconds a row for the old and the new row hash."""
    at = datetime.now(UTC)
    fields: Any = ("0" * 64, 1, at, "member:42", "match.request", "hash", "h1", '{"n":1}')
    started = time.perf_counter()
    for _ in range(n):
        audit._legacy_hash(*fields)
    old = (time.perf_counter() - started) / n * 1e6
    mac = audit._mac(os.urandom(32))
    started = time.perf_counter()
    for _ in range(n):
        audit._keyed_hash(mac, *fields)
    new = (time.perf_counter() - started) / n * 1e6
    return old, new


def fill(db: Database, rows: int) -> None:
    for start in range(0, rows, GROUP):
        with db.write() as session:
            audit.record_many(session.connection(), entries(min(GROUP, rows - start), "f"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL (scratch schema)")
    parser.add_argument(
        "--without-search-indexes",
        action="store_true",
        help="drop the audit search's indexes (migration 0025) to measure what they cost",
    )
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    old, new = hash_costs()
    print(f"row hash: old unkeyed SHA-256 {old:.2f} µs, keyed HMAC over JSON {new:.2f} µs")
    with tempfile.TemporaryDirectory() as tmp, database(args.postgres, tmp) as db:
        use_key(db, chain_key_from(secrets.token_bytes(32)))
        if args.without_search_indexes:
            with db.write() as session:
                for name in SEARCH_INDEXES:
                    session.execute(text(f"DROP INDEX {name}"))
        print("audit search indexes:", "dropped" if args.without_search_indexes else "present")
        started = time.perf_counter()
        fill(db, args.rows)
        print(f"filled {args.rows} rows in {time.perf_counter() - started:.1f} s")
        times = []
        for r in range(args.repeat):
            started = time.perf_counter()
            with db.write() as session:
                audit.record_many(session.connection(), entries(GROUP, f"r{r}-"))
            times.append(time.perf_counter() - started)
        print(
            f"record_many({GROUP}): median {statistics.median(times) * 1000:.1f} ms, "
            f"best {min(times) * 1000:.1f} ms"
        )
        singles = []
        for r in range(50):
            started = time.perf_counter()
            with db.write() as session:
                audit.record(session, "analyst1", "report.view", "report", f"single{r}")
            singles.append(time.perf_counter() - started)
        print(f"one audited write: median {statistics.median(singles) * 1000:.2f} ms")
        started = time.perf_counter()
        with db.read() as session:
            result = audit.verify(session)
        assert result.ok, result.problem
        print(f"full verify of {result.rows_checked} rows: {time.perf_counter() - started:.2f} s")

        # The page's first visit: a full walk from row 1, and a write made meanwhile.
        walking = threading.Event()
        original = audit._rows

        def signalling_rows(*a: Any, **k: Any) -> Iterator[Any]:
            walking.set()
            yield from original(*a, **k)

        audit._rows = signalling_rows
        write_took: list[float] = []

        def writer() -> None:
            walking.wait()
            started = time.perf_counter()
            with db.write() as session:
                audit.record(session, "analyst1", "report.view", "report", "during")
            write_took.append(time.perf_counter() - started)

        thread = threading.Thread(target=writer)
        thread.start()
        started = time.perf_counter()
        with db.read() as session:
            result = audit.verify(session, start=audit.last_verified(session))
        walk = time.perf_counter() - started
        thread.join()
        audit._rows = original
        with db.write() as session:
            audit.mark_verified(session, result.last_seq, result.head_hash)
        print(
            f"page, first visit: walk of {result.rows_checked} rows {walk:.2f} s; an audited "
            f"write made during it took {write_took[0] * 1000:.1f} ms"
        )
        # For comparison, what the page did before: the walk inside the transaction that
        # appended its view, so holding the head row's lock throughout.
        walking.clear()
        audit._rows = signalling_rows
        write_took.clear()
        thread = threading.Thread(target=writer)
        started = time.perf_counter()
        with db.write() as session:
            audit.record(session, "analyst1", "audit.view", "audit_log", "*")
            thread.start()
            audit.verify(session)
        walk = time.perf_counter() - started
        thread.join()
        audit._rows = original
        print(
            f"page as before (walk under the append lock): {walk:.2f} s; the audited write "
            f"made during it took {write_took[0] * 1000:.1f} ms"
        )
        with db.read() as session:
            result = audit.verify(session)
        with db.write() as session:
            audit.mark_verified(session, result.last_seq, result.head_hash)
            audit.record_many(session.connection(), entries(100, "after"))
        started = time.perf_counter()
        with db.read() as session:
            result = audit.verify(session, start=audit.last_verified(session))
        print(
            f"page, next visit: {result.rows_checked} new rows verified in "
            f"{(time.perf_counter() - started) * 1000:.1f} ms"
        )
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()

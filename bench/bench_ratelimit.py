"""Per-hit cost of the in-memory rate limiter with many live clients.

    .venv/bin/python bench/bench_ratelimit.py --clients 100000 --hits 200000

Fills the limiter with `--clients` distinct clients (one hit each, all inside the window),
then times `--hits` further hits: new clients arriving while the oldest leave the window (the
steady state of a flood of one-time addresses, where the old limiter scanned every client
under its lock on each hit), and a known client's repeat hits. Prints microseconds per hit and
how many clients were live at the end. With `--database URL` it times the shared database
counter instead (one upsert a hit; e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test,
in a scratch schema dropped after).
"""

from __future__ import annotations

import argparse
import secrets
import time

from hotline.security.ratelimit import MemoryCounter, RateLimiter

SECRET = b"bench-rate-limit-" + b"k" * 30


def bench_memory(clients: int, hits: int, window: int) -> None:
    counter = MemoryCounter()
    limiter = RateLimiter(SECRET, limit=5, window_seconds=window, counter=counter)
    # `clients` hits spread over one window, so each new hit lets about one old client go.
    step = window / clients
    t0 = time.perf_counter()
    for i in range(clients):
        limiter.hit(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", now=i * step)
    fill = time.perf_counter() - t0
    print(f"filled {len(counter):,} clients in {fill:.2f}s ({fill / clients * 1e6:.2f} us a hit)")
    now = clients * step
    t0 = time.perf_counter()
    for j in range(hits):
        limiter.hit(f"2001:db8:{j >> 16 & 0xFFFF:x}:{j & 0xFFFF:x}::1", now=now + j * step)
    churn = time.perf_counter() - t0
    print(
        f"new clients while old ones leave: {churn / hits * 1e6:.2f} us a hit "
        f"({len(counter):,} clients live at the end)"
    )
    # The counter alone (keys computed beforehand): the part that used to scan every client.
    keys = [f"{j:032x}" for j in range(hits)]
    base = now + hits * step
    t0 = time.perf_counter()
    for j, key in enumerate(keys):
        counter.add(key, 5, window, base + j * step)
    alone = time.perf_counter() - t0
    print(
        f"the counter alone, same churn: {alone / hits * 1e6:.2f} us a hit "
        f"({len(counter):,} clients live at the end)"
    )
    t0 = time.perf_counter()
    end = base + hits * step
    for _ in range(hits):
        limiter.hit("203.0.113.7", now=end)
    repeat = time.perf_counter() - t0
    print(f"one client's repeated hits: {repeat / hits * 1e6:.2f} us a hit")


def bench_database(url: str, hits: int) -> None:
    from sqlalchemy import text

    from hotline.db import migrate
    from hotline.db.engine import Database
    from hotline.security.ratelimit_shared import DatabaseCounter

    schema = f"bench_{secrets.token_hex(4)}"
    admin = Database(url)
    with admin.writer.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in url else "?"
    db = Database(f"{url}{sep}options=-csearch_path%3D{schema}")
    try:
        migrate.upgrade(db)
        limiter = RateLimiter(SECRET, 5, 60, counter=DatabaseCounter(db, "bench"))
        t0 = time.perf_counter()
        for j in range(hits):
            limiter.hit(f"2001:db8:{j >> 16 & 0xFFFF:x}:{j & 0xFFFF:x}::1")
        took = time.perf_counter() - t0
        print(f"database counter: {took / hits * 1e6:.0f} us a hit ({hits:,} hits, one thread)")
    finally:
        db.dispose()
        with admin.writer.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--hits", type=int, default=200_000)
    parser.add_argument("--window", type=int, default=600)
    parser.add_argument("--database", default="", help="time the database counter at this URL")
    args = parser.parse_args()
    if args.database:
        bench_database(args.database, min(args.hits, 20_000))
    else:
        bench_memory(args.clients, args.hits, args.window)


if __name__ == "__main__":
    main()

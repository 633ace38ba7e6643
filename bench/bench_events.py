"""Benchmark events on the jobs table: what one event costs the decision that emits it, and
what the worker spends fanning it out and running its handlers.

    .venv/bin/python bench/bench_events.py --events 2000 --handlers 2 [--postgres URL]

A throwaway database (SQLite in a temporary folder, or the PostgreSQL URL given, in a schema
of its own) gets `--handlers` no-op handlers on one event. Timed:

1. emit: `--events` decisions, one transaction each, each recording one event (what a verdict
   pays for its reactions);
2. fan-out: one worker turning every event into one job per handler;
3. handlers: one worker running every handler job (each completes in its own transaction).

Each line gives wall-clock seconds, CPU seconds of this process, and the rate. The load
average is printed at the start and the end: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from hotline.config import load_settings
from hotline.db import migrate
from hotline.db.engine import Database
from hotline.jobs import events
from hotline.jobs.worker import JobContext, Worker

EVENT = "bench.happened"


def _timed(label: str, count: int, fn: Callable[[], object]) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<10} {count:>7} in {wall:7.2f} s wall, {cpu:7.2f} s CPU: {count / wall:8.0f}/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--handlers", type=int, default=2)
    parser.add_argument("--postgres", help="a PostgreSQL URL (a schema of its own is made)")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")

    events.EVENTS[EVENT] = "bench: a decision. {n}"
    for i in range(args.handlers):

        def handler(ctx: JobContext) -> None:
            return None  # the worker completes the job in its own transaction

        events.on(EVENT, kind=f"bench.h{i}")(handler)
    events.mark_wired()
    kinds = frozenset({"event"} | {f"bench.h{i}" for i in range(args.handlers)})

    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite:///{Path(tmp) / 'bench.db'}"
        schema = None
        if args.postgres:
            schema = f"bench_events_{secrets.token_hex(4)}"
            admin = Database(url)
            with admin.write() as s:
                s.execute(text(f"CREATE SCHEMA {schema}"))
            admin.dispose()
            url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
        db = Database(url)
        migrate.upgrade(db)
        settings = load_settings(
            mode="development", data_dir=Path(tmp), database_url=url, secret_key="x" * 48
        )

        def emit_all() -> None:
            for n in range(args.events):
                with db.write() as s:
                    events.emit(s, EVENT, {"n": n})

        worker = Worker(db, settings, kinds=frozenset({"event"}))
        _timed("emit", args.events, emit_all)
        _timed("fan-out", args.events, worker.run_until_idle)
        worker = Worker(db, settings, kinds=kinds)
        _timed("handlers", args.events * args.handlers, worker.run_until_idle)
        db.dispose()
        if schema is not None:
            admin = Database(args.postgres)
            with admin.write() as s:
                s.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    print(f"load average at end:   {os.getloadavg()}")


if __name__ == "__main__":
    main()

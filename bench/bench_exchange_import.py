"""Benchmark an exchange import: N entries served by a loopback server in StopNCII's
FetchHashes shape, fetched through python-threatexchange's own StopNCII client (as
`hotline lists feed fetch` does) into a hash list in the database.

    .venv/bin/python bench/bench_exchange_import.py --entries 1000000
    .venv/bin/python bench/bench_exchange_import.py --entries 1000000 --postgres URL

Target (issue 13): 1,000,000 entries in at most 120 s.

Lines printed, each with wall-clock seconds and this process's CPU seconds (the server
runs in a thread of this process, so its work is counted too):

1. reference: threatexchange's own fetch loop alone (`fetch_iter` over every page, merged
   into a dict with `naive_fetch_merge`, as its CLI keeps state), no database;
2. hotline: `feed_actions.fetch_feed` from an empty checkpoint: the same client, every
   record checked, entries, provenance and checkpoints committed every 10,000 records;
3. hotline again, from the stored checkpoint (the last page comes again; nothing new).

The records are random PDQ hashes (hashes of nothing). StopNCII's client asks for 800
records a page, so 1,000,000 entries are 1,250 requests. The load average is printed at the
start and the end: the machine is shared.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FUNCTION_KEY, SUBSCRIPTION_KEY = "bench-function-key", "bench-subscription-key"
T0 = 1_700_000_000


class Records:
    """N StopNCII hash records, 100 to a timestamp, served in pages from a sorted list."""

    def __init__(self, n: int) -> None:
        self.items = [
            {
                "lastModtimestamp": T0 + i // 100,
                "signalType": "ImagePDQ",
                "hashValue": secrets.token_hex(32),
                "hashStatus": "Active",
                "caseNumbers": {},
                "CSPFeedbacks": [],
            }
            for i in range(n)
        ]

        self.cache: dict[tuple[int, int, int], bytes] = {}

    def warm(self, size: int = 800) -> None:
        """Encode the pages of a first fetch ahead (untimed): the server's JSON work would
        otherwise be counted against the client and hotline in this one process."""
        for offset in range(0, len(self.items), size):
            self.cache[10, size, offset] = self.page(10, size, offset)

    def page(self, start_ts: int, size: int, offset: int) -> bytes:
        cached = self.cache.get((start_ts, size, offset))
        if cached is not None:
            return cached
        first = max(0, (start_ts - T0) * 100)
        chosen = self.items[first + offset : first + offset + size]
        more = first + offset + size < len(self.items)
        return json.dumps(
            {
                "count": len(chosen),
                "nextPageToken": str(offset + size) if more else None,
                "nextSetTimestamp": chosen[-1]["lastModtimestamp"] if chosen else start_ts,
                "hasMoreRecords": more,
                "hashRecords": chosen,
            }
        ).encode()


def serve(records: Records) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if self.headers.get("x-functions-key") != FUNCTION_KEY:
                body, status = b"{}", 401
            else:
                body, status = (
                    records.page(
                        int(query.get("startTimestamp", "0")),
                        int(query.get("pageSize", "800")),
                        int(query.get("nextPageToken") or "0"),
                    ),
                    200,
                )
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/stopncii"


def timed(label: str, fn: Callable[[], Any]) -> Any:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    print(
        f"{label:<58} {time.perf_counter() - wall:8.1f} s wall "
        f"{time.process_time() - cpu:8.1f} s cpu",
        flush=True,
    )
    return result


def reference(base: str) -> int:
    """threatexchange's fetch loop alone: the client's pages merged into a dict."""
    from threatexchange.exchanges.clients.stopncii.api import StopNCIIAPI
    from threatexchange.exchanges.collab_config import CollaborationConfigBase
    from threatexchange.exchanges.impl.stop_ncii_api import StopNCIISignalExchangeAPI

    api = StopNCIISignalExchangeAPI(
        CollaborationConfigBase("bench", "stopncii", True),
        StopNCIIAPI(SUBSCRIPTION_KEY, FUNCTION_KEY, base_url_override=base),
    )
    state: dict[Any, Any] = {}
    for delta in api.fetch_iter([], None):
        api.naive_fetch_merge(state, delta.updates)
    return len(state)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument(
        "--postgres", help="a PostgreSQL database of its own: its public schema is dropped first"
    )
    args = parser.parse_args()

    from hotline.assess.fetcher import FetchPolicy
    from hotline.db.engine import Database
    from hotline.db.migrate import upgrade
    from hotline.lists import feed_actions
    from hotline.security.audit_keys import chain_key_from, use_key
    from hotline.security.permissions import Actor

    print(f"load average at start: {os.getloadavg()}")
    records = timed(f"make {args.entries:,} records", lambda: Records(args.entries))
    timed("encode the pages (the server's work, ahead)", records.warm)
    # The served records are scaffolding that lives for the whole run: keep the cyclic
    # collector off them (as the web app does for what lives as long as the process).
    gc.collect()
    gc.freeze()
    server, base = serve(records)
    os.environ["TX_STOPNCII_KEYS"] = f"{FUNCTION_KEY},{SUBSCRIPTION_KEY}"
    count = timed("1. reference: threatexchange fetch_iter into a dict", lambda: reference(base))
    assert count == args.entries, count

    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url)
        if args.postgres:
            with db.writer.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        upgrade(db)
        use_key(db, chain_key_from(secrets.token_bytes(32)))
        operator = Actor.operator("bench")
        policy = FetchPolicy(allow_networks=("127.0.0.0/8",))
        with db.write() as session:
            feed_actions.add_feed(
                session,
                operator,
                "bench",
                "stopncii",
                "bench-list",
                create_list=True,
                base_url=base,
            )
        label = f"2. hotline: fetch into {'PostgreSQL' if args.postgres else 'SQLite'}"
        first = timed(label, lambda: feed_actions.fetch_feed(db, operator, "bench", policy))
        assert first.error is None and first.added == args.entries, first
        again = timed(
            "3. hotline: fetch again from the checkpoint",
            lambda: feed_actions.fetch_feed(db, operator, "bench", policy),
        )
        assert again.error is None and again.added == 0, again
        print(
            f"   first: {first.pages} pages, {first.added:,} added; "
            f"again: {again.pages} page(s), {again.unchanged} unchanged"
        )
        db.dispose()
    server.shutdown()
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()

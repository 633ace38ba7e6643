"""Benchmark POST /api/v1/match over HTTP: hash lookups a second and latency.

    .venv/bin/python bench/bench_match_api.py --entries 100000 --seconds 10 --concurrency 1,8

A throwaway SQLite database gets one list of `--entries` synthetic entries (a random PDQ
hash and a random MD5 each; no media at all) and a member key. The app runs under uvicorn
on 127.0.0.1 in a child process (uvloop and httptools, built by the same factory as
`hotline serve --workers N` uses, with `--workers` web processes, default 1); this process
drives it with `--concurrency` keep-alive connections for `--seconds` per
scenario, loopback only. Queries are half near-duplicates of stored entries (0-31 bits
flipped, or the exact MD5) and half random (no match). Every request is a full call: key
check in the database, rate limit, search, and its audit record committed (group commit)
before the answer.

Scenarios (`--scenarios`, TYPE:BATCH, comma-separated): by default one PDQ hash a request,
one MD5 a request, and batches of 10, 20, 100 and 1,000 PDQ hashes; `live` is
`GET /healthz/live`, the HTTP stack alone, for comparison. Prints, per scenario and
client count, requests/s, hash lookups/s, p50/p99 request latency, the server processes'
CPU time (user + system, every web process) per request, the load generator's own CPU per
request, and the 1-minute load average when the row ended: the server and the load share
the machine's cores.

The load comes from a minimal HTTP/1.1 client on asyncio streams (`--client raw`, the
default: pre-built requests, responses read by Content-Length, about a tenth of httpx's CPU
per request) or from httpx (`--client httpx`, as earlier runs did), so that on a small
machine the load generator takes as little as it can of the CPU the server is measured on.
`--repeat N` runs every row N times.

Before the load it prints how long the server took to say ready (`/healthz/ready`: start-up
includes compiling the kernels, or loading them from numba's cache) and "first call after
start: X ms" (one PDQ hash; that call also loads the list from the database). `--cold`
empties numba's cache for the server, as on a fresh install; `--skip-warm-up` leaves the
compiling to the first call, as before the warm-up; `--scenarios none` stops there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

DEFAULT_SCENARIOS = "pdq:1,md5:1,pdq:10,pdq:20,pdq:100,pdq:1000"

SEED = 20261125
MAX_DISTANCE = 31


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def random_hex(rng: np.random.Generator, n: int, nbytes: int) -> list[str]:
    raw = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    return [bytes(row).hex() for row in raw]


def flip(hex_hash: str, bits: int, rng: np.random.Generator) -> str:
    value = int(hex_hash, 16)
    for bit in rng.choice(256, bits, replace=False):
        value ^= 1 << int(bit)
    return f"{value:064x}"


# ---- set-up and the server (child process) ------------------------------------------------


def prepare(url: str, entries: int) -> dict[str, Any]:
    """Create and fill the database; returns the key and a sample of stored hashes."""
    from hotline.db import migrate
    from hotline.db.engine import Database
    from hotline.matching import store
    from hotline.matching.model import NewEntry

    db = Database(url)
    migrate.upgrade(db)
    rng = np.random.default_rng(SEED)
    pdqs = random_hex(rng, entries, 32)
    md5s = random_hex(rng, entries, 16)
    started = time.perf_counter()
    with db.write() as session:
        store.create_list(session, "bench", "synthetic entries")
        for start in range(0, entries, 50_000):
            chunk = [
                NewEntry("A", md5=md5s[i], pdq=pdqs[i], pdq_quality=100)
                for i in range(start, min(start + 50_000, entries))
            ]
            store.add_entries(session, "bench", chunk)
        store.create_member(session, "bench-member")
        issued, _ = store.create_key(session, "bench-member", ["bench"])
    db.dispose()
    print(f"stored {entries:,} entries in {time.perf_counter() - started:.1f}s", flush=True)
    sample = rng.choice(entries, min(entries, 5000), replace=False)
    return {
        "url": url,
        "key": issued.key,
        "pdq": [pdqs[i] for i in sample],
        "md5": [md5s[i] for i in sample],
    }


@contextmanager
def database(postgres: str, tmp: str) -> Iterator[str]:
    """A throwaway database: SQLite in `tmp`, or a scratch schema on `postgres`, dropped after."""
    if not postgres:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    from sqlalchemy import text

    from hotline.db.engine import Database

    schema = f"bench_{secrets.token_hex(4)}"
    admin = Database(postgres)
    with admin.writer.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in postgres else "?"
    try:
        yield f"{postgres}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.writer.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def serve(database_url: str, port: int, data_dir: str, workers: int) -> None:
    """The app as `hotline serve [--workers N]` runs it: settings from the environment, the
    factory in each web process."""
    import uvicorn

    os.environ.update(
        {
            "HOTLINE_MODE": "development",
            "HOTLINE_DATA_DIR": data_dir,
            "HOTLINE_DATABASE_URL": database_url,
            "HOTLINE_SECRET_KEY": secrets.token_urlsafe(48),
            "HOTLINE_LOG_LEVEL": "warning",
            "HOTLINE_WORKER_IN_PROCESS": "false",
            # The benchmark measures throughput, not the limiter: lift it out of the way.
            "HOTLINE_MATCH_RATE_LIMIT": "100000000",
            "HOTLINE_MATCH_RATE_WINDOW_SECONDS": "1",
        }
    )
    if os.environ.get("BENCH_SKIP_WARM_UP"):  # the "before" figure: kernels compile on call
        from hotline.web import warm_up

        warm_up.KERNELS = warm_up.WarmUp(lambda: None)
    uvicorn.run(
        "hotline.web.app:app_from_environment",
        factory=True,
        workers=workers if workers > 1 else None,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


# ---- the load (this process) ------------------------------------------------------------------


def make_bodies(kind: str, batch: int, data: dict[str, Any], n: int) -> list[bytes]:
    """n request bodies: half near-duplicates of stored hashes, half random."""
    rng = np.random.default_rng(SEED + batch + len(kind))
    bodies = []
    for _ in range(n):
        hashes = []
        for _ in range(batch):
            known = rng.random() < 0.5
            if kind == "pdq":
                value = (
                    flip(data["pdq"][rng.integers(len(data["pdq"]))], int(rng.integers(0, 32)), rng)
                    if known
                    else random_hex(rng, 1, 32)[0]
                )
            else:
                value = (
                    data["md5"][rng.integers(len(data["md5"]))]
                    if known
                    else random_hex(rng, 1, 16)[0]
                )
            hashes.append({"type": kind, "value": value})
        body = {kind: hashes[0]["value"]} if batch == 1 else {"hashes": hashes}
        bodies.append(json.dumps(body).encode())
    return bodies


async def drive_raw(
    port: int, key: str, bodies: list[bytes], seconds: float, concurrency: int
) -> tuple[int, list[float], int]:
    """Keep-alive HTTP/1.1 connections, one request in flight on each."""
    head = (
        f"POST /api/v1/match HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
    )
    requests = [
        head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body for body in bodies
    ]
    expected = b'{"results"'
    if not bodies:  # the `live` scenario: the HTTP stack alone, for comparison
        requests = [f"GET /healthz/live HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()]
        expected = b'{"status"'
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(i: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        n = i
        try:
            while time.perf_counter() < deadline:
                request = requests[n % len(requests)]
                n += concurrency
                t0 = time.perf_counter()
                writer.write(request)
                header = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in header.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                if header[9:12] != b"200" or not body.startswith(expected):
                    errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return len(latencies), latencies, errors


async def drive(
    base: str, key: str, bodies: list[bytes], seconds: float, concurrency: int
) -> tuple[int, list[float], int]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(i: int, client: httpx.AsyncClient) -> None:
        nonlocal errors
        n = i
        while time.perf_counter() < deadline:
            body = bodies[n % len(bodies)]
            n += concurrency
            t0 = time.perf_counter()
            response = await client.post(f"{base}/api/v1/match", content=body, headers=headers)
            latencies.append(time.perf_counter() - t0)
            if response.status_code != 200:
                errors += 1

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(i, client) for i in range(concurrency)))
    return len(latencies), latencies, errors


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its children (the web processes of
    `--workers`), from Linux /proc."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid_text, rest = stat.read_text().split(" (", 1)
        except OSError:  # gone meanwhile
            continue
        fields = rest.rsplit(")", 1)[1].split()
        if int(pid_text) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="per scenario")
    parser.add_argument(
        "--concurrency", default="1,8", help="comma-separated client counts to run each at"
    )
    parser.add_argument(
        "--scenarios",
        default=DEFAULT_SCENARIOS,
        help="comma-separated TYPE:BATCH (pdq or md5), or live",
    )
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw")
    parser.add_argument("--repeat", type=int, default=1, help="runs of every row")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="web processes, as `hotline serve --workers N` (default 1)",
    )
    parser.add_argument(
        "--postgres",
        default="",
        help="use PostgreSQL at this URL instead of SQLite, e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/test (a scratch schema, dropped after)",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="start the server with an empty numba cache, as after a fresh install",
    )
    parser.add_argument(
        "--skip-warm-up",
        action="store_true",
        help="no start-up warm-up (one web process): the first call compiles, as before it",
    )
    parser.add_argument(
        "--serve", nargs=4, metavar=("URL", "PORT", "DATA_DIR", "WORKERS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), args.serve[2], int(args.serve[3]))
        return

    with (
        tempfile.TemporaryDirectory(prefix="bench-match-") as tmp,
        database(args.postgres, tmp) as url,
    ):
        root = Path(tmp)
        data = prepare(url, args.entries)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if args.cold:  # as on a fresh install: numba's cache empty, every kernel compiled
            env["NUMBA_CACHE_DIR"] = str(root / "numba-cache")
        if args.skip_warm_up:
            env["BENCH_SKIP_WARM_UP"] = "1"
        spawned = time.perf_counter()
        server = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                data["url"],
                str(port),
                str(root / "data"),
                str(args.workers),
            ],
            env=env,
        )
        try:
            headers = {"Authorization": f"Bearer {data['key']}"}
            deadline = time.monotonic() + 120
            while True:  # ready: migrations current and the kernels compiled (the warm-up)
                try:
                    if httpx.get(f"{base}/healthz/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the server did not become ready")
                time.sleep(0.05)
            print(f"ready {time.perf_counter() - spawned:.2f}s after the server was started")
            started = time.perf_counter()
            # The first call also loads the list into memory (from the database).
            first = httpx.post(
                f"{base}/api/v1/match",
                json={"pdq": data["pdq"][0]},
                headers=headers,
                timeout=120,
            )
            if first.status_code != 200:
                raise SystemExit(f"the first call failed: {first.status_code} {first.text}")
            print(f"first call after start: {(time.perf_counter() - started) * 1000:.0f} ms")
            started = time.perf_counter()
            httpx.post(
                f"{base}/api/v1/match", json={"pdq": data["pdq"][1]}, headers=headers, timeout=120
            )
            print(f"second call: {(time.perf_counter() - started) * 1000:.0f} ms")
            print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs\n")
            print(
                f"{'scenario':<18}{'clients':>8}{'req/s':>8}{'lookups/s':>11}"
                f"{'p50 ms':>8}{'p99 ms':>8}{'server CPU ms/req':>19}"
                f"{'client CPU ms/req':>19}{'load':>6}{'errors':>7}"
            )
            scenarios = [
                (kind, int(batch or 0))
                for kind, _, batch in (item.partition(":") for item in args.scenarios.split(","))
                if kind != "none"
            ]
            for kind, batch in scenarios:
                label = "GET /healthz/live" if kind == "live" else f"{kind} x{batch}"
                if kind == "live" and args.client != "raw":
                    raise SystemExit("the live scenario needs --client raw")
                bodies = (
                    []
                    if kind == "live"
                    else make_bodies(kind, batch, data, 200 if batch <= 100 else 20)
                )
                for clients in [int(c) for c in args.concurrency.split(",")]:
                    for _ in range(args.repeat):
                        cpu0, own0 = cpu_seconds(server.pid), time.process_time()
                        if args.client == "raw":
                            run = drive_raw(port, data["key"], bodies, args.seconds, clients)
                        else:
                            run = drive(base, data["key"], bodies, args.seconds, clients)
                        wall0 = time.perf_counter()
                        count, latencies, errors = asyncio.run(run)
                        wall = time.perf_counter() - wall0
                        per = 1000 / max(count, 1)
                        cpu = (cpu_seconds(server.pid) - cpu0) * per
                        own = (time.process_time() - own0) * per
                        ms = np.array(latencies) * 1000
                        rate = count / wall
                        print(
                            f"{label:<18}{clients:>8}{rate:>8,.0f}"
                            f"{rate * batch:>11,.0f}{np.percentile(ms, 50):>8.1f}"
                            f"{np.percentile(ms, 99):>8.1f}{cpu:>19.2f}{own:>19.2f}"
                            f"{os.getloadavg()[0]:>6.1f}{errors:>7}",
                            flush=True,
                        )
            print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()

"""Benchmark the HMA-compatible `GET /m/lookup` over HTTP, side by side with
`POST /api/v1/match` (one PDQ hash a request) in the same run, against the same server.

    .venv/bin/python bench/bench_hma_lookup.py --entries 1000000 --seconds 10 --concurrency 1,2,4,8

The harness is bench_match_api.py's: a throwaway SQLite database (or, with `--postgres URL`,
a scratch schema) with one list of `--entries` synthetic entries (a random PDQ hash and a
random MD5 each: no media at all) and a member key; the app under uvicorn in a child process
on 127.0.0.1, as `hotline serve` runs it; this process drives it over keep-alive HTTP/1.1
connections (pre-built requests on asyncio streams, the cheapest client there is), one request
in flight on each. Queries are half near-duplicates of stored entries (0-31 bits flipped) and
half random (no match); every request is a full call (key read, rate limit, search, audit
record committed before the answer).

Scenarios (`--scenarios`, comma-separated):
  hma-pdq    GET /m/lookup?signal_type=pdq&signal=HEX
  hma-md5    GET /m/lookup?signal_type=video_md5&signal=HEX
  hma-any    GET /m/lookup?signal=HEX  (no signal type: PDQ and SHA-256 both tried)
  api-pdq    POST /api/v1/match {"pdq": HEX}
  api-md5    POST /api/v1/match {"md5": HEX}
Each row prints requests/s (= lookups/s: one hash a request), p50 and p99 latency, the server
processes' CPU per request, the load generator's, and the 1-minute load average: the machine
may be shared, so read the figures with it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_match_api as harness  # the match API benchmark's harness, reused

DEFAULT_SCENARIOS = "hma-pdq,api-pdq,hma-md5,api-md5,hma-any"


def queries(kind: str, data: dict[str, Any], n: int, seed: int) -> list[str]:
    """n hashes: half near-duplicates (PDQ, 0-31 bits flipped) or stored MD5s, half random."""
    rng = np.random.default_rng(seed)
    found = []
    for _ in range(n):
        known = rng.random() < 0.5
        if kind == "pdq":
            stored = data["pdq"][rng.integers(len(data["pdq"]))]
            found.append(
                harness.flip(stored, int(rng.integers(0, 32)), rng)
                if known
                else harness.random_hex(rng, 1, 32)[0]
            )
        else:
            found.append(
                data["md5"][rng.integers(len(data["md5"]))]
                if known
                else harness.random_hex(rng, 1, 16)[0]
            )
    return found


def requests_for(scenario: str, port: int, key: str, data: dict[str, Any]) -> list[bytes]:
    """Pre-built HTTP/1.1 requests for a scenario (200 of them, used in turn)."""
    host = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
    route, _, kind = scenario.partition("-")
    hashes = queries("md5" if kind == "md5" else "pdq", data, 200, harness.SEED + len(scenario))
    built = []
    for value in hashes:
        if route == "hma":
            query = {
                "pdq": f"signal_type=pdq&signal={value}",
                "md5": f"signal_type=video_md5&signal={value}",
                "any": f"signal={value}",
            }[kind]
            built.append(f"GET /m/lookup?{query} HTTP/1.1\r\n{host}\r\n".encode())
        else:
            body = json.dumps({kind: value}).encode()
            built.append(
                f"POST /api/v1/match HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
    return built


async def drive(
    port: int, requests: list[bytes], seconds: float, concurrency: int
) -> tuple[int, list[float], int]:
    """Keep-alive connections, one request in flight on each; responses read by length."""
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
                if header[9:12] != b"200" or body[:1] != b"{":
                    errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return len(latencies), latencies, errors


def wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 300
    while True:
        try:
            if httpx.get(f"{base}/healthz/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the server did not become ready")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="per row")
    parser.add_argument("--concurrency", default="1,2,4,8", help="client counts, comma-separated")
    parser.add_argument("--scenarios", default=DEFAULT_SCENARIOS)
    parser.add_argument("--repeat", type=int, default=1, help="runs of every row")
    parser.add_argument("--workers", type=int, default=1, help="web processes")
    parser.add_argument("--postgres", default="", help="PostgreSQL URL (a scratch schema)")
    args = parser.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    for scenario in scenarios:
        if scenario not in {"hma-pdq", "hma-md5", "hma-any", "api-pdq", "api-md5"}:
            raise SystemExit(f"unknown scenario {scenario!r}")

    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs at the start")
    with (
        tempfile.TemporaryDirectory(prefix="bench-hma-") as tmp,
        harness.database(args.postgres, tmp) as url,
    ):
        root = Path(tmp)
        data = harness.prepare(url, args.entries)
        port = harness.free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                sys.executable,
                harness.__file__,
                "--serve",
                data["url"],
                str(port),
                str(root / "data"),
                str(args.workers),
            ],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            spawned = time.perf_counter()
            wait_ready(base, server)
            print(f"ready {time.perf_counter() - spawned:.2f}s after the server was started")
            headers = {"Authorization": f"Bearer {data['key']}"}
            started = time.perf_counter()
            first = httpx.get(
                f"{base}/m/lookup",
                params={"signal_type": "pdq", "signal": data["pdq"][0]},
                headers=headers,
                timeout=600,
            )
            if first.status_code != 200 or "BENCH" not in first.json():  # list bench, bank BENCH
                raise SystemExit(f"the first lookup failed: {first.status_code} {first.text}")
            print(
                f"first lookup (loads the list): {(time.perf_counter() - started) * 1000:.0f} ms;"
                f" answer {first.text}"
            )
            print(f"load average {os.getloadavg()[0]:.2f} before the load\n")
            print(
                f"{'scenario':<10}{'clients':>8}{'lookups/s':>11}{'p50 ms':>8}{'p99 ms':>8}"
                f"{'server CPU ms/req':>19}{'client CPU ms/req':>19}{'load':>6}{'errors':>7}"
            )
            for clients in [int(c) for c in args.concurrency.split(",")]:
                for scenario in scenarios:  # side by side at each client count
                    requests = requests_for(scenario, port, data["key"], data)
                    for _ in range(args.repeat):
                        cpu0, own0 = harness.cpu_seconds(server.pid), time.process_time()
                        wall0 = time.perf_counter()
                        count, latencies, errors = asyncio.run(
                            drive(port, requests, args.seconds, clients)
                        )
                        wall = time.perf_counter() - wall0
                        per = 1000 / max(count, 1)
                        cpu = (harness.cpu_seconds(server.pid) - cpu0) * per
                        own = (time.process_time() - own0) * per
                        ms = np.array(latencies) * 1000
                        print(
                            f"{scenario:<10}{clients:>8}{count / wall:>11,.0f}"
                            f"{np.percentile(ms, 50):>8.1f}{np.percentile(ms, 99):>8.1f}"
                            f"{cpu:>19.2f}{own:>19.2f}{os.getloadavg()[0]:>6.1f}{errors:>7}",
                            flush=True,
                        )
            print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()

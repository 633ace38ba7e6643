"""Benchmark the member client's offline matcher (`hotline_client.OfflineMatcher`, a linear
scan) beside the server's indexed `Matcher` on the same list, in the same run.

    .venv/bin/python bench/bench_client_offline.py --entries 100000 --queries 200

A list file of `--entries` random PDQ hashes is written to a temporary folder; the queries
are listed hashes with 8 bits flipped (each finds its entry). Printed: load time, and the
median and p99 of one PDQ query, for both. The load average is printed: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from hotline_client import OfflineMatcher

from hotline.matching import list_files
from hotline.matching.matcher import Matcher, StaticSource
from hotline.matching.model import HashQuery


def _write(path: Path, n: int, rng: random.Random) -> list[str]:
    hashes = [f"{rng.getrandbits(256):064x}" for _ in range(n)]
    with path.open("w") as out:
        header = {"format": "hotline-hash-list", "format_version": 1, "list": "bench",
                  "version": 1, "pdq_max_distance": 31, "max_distances": {}, "entries": n,
                  "exported_at": "2026-12-05T00:00:00+00:00"}  # fmt: skip
        out.write(json.dumps(header) + "\n")
        for i, value in enumerate(hashes, start=1):
            out.write(json.dumps({"id": i, "category": "A", "pdq": value}) + "\n")
    return hashes


def _flip(value: str, bits: int, rng: random.Random) -> str:
    number = int(value, 16)
    for bit in rng.sample(range(256), bits):
        number ^= 1 << bit
    return f"{number:064x}"


def _report(label: str, load: float, times: list[float]) -> None:
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"{label:<22} load {load:7.2f} s   query median {statistics.median(times) * 1e3:8.3f} ms"
          f"   p99 {p99 * 1e3:8.3f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(13)
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "entries.jsonl"
        hashes = _write(path, args.entries, rng)
        queries = [_flip(rng.choice(hashes), 8, rng) for _ in range(args.queries)]

        started = time.perf_counter()
        client = OfflineMatcher.from_file(path)
        client_load = time.perf_counter() - started
        client_times = []
        for query in queries:
            t = time.perf_counter()
            assert client.match_hash("pdq", query)
            client_times.append(time.perf_counter() - t)

        started = time.perf_counter()
        server = Matcher(StaticSource([list_files.read(path)]), refresh_seconds=float("inf"))
        server.refresh()
        server_load = time.perf_counter() - started
        server_times = []
        for query in queries:
            q = [HashQuery("pdq", query)]
            t = time.perf_counter()
            assert server.match(q, ["bench"], refresh=False).hits[0]
            server_times.append(time.perf_counter() - t)
    print(f"{args.entries} PDQ entries, {args.queries} queries (8 bits flipped)")
    _report("client (linear scan)", client_load, client_times)
    _report("server Matcher", server_load, server_times)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()

"""The PDQ index at the largest exchanges' scale: peak memory of the build and single-query
latency at 100,000,000 codes on one ordinary machine.

    .venv/bin/python bench/bench_index_scale.py --size 100000000

Prints the input's size, the build's wall time, the process's peak resident memory (VmHWM,
input included) and its peak during the build alone above what was resident before it, the
index's own bytes, then single-query latency for near-duplicate queries (0-31 bits from a
stored code) and random ones, and recall against a brute-force scan on a sample. Latency is
taken both ways, query by query in turn: with each query's probes shared by two threads
("two_threads", what HOTLINE_INDEX_SPLIT_FROM turns on) and on one thread ("one_thread");
thread CPU time is the calling thread's only.
Data is synthetic: random 256-bit codes, generated in blocks straight into one array.

python-threatexchange's faiss index is not run here: at 10M it already held 3.03 GB and took
38 s to build (bench_index.py); at 100M it would not fit beside ours. `--compare-old FILE`
runs the previous build (a copy of multi_index.py from git) at the same size for the memory
comparison, in a separate process.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from hotline.index import PDQIndex, multi_index

RADIUS = 31
SEED = 20261205
BLOCK = 1 << 22


def status_gb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024 / 1e9
    raise KeyError(field)


def reset_peak() -> None:
    """Make VmHWM start again from the current RSS (Linux: write 5 to clear_refs)."""
    Path("/proc/self/clear_refs").write_text("5")


def random_codes(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    words = np.empty((size, 4), dtype=np.uint64)
    for lo in range(0, size, BLOCK):
        hi = min(size, lo + BLOCK)
        words[lo:hi] = rng.integers(0, 2**64, size=(hi - lo, 4), dtype=np.uint64)
    return words


def near_queries(words: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    near = words[rng.integers(0, words.shape[0], n)].copy()
    one = np.uint64(1)
    for row, flips in enumerate(rng.integers(0, RADIUS + 1, n)):
        for bit in rng.choice(256, size=int(flips), replace=False):
            near[row, bit // 64] ^= one << np.uint64(bit % 64)
    return near


def brute_force(words: np.ndarray, query: np.ndarray) -> set[int]:
    hits: set[int] = set()
    for lo in range(0, words.shape[0], BLOCK):
        c = np.bitwise_count(words[lo : lo + BLOCK] ^ query)
        d = c[:, 0].astype(np.uint16) + c[:, 1] + c[:, 2] + c[:, 3]
        hits.update((np.flatnonzero(d <= RADIUS) + lo + 1).tolist())
    return hits


def latency(index: PDQIndex, queries: np.ndarray) -> dict[str, dict[str, float]]:
    """Queries split between two threads and on one thread, taking turns (even and odd queries, so
    that neither finds the other's buckets in the cache) at the same moments of a shared
    machine."""
    split_from = multi_index.SPLIT_SEARCH_FROM
    limits = {"two_threads": 0, "one_thread": multi_index.NEVER}
    modes = list(limits)
    samples: dict[str, tuple[list[float], list[float]]] = {m: ([], []) for m in modes}
    try:
        for limit in limits.values():
            multi_index.SPLIT_SEARCH_FROM = limit
            index.search(queries[0], RADIUS)  # first call: page in the plan
        for i, q in enumerate(queries[1:]):
            mode = modes[i % 2]
            multi_index.SPLIT_SEARCH_FROM = limits[mode]
            t, c = time.perf_counter(), time.thread_time()
            index.search(q, RADIUS)
            samples[mode][1].append((time.thread_time() - c) * 1000)
            samples[mode][0].append((time.perf_counter() - t) * 1000)
    finally:
        multi_index.SPLIT_SEARCH_FROM = split_from
    # Wall time includes time descheduled on a shared machine; thread CPU time does not.
    return {
        mode: {
            "p50_ms": round(float(np.percentile(times, 50)), 3),
            "p99_ms": round(float(np.percentile(times, 99)), 3),
            "cpu_p50_ms": round(float(np.percentile(cpu, 50)), 3),
            "cpu_p99_ms": round(float(np.percentile(cpu, 99)), 3),
        }
        for mode, (times, cpu) in samples.items()
    }


def run(size: int, queries: int, recall_sample: int, workers: int | None) -> dict[str, Any]:
    t = time.perf_counter()
    words = random_codes(size, SEED)
    ids = np.arange(1, size + 1, dtype=np.int64)
    out: dict[str, Any] = {
        "size": size,
        "input_gb": round((words.nbytes + ids.nbytes) / 1e9, 2),
        "generate_s": round(time.perf_counter() - t, 1),
    }
    gc.collect()
    before = status_gb("VmRSS")
    reset_peak()
    t = time.perf_counter()
    index = PDQIndex.build(ids, words, workers=workers)
    out["build_s"] = round(time.perf_counter() - t, 1)
    out["rss_before_build_gb"] = round(before, 2)
    out["peak_rss_gb"] = round(status_gb("VmHWM"), 2)
    out["build_peak_above_input_gb"] = round(status_gb("VmHWM") - before, 2)
    out["index_bytes_gb"] = round(index.memory_bytes() / 1e9, 2)
    rng = np.random.default_rng(SEED + 1)
    near = near_queries(words, queries, rng)
    rand = rng.integers(0, 2**64, size=(queries, 4), dtype=np.uint64)
    out["near"] = latency(index, near)
    out["random"] = latency(index, rand)
    found = [{m.id for m in index.search(q, RADIUS)} for q in near[:recall_sample]]
    truth = [brute_force(words, q) for q in near[:recall_sample]]
    hit = sum(len(f & t) for f, t in zip(found, truth, strict=True))
    total = sum(len(t) for t in truth)
    out["recall"] = round(hit / total, 4) if total else 1.0
    out["extra_found"] = sum(len(f - t) for f, t in zip(found, truth, strict=True))
    return out


def run_old(path: str, size: int, workers: int | None) -> dict[str, Any]:
    """The table build alone, with a previous multi_index.py, for the memory comparison."""
    spec = importlib.util.spec_from_file_location("old_multi_index", path)
    assert spec is not None and spec.loader is not None
    old = importlib.util.module_from_spec(spec)
    sys.modules["old_multi_index"] = old
    spec.loader.exec_module(old)
    words = random_codes(size, SEED)
    ids = np.arange(1, size + 1, dtype=np.int64)
    # The previous BaseSegment.build copied both arrays before the tables.
    gc.collect()
    before = status_gb("VmRSS")
    reset_peak()
    t = time.perf_counter()
    ids2, words2 = np.array(ids), np.array(words)
    tables = old.MultiIndex.build(words2, old.ChunkLayout.for_size(size), workers=workers)
    return {
        "size": size,
        "old_build_s": round(time.perf_counter() - t, 1),
        "old_peak_rss_gb": round(status_gb("VmHWM"), 2),
        "old_build_peak_above_input_gb": round(status_gb("VmHWM") - before, 2),
        "old_index_bytes_gb": round((tables.memory_bytes() + words2.nbytes + ids2.nbytes) / 1e9, 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--size", type=int, default=100_000_000)
    p.add_argument("--queries", type=int, default=2000)
    p.add_argument("--recall-sample", type=int, default=20)
    p.add_argument("--workers", type=int, default=None, help="table-sorting threads (default 2)")
    p.add_argument("--compare-old", metavar="FILE", help="a previous multi_index.py to compare")
    p.add_argument("--old-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.old_only:
        print(json.dumps(run_old(args.compare_old, args.size, args.workers)))
        return
    if args.compare_old:
        cmd = [
            sys.executable,
            __file__,
            "--size",
            str(args.size),
            "--old-only",
            "--compare-old",
            args.compare_old,
        ]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        print(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip())
    print(json.dumps(run(args.size, args.queries, args.recall_sample, args.workers)))


if __name__ == "__main__":
    main()

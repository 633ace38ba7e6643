"""Benchmark `hotline.index.PDQIndex` against python-threatexchange's `PDQIndex` (HMA's).

    .venv/bin/python bench/bench_index.py --sizes 1000000,10000000

Data is synthetic only: random 256-bit codes, or near-duplicate families (random centres,
each with ~100 variants 0-20 bits away). Queries are near-duplicates (0-31 bits flipped
from a stored code) and random codes (no match).

Each (library, size, data set) runs in its own subprocess, so one library's memory cannot
distort the other's: resident memory is read from /proc before and after the build, with
the input already prepared (numpy arrays for ours; (hex, id) tuples, the form its API
takes, for threatexchange). Queries run on one core (OMP_NUM_THREADS=1 and faiss set to 1
thread); our build sorts its tables on `--build-workers` threads (default 2).
Ground truth for recall comes from a brute-force numpy scan over a sample of queries,
computed once by the first child and reused by the second.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

RADIUS = 31
SEED = 20261125


# ---- data ------------------------------------------------------------------------------


def flip_random_bits(words: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> None:
    """Flip up to counts[i] random bits of row i in place (a repeated position undoes itself,
    so a row may end up a little closer than counts[i])."""
    rows = np.arange(words.shape[0])
    one = np.uint64(1)
    for j in range(int(counts.max(initial=0))):
        active = rows[counts > j]
        bits = rng.integers(0, 256, active.shape[0])
        words[active, bits // 64] ^= one << (bits % 64).astype(np.uint64)


def make_data(size: int, dataset: str) -> np.ndarray:
    rng = np.random.default_rng(SEED + size)
    if dataset == "random":
        return rng.integers(0, 2**64, size=(size, 4), dtype=np.uint64, endpoint=False)
    if dataset == "clustered":
        per = 100
        centres = rng.integers(0, 2**64, size=(-(-size // per), 4), dtype=np.uint64)
        words = np.repeat(centres, per, axis=0)[:size].copy()
        flip_random_bits(words, rng.integers(0, 21, size), rng)
        return words
    raise SystemExit(f"unknown data set {dataset}")


def make_queries(words: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    near = words[rng.integers(0, words.shape[0], n)].copy()
    flip_random_bits(near, rng.integers(0, RADIUS + 1, n), rng)
    rand = rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64, endpoint=False)
    return near, rand


def brute_force(words: np.ndarray, query: np.ndarray) -> np.ndarray:
    hits = []
    for start in range(0, words.shape[0], 1 << 16):
        c = np.bitwise_count(words[start : start + (1 << 16)] ^ query)
        d = c[:, 0].astype(np.uint16) + c[:, 1] + c[:, 2] + c[:, 3]
        hits.append(np.flatnonzero(d <= RADIUS) + start)
    return np.concatenate(hits)


def to_hex(words: np.ndarray) -> list[str]:
    raw = np.ascontiguousarray(words).tobytes()
    return [raw[i : i + 32].hex() for i in range(0, len(raw), 32)]


# ---- measurement helpers -----------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def latencies_ms(fn: Callable[[int], object], n: int) -> dict[str, float]:
    """Wall-clock p50/p99/mean, and p99 of this thread's CPU time: other processes on a
    shared machine inflate the wall tail (time descheduled) but not the CPU time."""
    for i in range(min(20, n)):  # warm caches and lazily built probe plans
        fn(i)
    wall = np.empty(n)
    cpu = np.empty(n)
    for i in range(n):
        t, c = time.perf_counter(), time.thread_time()
        fn(i)
        wall[i], cpu[i] = time.perf_counter() - t, time.thread_time() - c
    return {
        "p50_ms": float(np.percentile(wall, 50) * 1e3),
        "p99_ms": float(np.percentile(wall, 99) * 1e3),
        "mean_ms": float(wall.mean() * 1e3),
        "cpu_p99_ms": float(np.percentile(cpu, 99) * 1e3),
    }


def recall(found: Sequence[set[int]], truth: Sequence[np.ndarray]) -> float:
    want = sum(len(t) for t in truth)
    got = sum(len(f & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return 1.0 if want == 0 else got / want


# ---- children ----------------------------------------------------------------------------


def run_child(args: argparse.Namespace) -> dict[str, Any]:
    lib, size, dataset = args.child_lib, args.child_size, args.child_dataset
    if lib == "exact":
        return bench_exact(size)
    t = time.perf_counter()
    words = make_data(size, dataset)
    near, rand = make_queries(words, max(args.queries, args.recall_queries), SEED + 1)
    result: dict[str, Any] = {"lib": lib, "size": size, "dataset": dataset}
    result["data_s"] = time.perf_counter() - t

    truth_file = Path(args.truth_dir) / f"truth-{size}-{dataset}.npz"
    sample = np.concatenate([near[: args.recall_queries], rand[: args.recall_queries // 5]])
    if truth_file.exists():
        stored = np.load(truth_file)
        truth = [stored[f"q{i}"] for i in range(sample.shape[0])]
    else:
        t = time.perf_counter()
        truth = [brute_force(words, q) for q in sample]
        np.savez(truth_file, **{f"q{i}": x for i, x in enumerate(truth)})
        result["truth_s"] = time.perf_counter() - t
    result["truth_matches"] = int(sum(len(x) for x in truth))

    if lib == "hotline":
        result.update(bench_hotline(args, words, near, rand, sample, truth))
    else:
        result.update(bench_threatexchange(args, words, near, rand, sample, truth))
    result["peak_rss_gb"] = peak_rss_gb()
    return result


def bench_exact(size: int) -> dict[str, Any]:
    """ExactHashIndex with MD5-width random digests (no reference library to compare)."""
    from hotline.index import ExactHashIndex

    rng = np.random.default_rng(SEED)
    raw = rng.integers(0, 256, size=(size, 16), dtype=np.uint8).tobytes()
    digests = [raw[i : i + 16] for i in range(0, len(raw), 16)]
    out: dict[str, Any] = {"lib": "exact", "size": size, "dataset": "md5"}
    rss0 = rss_bytes()
    t = time.perf_counter()
    index = ExactHashIndex.build("md5", np.arange(size, dtype=np.int64), digests)
    out["build_s"] = time.perf_counter() - t
    out["rss_delta_gb"] = (rss_bytes() - rss0) / 1e9
    out["memory_bytes_gb"] = index.memory_bytes() / 1e9
    hits = [digests[i].hex() for i in rng.integers(0, size, 1000)]
    misses = [bytes(rng.integers(0, 256, 16, dtype=np.uint8)).hex() for _ in range(1000)]
    out["hit_lookup"] = latencies_ms(lambda i: index.lookup(hits[i]), 1000)
    out["miss_lookup"] = latencies_ms(lambda i: index.lookup(misses[i]), 1000)
    new = [bytes(rng.integers(0, 256, 16, dtype=np.uint8)) for _ in range(10_000)]
    t = time.perf_counter()
    index.add(np.arange(size, size + 10_000, dtype=np.int64), new)
    out["add_10k_visible_s"] = time.perf_counter() - t
    assert index.lookup(new[-1]) == [size + 9_999]
    out["peak_rss_gb"] = peak_rss_gb()
    return out


def peak_rss_gb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def bench_hotline(
    args: argparse.Namespace,
    words: np.ndarray,
    near: np.ndarray,
    rand: np.ndarray,
    sample: np.ndarray,
    truth: list[np.ndarray],
) -> dict[str, Any]:
    from hotline.index import PDQIndex

    out: dict[str, Any] = {}
    ids = np.arange(words.shape[0], dtype=np.int64)
    rss0 = rss_bytes()
    t = time.perf_counter()
    index = PDQIndex.build(ids, words, workers=args.build_workers, auto_compact_rows=None)
    out["build_s"] = time.perf_counter() - t
    out["rss_delta_gb"] = (rss_bytes() - rss0) / 1e9
    out["memory_bytes_gb"] = index.memory_bytes() / 1e9
    out["chunk_widths"] = list(index.stats().chunk_widths)

    nq = args.queries
    near_b = [q.tobytes() for q in near[:nq]]
    rand_b = [q.tobytes() for q in rand[:nq]]
    out["near_single"] = latencies_ms(lambda i: index.search(near_b[i], RADIUS), nq)
    out["random_single"] = latencies_ms(lambda i: index.search(rand_b[i], RADIUS), nq)
    for name, queries in (("near", near[:nq]), ("random", rand[:nq])):
        t, c = time.perf_counter(), time.thread_time()
        index.search_batch(queries, RADIUS)
        out[f"{name}_batch_qps"] = nq / (time.perf_counter() - t)
        out[f"{name}_batch_cpu_qps"] = nq / (time.thread_time() - c)

    found = [{m.id for m in ms} for ms in index.search_batch(sample, RADIUS)]
    out["recall"] = recall(found, truth)
    out["exact"] = all(f == set(t.tolist()) for f, t in zip(found, truth, strict=True))

    if args.incremental and args.child_dataset == "random":
        rng = np.random.default_rng(SEED + 2)
        new = rng.integers(0, 2**64, size=(10_000, 4), dtype=np.uint64, endpoint=False)
        new_ids = np.arange(10_000, dtype=np.int64) + words.shape[0]
        t = time.perf_counter()
        index.add(new_ids, new)
        hit = index.search(new[-1].tobytes(), RADIUS)
        out["add_10k_visible_s"] = time.perf_counter() - t
        assert any(m.id == int(new_ids[-1]) for m in hit)
        out["near_single_with_10k_delta"] = latencies_ms(
            lambda i: index.search(near_b[i], RADIUS), nq
        )
        if args.compact:
            t = time.perf_counter()
            index.compact()
            out["compact_s"] = time.perf_counter() - t
        with tempfile.TemporaryDirectory(dir=args.truth_dir) as tmp:
            t = time.perf_counter()
            index.save(tmp)
            out["save_s"] = time.perf_counter() - t
            del index
            t = time.perf_counter()
            reopened = PDQIndex.open(tmp)
            reopened.search(near_b[0], RADIUS)
            out["open_s"] = time.perf_counter() - t
            reopened.close()
    return out


def bench_threatexchange(
    args: argparse.Namespace,
    words: np.ndarray,
    near: np.ndarray,
    rand: np.ndarray,
    sample: np.ndarray,
    truth: list[np.ndarray],
) -> dict[str, Any]:
    import faiss
    from threatexchange.signal_type.pdq.pdq_index import PDQIndex as TEPDQIndex

    faiss.omp_set_num_threads(1)
    wrapper = args.te_mode == "wrapper" or (
        args.te_mode == "auto" and words.shape[0] <= args.te_wrapper_max
    )
    if wrapper:
        return bench_te_wrapper(args, words, near, rand, sample, truth, TEPDQIndex)
    return bench_te_faiss(args, words, near, rand, sample, truth, faiss)


def bench_te_wrapper(
    args: argparse.Namespace,
    words: np.ndarray,
    near: np.ndarray,
    rand: np.ndarray,
    sample: np.ndarray,
    truth: list[np.ndarray],
    te_index: Any,
) -> dict[str, Any]:
    """threatexchange's PDQIndex as HMA calls it: hex strings in, query() per hash."""
    out: dict[str, Any] = {"te_mode": "wrapper"}
    entries = list(zip(to_hex(words), range(words.shape[0]), strict=True))
    rss0 = rss_bytes()
    t = time.perf_counter()
    index = te_index(entries)
    out["build_s"] = time.perf_counter() - t
    out["rss_delta_gb"] = (rss_bytes() - rss0) / 1e9
    mih = index.index.mih_index
    out["config"] = f"IndexBinaryMultiHash nhash={mih.nhash} b={mih.b}, range_search(q, 32)"

    nq = min(args.queries, args.te_queries)
    near_h, rand_h = to_hex(near[:nq]), to_hex(rand[:nq])
    out["near_single"] = latencies_ms(lambda i: index.query(near_h[i]), nq)
    out["random_single"] = latencies_ms(lambda i: index.query(rand_h[i]), nq)
    for name, queries in (("near", near_h), ("random", rand_h)):
        t, c = time.perf_counter(), time.thread_time()
        index.index.search_with_distance_in_result(queries, RADIUS)
        out[f"{name}_batch_qps"] = nq / (time.perf_counter() - t)
        out[f"{name}_batch_cpu_qps"] = nq / (time.thread_time() - c)

    found = [{m.metadata for m in index.query(h)} for h in to_hex(sample)]
    out["recall"] = recall(found, truth)

    if args.incremental and args.child_dataset == "random":
        rng = np.random.default_rng(SEED + 2)
        new = rng.integers(0, 2**64, size=(10_000, 4), dtype=np.uint64, endpoint=False)
        new_h = to_hex(new)
        t = time.perf_counter()
        index.add_all(zip(new_h, range(words.shape[0], words.shape[0] + 10_000), strict=True))
        index.query(new_h[-1])
        out["add_10k_visible_s"] = time.perf_counter() - t
    return out


def bench_te_faiss(
    args: argparse.Namespace,
    words: np.ndarray,
    near: np.ndarray,
    rand: np.ndarray,
    sample: np.ndarray,
    truth: list[np.ndarray],
    faiss: Any,
) -> dict[str, Any]:
    """The faiss structure threatexchange's PDQIndex builds (IndexBinaryIDMap2 over
    IndexBinaryMultiHash, 16 tables of 16 bits, nflip = 31 // 16, range_search(q, 32)),
    filled from numpy directly: the wrapper's per-hash Python conversion and its id
    reverse-map dict take minutes and GBs at 10M, which would swamp the comparison."""
    out: dict[str, Any] = {"te_mode": "faiss-direct"}
    as_u8 = np.ascontiguousarray(words).view(np.uint8).reshape(-1, 32)
    rss0 = rss_bytes()
    t = time.perf_counter()
    mih = faiss.IndexBinaryMultiHash(256, 16, 16)
    index = faiss.IndexBinaryIDMap2(mih)
    index.add_with_ids(as_u8, np.arange(words.shape[0], dtype=np.int64))
    out["build_s"] = time.perf_counter() - t
    out["rss_delta_gb"] = (rss_bytes() - rss0) / 1e9
    mih.nflip = RADIUS // mih.nhash
    out["config"] = f"IndexBinaryMultiHash nhash={mih.nhash} b={mih.b} nflip={mih.nflip}"

    def query(q: np.ndarray) -> set[int]:
        lims, _, ids = index.range_search(q, RADIUS + 1)  # strict <, so 32 for <= 31
        return set(ids[lims[0] : lims[1]].tolist())

    nq = min(args.queries, args.te_queries)
    near_u8 = near[:nq].copy().view(np.uint8).reshape(-1, 32)
    rand_u8 = rand[:nq].copy().view(np.uint8).reshape(-1, 32)
    out["near_single"] = latencies_ms(lambda i: query(near_u8[i : i + 1]), nq)
    out["random_single"] = latencies_ms(lambda i: query(rand_u8[i : i + 1]), nq)
    for name, queries in (("near", near_u8), ("random", rand_u8)):
        t, c = time.perf_counter(), time.thread_time()
        index.range_search(queries, RADIUS + 1)
        out[f"{name}_batch_qps"] = nq / (time.perf_counter() - t)
        out[f"{name}_batch_cpu_qps"] = nq / (time.thread_time() - c)
    sample_u8 = sample.copy().view(np.uint8).reshape(-1, 32)
    out["recall"] = recall([query(sample_u8[i : i + 1]) for i in range(len(sample_u8))], truth)

    if args.incremental and args.child_dataset == "random":
        rng = np.random.default_rng(SEED + 2)
        new = rng.integers(0, 2**64, size=(10_000, 4), dtype=np.uint64, endpoint=False)
        new_u8 = new.view(np.uint8).reshape(-1, 32)
        t = time.perf_counter()
        index.add_with_ids(new_u8, np.arange(10_000, dtype=np.int64) + words.shape[0])
        query(new_u8[-1:])
        out["add_10k_visible_s"] = time.perf_counter() - t
    return out


# ---- parent ------------------------------------------------------------------------------


def fmt_row(r: dict[str, Any]) -> str:
    def g(key: str, sub: str | None = None, spec: str = ".2f") -> str:
        v = r.get(key)
        if sub is not None and isinstance(v, dict):
            v = v.get(sub)
        return "—" if v is None else format(v, spec)

    lib = f"{r['lib']} ({r['te_mode']})" if "te_mode" in r else r["lib"]
    return (
        f"| {lib} | {r['size']:,} | {r['dataset']} | {g('build_s', spec='.1f')} "
        f"| {g('rss_delta_gb')} | {g('memory_bytes_gb')} "
        f"| {g('near_single', 'p50_ms')} / {g('near_single', 'p99_ms')}"
        f" / {g('near_single', 'cpu_p99_ms')} "
        f"| {g('random_single', 'p50_ms')} / {g('random_single', 'p99_ms')}"
        f" / {g('random_single', 'cpu_p99_ms')} "
        f"| {g('near_batch_qps', spec='.0f')} / {g('random_batch_qps', spec='.0f')}"
        f" ({g('near_batch_cpu_qps', spec='.0f')} / {g('random_batch_cpu_qps', spec='.0f')}) "
        f"| {g('recall', spec='.4f')} | {g('add_10k_visible_s', spec='.3f')} |"
    )


HEADER = (
    "| library | N | data | build s | RSS Δ GB | memory_bytes GB "
    "| near-dup p50 / p99 / CPU p99 ms | random p50 / p99 / CPU p99 ms "
    "| batch q/s near / random (per CPU-second) "
    "| recall r=31 | 10k adds visible s |\n"
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", default="1000000,10000000")
    p.add_argument("--datasets", default="random,clustered")
    p.add_argument("--libs", default="hotline,threatexchange")
    p.add_argument("--exact-sizes", default="1000000", help="ExactHashIndex sizes ('' for none)")
    p.add_argument("--queries", type=int, default=1000, help="queries per timing set")
    p.add_argument("--te-queries", type=int, default=200, help="cap for threatexchange")
    p.add_argument("--recall-queries", type=int, default=50)
    p.add_argument("--build-workers", type=int, default=2)
    p.add_argument(
        "--te-mode",
        choices=["auto", "wrapper", "faiss"],
        default="auto",
        help="threatexchange via its PDQIndex wrapper, or its faiss structure filled directly;"
        " auto: the wrapper up to --te-wrapper-max hashes",
    )
    p.add_argument("--te-wrapper-max", type=int, default=1_000_000)
    p.add_argument(
        "--te-max-size",
        type=int,
        default=1_000_000,
        help="skip threatexchange above this size (its faiss build takes ~5 min at 10M here)",
    )
    p.add_argument(
        "--te-clustered-max",
        type=int,
        default=1_000_000,
        help="skip threatexchange on clustered data above this size (its 10M build takes minutes)",
    )
    p.add_argument("--no-incremental", dest="incremental", action="store_false")
    p.add_argument("--compact", action="store_true", help="also time compact() after adds")
    p.add_argument("--out", default="bench/out/index.json")
    p.add_argument("--child-lib", help=argparse.SUPPRESS)
    p.add_argument("--child-size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--child-dataset", help=argparse.SUPPRESS)
    p.add_argument("--truth-dir", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child_lib:
        print(json.dumps(run_child(args)))
        return 0

    started = time.perf_counter()
    results = []
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as truth_dir:

        def child(lib: str, size: int, dataset: str) -> None:
            cmd = [sys.executable, __file__, *(argv or sys.argv[1:])]
            cmd += ["--child-lib", lib, "--child-size", str(size)]
            cmd += ["--child-dataset", dataset, "--truth-dir", truth_dir]
            t = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                results.append({"lib": lib, "size": size, "dataset": dataset, "error": 1})
                return
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            r["child_wall_s"] = time.perf_counter() - t
            results.append(r)
            print(json.dumps(r), file=sys.stderr, flush=True)

        for size in [int(s) for s in args.sizes.split(",")]:
            for dataset in args.datasets.split(","):
                for lib in args.libs.split(","):
                    if lib != "hotline" and (
                        size > args.te_max_size
                        or (dataset == "clustered" and size > args.te_clustered_max)
                    ):
                        continue
                    child(lib, size, dataset)
        for size in [int(s) for s in args.exact_sizes.split(",") if s]:
            child("exact", size, "md5")
    print(HEADER)
    for r in results:
        if "error" not in r and r["lib"] != "exact":
            print(fmt_row(r))
    exact = [r for r in results if r["lib"] == "exact" and "error" not in r]
    if exact:
        print(
            "\n| ExactHashIndex (md5) N | build s | RSS Δ GB | memory_bytes GB "
            "| hit p50 / p99 ms | miss p50 / p99 ms | 10k adds s |"
        )
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in exact:
            h, m = r["hit_lookup"], r["miss_lookup"]
            print(
                f"| {r['size']:,} | {r['build_s']:.1f} | {r['rss_delta_gb']:.2f} "
                f"| {r['memory_bytes_gb']:.2f} | {h['p50_ms']:.3f} / {h['p99_ms']:.3f} "
                f"| {m['p50_ms']:.3f} / {m['p99_ms']:.3f} | {r['add_10k_visible_s']:.3f} |"
            )
    print(f"\nload average at end: {os.getloadavg()}; total {time.perf_counter() - started:.0f} s")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

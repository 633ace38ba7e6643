"""Benchmark near-duplicate clustering (`hotline.index.cluster`) on synthetic PDQ codes.

    .venv/bin/python bench/bench_cluster.py                      # 1,000,000 codes, 2 threads
    .venv/bin/python bench/bench_cluster.py --size 20000 --sample 200 --faiss-sample 0

Data is synthetic only, seeded: `--families` random centres (default size / 10), members
spread over them at random (the rest of the codes, `--random-fraction`, are random), each
member its centre with 0-20 random bits flipped; then shuffled.

It times the exact self-join (every pair within the radius) and the clustering on
`--workers` threads, checks exactness against a numpy brute force over all codes for
`--sample` random codes (their neighbour sets must be identical), checks the clustering
rule (every member within the radius of its representative; representatives pairwise
farther apart), and reports clusters per 1,000 codes. As a comparison point it runs faiss's
`IndexBinaryMultiHash` (HMA's configuration: 16 tables of 16 bits, nflip 1) on
`--faiss-sample` queries where faiss is installed and scales that to a full self-join; the
brute-force time is scaled the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from hotline.index.cluster import cluster_pdq, star_clusters
from hotline.index.codes import distances
from hotline.index.self_join import Pairs, join_layout, self_join

SEED = 20261204


def make_codes(
    size: int, families: int, random_fraction: float, max_bits: int, seed: int
) -> np.ndarray:
    """Near-duplicate families (each member 0..max_bits flipped from its centre) plus random
    codes, shuffled: an (n, 4) uint64 array."""
    rng = np.random.default_rng(seed)
    in_families = size - round(size * random_fraction)
    centres = rng.integers(0, 2**64, size=(max(families, 1), 4), dtype=np.uint64)
    words = centres[rng.integers(0, max(families, 1), in_families)]
    counts = rng.integers(0, max_bits + 1, in_families)
    rows = np.arange(in_families)
    one = np.uint64(1)
    for j in range(max_bits):
        # A repeated position undoes itself, so a member may end up a little closer.
        active = rows[counts > j]
        bits = rng.integers(0, 256, active.shape[0])
        words[active, bits // 64] ^= one << (bits % 64).astype(np.uint64)
    rand = rng.integers(0, 2**64, size=(size - in_families, 4), dtype=np.uint64)
    return np.concatenate([words, rand])[rng.permutation(size)]


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Result, wall seconds, process CPU seconds (all threads)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def neighbours_from_pairs(pairs: Pairs, rows: np.ndarray) -> list[set[int]]:
    by_left = np.argsort(pairs.left, kind="stable")
    by_right = np.argsort(pairs.right, kind="stable")
    left_sorted, right_sorted = pairs.left[by_left], pairs.right[by_right]
    out = []
    for i in rows.tolist():
        a = np.searchsorted(left_sorted, [i, i + 1])
        b = np.searchsorted(right_sorted, [i, i + 1])
        found = set(pairs.right[by_left[a[0] : a[1]]].tolist())
        found |= set(pairs.left[by_right[b[0] : b[1]]].tolist())
        out.append(found)
    return out


def brute_force(words: np.ndarray, i: int, radius: int) -> set[int]:
    hit = np.flatnonzero(distances(words, words[i]) <= radius)
    return set(hit.tolist()) - {i}


def bench_faiss(
    words: np.ndarray, sample: np.ndarray, truth: list[set[int]], radius: int, workers: int
) -> dict[str, Any]:
    try:
        import faiss
    except ImportError:
        return {"faiss": "not installed"}
    faiss.omp_set_num_threads(workers)
    as_u8 = np.ascontiguousarray(words).view(np.uint8).reshape(-1, 32)
    index = faiss.IndexBinaryMultiHash(256, 16, 16)
    _, build_s, _ = timed(lambda: index.add(as_u8))
    index.nflip = radius // 16  # HMA's nflip = 31 // nhash
    queries = as_u8[sample]
    # range_search is strict (<), hence radius + 1.
    (lims, _, ids), search_s, search_cpu = timed(lambda: index.range_search(queries, radius + 1))
    found = [set(ids[lims[k] : lims[k + 1]].tolist()) - {int(i)} for k, i in enumerate(sample)]
    missed = sum(len(t - f) for t, f in zip(truth, found, strict=True))
    total = sum(len(t) for t in truth)
    return {
        "faiss": f"IndexBinaryMultiHash nhash=16 b=16 nflip={index.nflip}, {workers} threads",
        "faiss_build_s": build_s,
        "faiss_ms_per_query": search_s / len(sample) * 1e3,
        "faiss_self_join_estimate_s": build_s + search_s / len(sample) * words.shape[0],
        # CPU seconds spread over the threads: what an otherwise idle machine would take.
        "faiss_self_join_estimate_cpu_s": search_cpu / len(sample) * words.shape[0] / workers,
        "faiss_recall": 1.0 if total == 0 else (total - missed) / total,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--size", type=int, default=1_000_000)
    p.add_argument("--families", type=int, default=None, help="default: size / 10")
    p.add_argument("--random-fraction", type=float, default=0.2)
    p.add_argument("--max-bits", type=int, default=20)
    p.add_argument("--radius", type=int, default=31)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--sample", type=int, default=2000, help="codes checked by brute force")
    p.add_argument("--faiss-sample", type=int, default=2000, help="0 skips faiss")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = p.parse_args(argv)

    out: dict[str, Any] = {"size": args.size, "radius": args.radius, "workers": args.workers}
    out["load_average_before"] = os.getloadavg()
    families = args.families if args.families is not None else max(args.size // 10, 1)
    words, out["data_s"], _ = timed(
        lambda: make_codes(args.size, families, args.random_fraction, args.max_bits, args.seed)
    )
    out["families"] = families
    out["layout"] = join_layout(args.size, args.radius).widths
    # Compile (or load the numba cache) outside the timings.
    _, out["warm_up_s"], _ = timed(lambda: cluster_pdq(words[:500], radius=args.radius))

    pairs, out["self_join_s"], out["self_join_cpu_s"] = timed(
        lambda: self_join(words, args.radius, workers=args.workers)
    )
    out["pairs"] = len(pairs)
    (_, _), out["star_s"], _ = timed(lambda: star_clusters(pairs, args.size))
    clustering, out["cluster_total_s"], out["cluster_total_cpu_s"] = timed(
        lambda: cluster_pdq(words, radius=args.radius, workers=args.workers)
    )
    out["clusters"] = clustering.n_clusters
    out["clusters_per_1000"] = clustering.n_clusters / max(args.size, 1) * 1000
    out["singletons"] = int((clustering.sizes == 1).sum())
    out["largest_cluster"] = int(clustering.sizes.max(initial=0))

    # The rule: every member within the radius of its representative; representatives are
    # pairwise farther apart than the radius.
    reps = words[clustering.representatives[clustering.labels]]
    member_d = np.bitwise_count(words ^ reps).sum(axis=1)
    out["max_member_distance"] = int(member_d.max(initial=0))
    rep_pairs = self_join(words[clustering.representatives], args.radius, workers=args.workers)
    out["representative_pairs_within_radius"] = len(rep_pairs)

    # Exactness against brute force on a sample.
    rng = np.random.default_rng(args.seed + 1)
    sample = rng.choice(args.size, size=min(args.sample, args.size), replace=False)
    truth, brute_s, brute_cpu = timed(
        lambda: [brute_force(words, int(i), args.radius) for i in sample]
    )
    got = neighbours_from_pairs(pairs, sample)
    out["sample"] = int(sample.size)
    out["sample_neighbours"] = sum(len(t) for t in truth)
    out["sample_mismatches"] = sum(t != g for t, g in zip(truth, got, strict=True))
    per_query = brute_s / max(sample.size, 1)
    out["brute_force_ms_per_query"] = per_query * 1e3
    # Symmetric, so half the queries would do; one core per query, spread over the workers.
    out["brute_force_self_join_estimate_s"] = per_query * args.size / 2 / args.workers
    out["brute_force_self_join_estimate_cpu_s"] = (
        brute_cpu / max(sample.size, 1) * args.size / 2 / args.workers
    )

    if args.faiss_sample:
        fs = sample[: args.faiss_sample]
        out.update(bench_faiss(words, fs, truth[: fs.size], args.radius, args.workers))
    out["load_average_after"] = os.getloadavg()
    report(out)
    if args.json:
        print(json.dumps(out, default=str))
    return out


def report(o: dict[str, Any]) -> None:
    print(
        f"codes {o['size']:,} ({o['families']:,} families), radius {o['radius']}, "
        f"{o['workers']} workers, {len(o['layout'])} chunks of "
        f"{min(o['layout'])}-{max(o['layout'])} bits"
    )
    print(f"load average before {o['load_average_before']}, after {o['load_average_after']}")
    print(
        f"self-join    {o['self_join_s']:.2f} s wall, {o['self_join_cpu_s']:.2f} s CPU, "
        f"{o['pairs']:,} pairs"
    )
    print(f"star rule    {o['star_s']:.2f} s")
    print(
        f"cluster_pdq  {o['cluster_total_s']:.2f} s wall, {o['cluster_total_cpu_s']:.2f} s CPU"
        f" (end to end)"
    )
    print(
        f"clusters     {o['clusters']:,} = {o['clusters_per_1000']:.1f} per 1,000 codes; "
        f"{o['singletons']:,} singletons, largest {o['largest_cluster']}"
    )
    print(
        f"rule         max member distance {o['max_member_distance']}, representative pairs "
        f"within the radius {o['representative_pairs_within_radius']}"
    )
    print(
        f"exactness    {o['sample']:,} codes, {o['sample_neighbours']:,} neighbours, "
        f"{o['sample_mismatches']} mismatches against brute force"
    )
    print(
        f"brute force  {o['brute_force_ms_per_query']:.2f} ms a code; a full self-join "
        f"~{o['brute_force_self_join_estimate_s']:.0f} s on {o['workers']} cores "
        f"(from CPU time: ~{o['brute_force_self_join_estimate_cpu_s']:.0f} s)"
    )
    if "faiss_ms_per_query" in o:
        print(
            f"faiss        {o['faiss']}: build {o['faiss_build_s']:.1f} s, "
            f"{o['faiss_ms_per_query']:.2f} ms a query, self-join "
            f"~{o['faiss_self_join_estimate_s']:.0f} s (from CPU time: "
            f"~{o['faiss_self_join_estimate_cpu_s']:.0f} s), recall {o['faiss_recall']:.4f}"
        )
    elif "faiss" in o:
        print(f"faiss        {o['faiss']}")


if __name__ == "__main__":
    main()

"""PDQ throughput: hotline.hashing against threatexchange's PdqSignal, same images, same run.

Generates N benign 1024x768 JPEGs in memory (gradients and shapes, seeded), hashes them with
`threatexchange`'s `PdqSignal.hash_from_bytes` (pdqhash, Meta's C++ PDQ) and with ours,
checks every hash is identical, and prints images/s single-process and with worker
processes. Run:

    .venv/bin/python bench/bench_hashing.py            # N=300, about a minute
    .venv/bin/python bench/bench_hashing.py --n 1000 --workers 2
    .venv/bin/python bench/bench_hashing.py --per-image   # cost of one image, one core

`--per-image` pins the process to one core and times each image alone, the best of
`--repeats` rounds (the three measurements alternate within a round, so drift hits them
alike): the decode floor (Pillow open and load: the decode the hashing path needs, since it
reads Pillow's buffer in place), hotline's PDQ plus decode (`pdq_from_bytes`), PDQ alone on
the decoded pixels, and threatexchange's `PdqSignal.hash_from_bytes`; hashes compared.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image, ImageDraw

WIDTH, HEIGHT = 1024, 768


def background(seed: int) -> Image.Image:
    """A 1024x768 test card: colour waves plus noise."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, WIDTH, dtype=np.float32)[np.newaxis, :]
    y = np.linspace(0.0, 1.0, HEIGHT, dtype=np.float32)[:, np.newaxis]
    k = rng.uniform(1, 9, 6).astype(np.float32)
    planes = [
        np.sin(k[0] * x + k[1] * y),
        np.cos(k[2] * x * y + k[3] * x),
        np.sin(k[4] * y - k[5] * x),
    ]
    noise = rng.normal(0, 6, (HEIGHT, WIDTH, 3)).astype(np.float32)
    return Image.fromarray(
        (np.stack(planes, axis=-1) * 110 + 128 + noise).clip(0, 255).astype(np.uint8)
    )


def benign_jpegs(n: int, seed: int) -> list[bytes]:
    """n different JPEGs: a few backgrounds, each image with its own random shapes."""
    rng = np.random.default_rng(seed)
    backgrounds = [background(seed + i) for i in range(8)]
    out = []
    for i in range(n):
        image = backgrounds[i % len(backgrounds)].copy()
        draw = ImageDraw.Draw(image)
        for _ in range(15):
            x0, x1 = sorted(int(v) for v in rng.integers(0, WIDTH, 2))
            y0, y1 = sorted(int(v) for v in rng.integers(0, HEIGHT, 2))
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            if rng.integers(0, 2):
                draw.rectangle((x0, y0, x1, y1), fill=colour)
            else:
                draw.ellipse((x0, y0, x1, y1), fill=colour)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def ours(data: bytes) -> str:
    from hotline.hashing import pdq_from_bytes

    return pdq_from_bytes(data).hex


def reference(data: bytes) -> str:
    from threatexchange.signal_type.pdq.signal import PdqSignal

    return PdqSignal.hash_from_bytes(data)


def decode_only(data: bytes) -> str:
    return str(np.asarray(Image.open(io.BytesIO(data))).shape)


def decode_floor(data: bytes) -> str:
    """Pillow open and load: what hashing cannot do without (no copy into numpy)."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.mode


def pdq_only(data: bytes) -> float:
    """Seconds of PDQ alone on the decoded pixels (read in place, as pdq_from_bytes does)."""
    from hotline.hashing import pdq
    from hotline.hashing.image_io import decode_image_in_place

    pixels = decode_image_in_place(data)
    start = time.perf_counter()
    pdq.pdq_from_pixels(pixels)
    return time.perf_counter() - start


def profile_steps(data: bytes) -> None:
    """Where PDQ's time goes on one image: each step of the fused kernel run on its own
    (best of 200), then the kernel and PDQ whole. Uses hotline's private kernels."""
    from hotline.hashing import jarosz as j
    from hotline.hashing import pdq
    from hotline.hashing.image_io import decode_image_in_place

    def best(fn: Callable[[], object]) -> float:
        fn()
        times = []
        for _ in range(200):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return 1000 * min(times)

    pixels = decode_image_in_place(data)
    if not j.HAVE_NUMBA:
        print("numpy back end: no step profile")
        return
    from numba import njit

    rows, cols = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    flat = pixels.reshape(-1)
    plan = j._plan(rows, cols)
    lanes, blocks, wr = j.LANES, rows // j.LANES, plan.wr
    luma = np.empty((rows, cols + j._ROW_PAD), dtype=np.float32)
    b1, c1 = np.empty_like(luma), np.empty_like(luma)
    xs = np.empty((cols, lanes), dtype=np.float32)
    sums = np.empty_like(xs)
    b2 = np.empty((rows, plan.n_sel_cols), dtype=np.float32)
    c2 = np.empty((plan.n_sel_rows, plan.n_sel_cols), dtype=np.float32)
    no_inverses = np.empty(0, dtype=np.float64)

    # The kernel works on blocks of LANES rows in cache; so do these loops.
    @njit
    def to_lanes(src, xs):  # type: ignore[no-untyped-def]
        for r0 in range(0, blocks * lanes, lanes):
            j._to_lanes_nb(src[r0 : r0 + lanes], cols, xs)

    @njit
    def lane_sums(xs, sums, counts):  # type: ignore[no-untyped-def]
        for _ in range(blocks):
            j._lane_box_sums(xs, sums, cols, wr, counts)

    @njit
    def from_lanes(sums, dst):  # type: ignore[no-untyped-def]
        for r0 in range(0, blocks * lanes, lanes):
            j._from_lanes_nb(sums, cols, dst[r0 : r0 + lanes])

    @njit
    def pass3(src, xs, sums, picks, counts, b2):  # type: ignore[no-untyped-def]
        for r0 in range(0, blocks * lanes, lanes):
            j._pass3_nb(
                src[r0 : r0 + lanes], lanes, xs, sums, wr, picks, counts, no_inverses, b2, r0
            )

    words = flat.view(np.uint32) if channels == 4 else flat
    steps = {
        "luma (float64 formula)": (
            (lambda: j._luma_words_nb(words, j.LUMA_RGB64, 0, rows, cols, luma))
            if channels == 4
            else (lambda: j._luma_rows_nb(flat, channels, j.LUMA_RGB64, 0, rows, cols, luma))
        ),
        "pass 1: rows to lanes (transpose)": lambda: to_lanes(luma, xs),
        "pass 1: sums and quotients, 16 rows a vector": lambda: lane_sums(
            xs, sums, plan.row_inverses
        ),
        "pass 1: lanes back to rows": lambda: from_lanes(sums, b1),
        "pass 2: along columns (vectorised)": lambda: j._box_cols_nb(
            b1, c1, plan.wc, np.arange(rows)
        ),
        "pass 3: to lanes, sums, 64 kept": lambda: pass3(
            c1, xs, sums, plan.col_picks, plan.row_counts, b2
        ),
        "pass 4: along columns, 64 kept": lambda: j._box_cols_nb(b2, c2, plan.wc, plan.row_slot),
        "quality, DCT, median, bits": lambda: pdq._finish(c2, "numba"),
    }
    spent = {label: best(fn) for label, fn in steps.items()}
    spent["(sum of the steps)"] = sum(spent.values())
    spent["fused kernel, whole"] = best(lambda: j.downsample_pixels_fused(pixels, j.LUMA_RGB64))
    spent["pdq_from_pixels, whole"] = best(lambda: pdq.pdq_from_pixels(pixels))
    print("PDQ's steps on one image (best of 200 each):")
    for label, ms in spent.items():
        print(f"  {label:<44} {ms:6.3f} ms")


def per_image(images: Sequence[bytes], repeats: int, cpu: int | None) -> None:
    """One image at a time on one core: best of `repeats` per image, then the mean."""
    allowed = sorted(os.sched_getaffinity(0))
    core = allowed[-1] if cpu is None else cpu
    os.sched_setaffinity(0, {core})
    print(f"pinned to CPU {core}; load average before {os.getloadavg()[0]:.2f}")
    timers: list[tuple[str, Callable[[bytes], object]]] = [
        ("decode floor (Pillow open + load)", decode_floor),
        ("hotline PDQ + decode (pdq_from_bytes)", ours),
        ("threatexchange PdqSignal.hash_from_bytes", reference),
    ]
    for _, fn in timers:
        fn(images[0])  # imports, numba's cache
    best = {label: [float("inf")] * len(images) for label, _ in timers}
    best_pdq = [float("inf")] * len(images)
    for _ in range(repeats):
        for i, data in enumerate(images):
            for label, fn in timers:
                start = time.perf_counter()
                fn(data)
                best[label][i] = min(best[label][i], time.perf_counter() - start)
            best_pdq[i] = min(best_pdq[i], pdq_only(data))
    our_hashes = [ours(data) for data in images]
    ref_hashes = [reference(data) for data in images]
    same = sum(1 for a, b in zip(our_hashes, ref_hashes, strict=True) if a == b)
    print(f"load average after {os.getloadavg()[0]:.2f}")
    print(f"identical hashes: {same}/{len(images)}")
    ms = {label: 1000 * float(np.mean(times)) for label, times in best.items()}
    for label, value in ms.items():
        print(f"  {label:<44} {value:6.2f} ms")
    print(f"  {'hotline PDQ alone, on the decoded pixels':<44} {1000 * np.mean(best_pdq):6.2f} ms")
    floor, hotline, ref = (ms[label] for label, _ in timers)
    print(f"hotline / decode floor:        {hotline / floor:.2f}x  (target <= 1.5x)")
    print(f"threatexchange / decode floor: {ref / floor:.2f}x")
    print(f"threatexchange / hotline:      {ref / hotline:.2f}x")
    profile_steps(images[0])
    if same != len(images):
        raise SystemExit("hashes differ from the reference")


def timed(fn: Callable[[bytes], str], images: Sequence[bytes]) -> tuple[float, float, list[str]]:
    """Wall seconds, CPU seconds of this process, and the hashes."""
    fn(images[0])  # warm-up: imports, numba's compiled-code cache
    start, cpu_start = time.perf_counter(), time.process_time()
    out = [fn(data) for data in images]
    return time.perf_counter() - start, time.process_time() - cpu_start, out


def timed_pool(
    fn: Callable[[bytes], str], images: Sequence[bytes], workers: int
) -> tuple[float, list[str]]:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(fn, images[: workers * 2]))  # start and warm every worker
        start = time.perf_counter()
        out = list(pool.map(fn, images, chunksize=8))
        return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="number of images (default 300)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--per-image", action="store_true", help="time one image at a time on one core"
    )
    parser.add_argument("--repeats", type=int, default=15, help="--per-image rounds (15)")
    parser.add_argument("--cpu", type=int, help="--per-image: the core to pin to (the last)")
    args = parser.parse_args()

    from hotline.hashing import jarosz

    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, backend {jarosz.BACKENDS[0]}"
    )
    start = time.perf_counter()
    images = benign_jpegs(args.n, args.seed)
    print(f"generated {args.n} JPEGs of {WIDTH}x{HEIGHT} in {time.perf_counter() - start:.1f} s")
    if args.per_image:
        per_image(images, args.repeats, args.cpu)
        return

    # (label, wall seconds, CPU seconds or None). CPU time is the steadier figure when other
    # work shares the cores; images/s comes from wall time.
    rows: list[tuple[str, float, float | None]] = []
    t_dec, c_dec, _ = timed(decode_only, images)
    rows.append(("Pillow decode only (floor)", t_dec, c_dec))
    t_ref, c_ref, ref_hashes = timed(reference, images)
    rows.append(("threatexchange PdqSignal, 1 process", t_ref, c_ref))
    t_ours, c_ours, our_hashes = timed(ours, images)
    rows.append(("hotline.hashing, 1 process", t_ours, c_ours))
    t_ref_pool, ref_pool_hashes = timed_pool(reference, images, args.workers)
    rows.append((f"threatexchange PdqSignal, {args.workers} processes", t_ref_pool, None))
    t_pool, pool_hashes = timed_pool(ours, images, args.workers)
    rows.append((f"hotline.hashing, {args.workers} processes", t_pool, None))

    blank = sum(1 for h in ref_hashes if not h)  # PdqSignal blanks quality < 50
    mismatches = sum(1 for a, b in zip(ref_hashes, our_hashes, strict=True) if a != b)
    assert pool_hashes == our_hashes and ref_pool_hashes == ref_hashes
    print(f"identical hashes: {args.n - mismatches}/{args.n} (reference blanked {blank})")
    print(f"distinct hashes: {len(set(our_hashes))}")
    for label, seconds, cpu in rows:
        rate, each_ms = args.n / seconds, 1000 * seconds / args.n
        cpu_text = f", CPU {1000 * cpu / args.n:.2f} ms" if cpu is not None else ""
        print(f"  {label:<42} {rate:8.1f} images/s  ({each_ms:.2f} ms each{cpu_text})")
    w = args.workers
    print(f"speed-up, 1 process each:                   {t_ref / t_ours:.2f}x")
    print(f"speed-up, CPU time per image:               {c_ref / c_ours:.2f}x")
    print(f"speed-up, ours with {w} vs reference with 1:   {t_ref / t_pool:.2f}x")
    print(f"speed-up, {w} processes each:                   {t_ref_pool / t_pool:.2f}x")
    if mismatches or blank:
        raise SystemExit("hashes differ from the reference")


if __name__ == "__main__":
    main()

"""Benchmark `hotline media rehash` with the example dHash plug-in (examples/hotline-dhash):
how fast a newly adopted signal type is computed over stored media.

    .venv/bin/python bench/bench_rehash.py --items 300 [--batch 100]

A throwaway SQLite database and media store (a temporary folder) get `--items` stored,
sealed benign 640x480 JPEGs (drawn here, 20 distinct). Timed: the rehash run that fills
them all, a second run that finds nothing to do, and the per-image cost of dHash beside the
built-in hashes (digests and PDQ), which is what capture pays extra per installed plug-in.
The load average is printed: the machine is shared.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from hotline_dhash import DHashSignal
from PIL import Image, ImageDraw

from hotline.db import migrate
from hotline.db.engine import Database
from hotline.grading import media_signals, service
from hotline.grading.media_store import MediaStore
from hotline.hashing import hash_bytes
from hotline.security.audit_keys import chain_key_from, use_default_key

SECRET = b"bench-rehash-secret-bench-rehash-secret-bench"


def benign_jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (640, 480), tuple(int(c) for c in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, x1 = sorted(int(v) for v in rng.integers(0, 640, 2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, 480, 2))
        draw.ellipse((x0, y0, x1, y1), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    use_default_key(chain_key_from(SECRET))
    folder = Path(tempfile.mkdtemp())
    db = Database(f"sqlite:///{folder / 'bench.db'}")
    migrate.upgrade(db)
    store = MediaStore(folder / "media", SECRET)
    images = [benign_jpeg(seed) for seed in range(20)]
    for i in range(args.items):
        data = images[i % len(images)]
        with db.write() as session:
            item = service.register_media(
                session,
                url_id=None,
                source_url=f"https://example.com/{i}.jpg",
                kind="image",
                hashes=service.MediaHashesIn.of(hash_bytes(data)),
                byte_count=len(data),
                stored=True,
                purge_after=None,
            )
        store.put(item.id, data)
    started = time.perf_counter()
    result = media_signals.rehash(db, store, DHashSignal, actor="bench", batch=args.batch)
    took = time.perf_counter() - started
    print(f"rehash: {took:.2f} s for {result.computed} items, {result.computed / took:.0f}/s")
    started = time.perf_counter()
    again = media_signals.rehash(db, store, DHashSignal, actor="bench", batch=args.batch)
    print(f"re-run: {time.perf_counter() - started:.3f} s, computed {again.computed}")
    started = time.perf_counter()
    for data in images:
        DHashSignal.hash_bytes(data)
    dhash_ms = (time.perf_counter() - started) / len(images) * 1000
    started = time.perf_counter()
    for data in images:
        hash_bytes(data)
    builtin_ms = (time.perf_counter() - started) / len(images) * 1000
    print(f"per image: dHash {dhash_ms:.1f} ms, built-in digests + PDQ {builtin_ms:.1f} ms")
    print(f"load average {os.getloadavg()[0]:.1f}")
    db.dispose()


if __name__ == "__main__":
    main()

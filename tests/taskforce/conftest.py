"""Taskforce fixtures: a real Dask LocalCluster (two in-process workers, started once for the
module), benign images drawn with Pillow (near-duplicate families: resized, re-compressed,
marked), and an import helper."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client
from PIL import Image, ImageDraw

from hotline.db.engine import Database
from hotline.security.permissions import Actor
from hotline.taskforce import cluster, importer
from hotline.taskforce.model import Limits

LIMITS = Limits(
    max_members=1000, max_total_bytes=50_000_000, max_member_bytes=5_000_000, max_ratio=100
)


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Client]:
    with cluster.connect(workers=2, processes=False) as dask_client:
        yield dask_client


def drawn(
    seed: int, size: tuple[int, int] = (160, 120), fmt: str = "PNG", mark: bool = False
) -> bytes:
    """A benign picture: shapes and colours from `seed`."""
    image = Image.new("RGB", (160, 120), (seed * 37 % 256, 90, 200 - seed * 23 % 200))
    draw = ImageDraw.Draw(image)
    draw.ellipse((10 + seed * 7 % 60, 10, 110, 100), fill=(250, 220 - seed * 31 % 200, 10))
    draw.rectangle(
        (40, 5 + seed * 11 % 40, 80 + seed * 13 % 60, 115), fill=(10, seed * 53 % 256, 90)
    )
    if mark:
        draw.text((5, 5), "example.org", fill=(255, 255, 255))
    if size != image.size:
        image = image.resize(size)
    out = io.BytesIO()
    image.save(out, format=fmt, **({"quality": 70} if fmt == "JPEG" else {}))
    return out.getvalue()


def family_folder(root: Path) -> Path:
    """Three families of near-duplicates, an exact duplicate, and a file that is not media."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "sub").mkdir()
    for seed in range(3):
        (root / f"a{seed}.png").write_bytes(drawn(seed))
        (root / f"a{seed}-small.png").write_bytes(drawn(seed, size=(80, 60)))
        (root / f"a{seed}.jpg").write_bytes(drawn(seed, fmt="JPEG"))
        (root / f"a{seed}-marked.png").write_bytes(drawn(seed, mark=True))
    (root / "sub" / "copy-of-a0.png").write_bytes(drawn(0))
    (root / "notes.txt").write_text("not media")
    return root  # 14 files: 12 distinct images, 1 duplicate, 1 failure


def run_import(
    db: Database,
    name: str,
    paths: list[Path],
    client: Client | importer.LazyClient | None,
    *,
    hash_only: bool = True,
    **options: object,
) -> importer.ImportReport:
    opts = importer.Options(**({"limits": LIMITS} | options))  # type: ignore[arg-type]
    return importer.import_sources(
        db, Actor.operator("tester"), name, paths, client=client, hash_only=hash_only, options=opts
    )

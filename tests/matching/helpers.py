"""Benign test media drawn here, and shortcuts for lists, members and keys."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from hotline.db.engine import Database
from hotline.hashing import hash_bytes
from hotline.matching import store, validation
from hotline.matching.model import NewEntry

DATA = Path(__file__).resolve().parent.parent / "data"
BRIDGE = DATA / "pdq" / "bridge-mods"
VIDEO = DATA / "vpdq" / "test-padded-dimensions.mp4"


def shapes_png(seed: int = 0, size: int = 256) -> bytes:
    """A gradient with rectangles and ellipses: a benign, high-quality PDQ input."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, size)[None, :]
    y = np.linspace(0, 1, size)[:, None]
    planes = [np.sin(7 * x + 3 * y + seed), np.cos(5 * x * y + 2 * x), np.sin(4 * y - 2 * x)]
    pixels = (np.stack(planes, -1) * 110 + 128).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    for _ in range(8):
        x0, x1 = sorted(int(v) for v in rng.integers(0, size, 2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, size, 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.rectangle if rng.integers(0, 2) else draw.ellipse)((x0, y0, x1, y1), fill=colour)
    return encode(image, "PNG")


def flat_png(size: int = 64) -> bytes:
    """One flat colour: PDQ's quality is near 0 for it."""
    return encode(Image.new("RGB", (size, size), (120, 130, 140)), "PNG")


def noise_png(size: int = 1200, seed: int = 1) -> bytes:
    """Random pixels: a PNG of several MiB (bigger than any spooling threshold)."""
    rng = np.random.default_rng(seed)
    return encode(Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)), "PNG")


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions: a decompression bomb is refused from its header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def entry_for(
    data: bytes, category: str = "A", *, pdq: bool = True, exact: bool = True
) -> NewEntry:
    hashes = hash_bytes(data)
    assert hashes.pdq is not None
    return NewEntry(
        category=category,
        md5=hashes.digests.md5 if exact else None,
        sha1=hashes.digests.sha1 if exact else None,
        sha256=hashes.digests.sha256 if exact else None,
        pdq=hashes.pdq.hex if pdq else None,
        pdq_quality=hashes.pdq.quality if pdq else None,
    )


def random_pdq(rng: np.random.Generator) -> str:
    return bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex()


def flip_bits(hex_hash: str, count: int, rng: np.random.Generator | None = None) -> str:
    rng = rng or np.random.default_rng(7)
    value = int(hex_hash, 16)
    for bit in rng.choice(256, count, replace=False):
        value ^= 1 << int(bit)
    return f"{value:064x}"


def make_list(
    db: Database, name: str, entries: list[NewEntry] | None = None, **options: object
) -> None:
    with db.write() as session:
        store.create_list(session, name, **options)  # type: ignore[arg-type]
        if entries:
            store.add_entries(session, name, entries)


def add(db: Database, name: str, entries: list[NewEntry]) -> int:
    with db.write() as session:
        return store.add_entries(session, name, entries).version


def entry_ids(db: Database, name: str) -> list[int]:
    with db.read() as session:
        info = store.get_list(session, name)
        return [e.id for e in store.live_entries(session, info.id)]


def make_key(db: Database, member: str, lists: list[str]) -> str:
    with db.write() as session:
        if member not in [m.name for m in store.list_members(session)]:
            store.create_member(session, member)
        issued, _ = store.create_key(session, member, lists)
    return issued.key


def entry(**fields: object) -> NewEntry:
    return validation.entry(fields)

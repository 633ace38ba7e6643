"""Fixtures for the hashing tests: the copied Meta vectors and benign images drawn here."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

DATA = Path(__file__).resolve().parent.parent / "data"
PDQ_DIR = DATA / "pdq"
VPDQ_DIR = DATA / "vpdq"


def pdq_vectors() -> list[tuple[str, str, int]]:
    with (PDQ_DIR / "expected.csv").open(newline="") as handle:
        return [(r["path"], r["pdq_hex"], int(r["quality"])) for r in csv.DictReader(handle)]


def gradient_rgb(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A smooth benign test card: sine and cosine colour waves plus a little noise."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, width)[np.newaxis, :]
    y = np.linspace(0.0, 1.0, height)[:, np.newaxis]
    phase = rng.uniform(0, 6, 3)
    planes = [
        np.sin(7 * x + 3 * y + phase[0]),
        np.cos(5 * x * y + 2 * x + phase[1]),
        np.sin(4 * y - 2 * x + phase[2]),
    ]
    noise = rng.normal(0, 6, (height, width, 3))
    return (np.stack(planes, axis=-1) * 110 + 128 + noise).clip(0, 255).astype(np.uint8)


def shapes_image(width: int, height: int, seed: int = 0) -> Image.Image:
    """Benign shapes (rectangles, ellipses, lines) on a gradient: a high-quality PDQ input."""
    rng = np.random.default_rng(seed)
    image = Image.fromarray(gradient_rgb(width, height, seed))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, x1 = sorted(rng.integers(0, width, 2))
        y0, y1 = sorted(rng.integers(0, height, 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = rng.integers(0, 3)
        if shape == 0:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        elif shape == 1:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.line((x0, y0, x1, y1), fill=colour, width=int(rng.integers(2, 12)))
    return image


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture
def card() -> Image.Image:
    return Image.fromarray(gradient_rgb(320, 240, seed=7))

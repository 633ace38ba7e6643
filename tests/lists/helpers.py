"""Small builders for list tests: synthetic entries (random hashes, no media)."""

from __future__ import annotations

import numpy as np

from hotline.db.engine import Database
from hotline.matching import store
from hotline.matching.model import NewEntry


def entries(n: int, seed: int = 1, category: str = "A") -> list[NewEntry]:
    rng = np.random.default_rng(seed)
    return [
        NewEntry(
            category=category,
            md5=bytes(rng.integers(0, 256, 16, dtype=np.uint8)).hex(),
            pdq=bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex(),
            pdq_quality=100,
            shared={"jurisdictions": {"us_vics": "1", "interpol_baseline": "baseline"}},
        )
        for _ in range(n)
    ]


def new_list(db: Database, name: str, items: list[NewEntry]) -> None:
    with db.write() as session:
        store.create_list(session, name)
        store.add_entries(session, name, items)


def ids(db: Database, name: str) -> list[int]:
    with db.read() as session:
        info = store.get_list(session, name)
        return [e.id for e in store.live_entries(session, info.id)]


def drawn_video(
    seed: int,
    *,
    container: str = "mp4",
    codec: str = "libx264",
    size: tuple[int, int] = (128, 96),
    frames: int = 20,
    start: int = 0,
) -> bytes:
    """A small benign video drawn here: coloured rectangles and discs on a plain ground,
    sliding a little each frame (frames `start`… of the same scene, so a later start is a
    clip of the same video). PDQ quality of the frames is about 75."""
    import io
    from fractions import Fraction

    import av
    from PIL import Image, ImageDraw

    width, height = size
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for n, i in enumerate(range(start, start + frames)):
            rng = np.random.default_rng(seed)
            image = Image.new("RGB", (width, height), (int(rng.integers(0, 256)), 90, 160))
            draw = ImageDraw.Draw(image)
            for k in range(10):
                x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
                side = int(rng.integers(width // 8, width // 3))
                colour = tuple(int(v) for v in rng.integers(0, 256, 3))
                x0 += int((k % 3 - 1) * i * width / 100)
                shape = draw.ellipse if k % 2 else draw.rectangle
                shape((x0, y0, x0 + side, y0 + side), fill=colour)
            frame = av.VideoFrame.from_ndarray(np.asarray(image), format="rgb24")
            frame.pts = n
            frame.time_base = Fraction(1, 10)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()

"""vPDQ: a PDQ hash for every video frame, decoded with PyAV (wheels bundle FFmpeg).

Follows Meta's vpdq C++ hasher (vpdq/cpp/hashing/filehasher.cpp and pdqbufferhasher.cpp):

- the first video stream; frames in decode order, numbered from 0; every frame hashed
  (Meta's default of one hash per frame);
- each frame converted to RGB24 at its own size with swscale's area filter, no resizing,
  with accurate rounding and bit-exact mode (see `_sws_flags`);
- luma from float coefficients (`fillFloatLumaFromRGB`), then PDQ as for images;
- timestamp = frame number / average frame rate, as float32.

FFmpeg builds differ in their YUV->RGB fast paths (SIMD code chosen by CPU and frame
width), so the same video can give RGB values one step apart and PDQ bits apart. Asking
swscale for accurate rounding and bit-exact output takes the slower exact path on every
build: it reproduces two of Meta's three golden files bit for bit and the third within 8
bits (tests allow 10 on frames of quality >= 50).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hotline.errors import N_
from hotline.hashing import pdq
from hotline.hashing.errors import ErrorCode, HashingError
from hotline.hashing.hexhash import normalise_hex
from hotline.hashing.image_io import DEFAULT_MAX_PIXELS, video_demuxer


@dataclass(frozen=True, slots=True)
class VpdqFrame:
    """One hashed frame: number (from 0), PDQ quality, PDQ hex, timestamp in seconds."""

    frame: int
    quality: int
    pdq: str
    timestamp: float

    def to_line(self) -> str:
        """Meta's text format: `frame,quality,pdq_hex,timestamp` with 3 decimals."""
        return f"{self.frame},{self.quality},{self.pdq},{self.timestamp:.3f}"


def _sws_flags() -> Any:
    from av.video.reformatter import Interpolation

    return Interpolation.AREA | Interpolation.ACCURATE_RND | Interpolation.BITEXACT


def vpdq_from_bytes(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, max_frames: int | None = None
) -> list[VpdqFrame]:
    """vPDQ of a video held in memory (MP4, MOV, WebM, MKV, AVI)."""
    if not data:
        raise HashingError(ErrorCode.EMPTY_FILE, N_("the file is empty"))
    demuxer = _demuxer_for(data[:16])
    return _hash_video(io.BytesIO(data), demuxer, max_pixels=max_pixels, max_frames=max_frames)


def vpdq_from_file(
    path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS, max_frames: int | None = None
) -> list[VpdqFrame]:
    """vPDQ of a video file, streamed from disk (never read into memory whole).

    The file is opened by Python and handed to FFmpeg as a stream, so FFmpeg never parses
    the path (a name like `concat:a|b` or `http:...` would otherwise select a protocol).
    """
    path = Path(path)
    try:
        if not path.is_file():  # a FIFO or device would block or never end
            raise HashingError(
                ErrorCode.UNREADABLE_FILE, N_("%(path)s is not a regular file", path=path)
            )
        with path.open("rb") as handle:
            head = handle.read(16)
            if not head:
                raise HashingError(ErrorCode.EMPTY_FILE, N_("the file is empty"))
            demuxer = _demuxer_for(head)
            handle.seek(0)
            return _hash_video(handle, demuxer, max_pixels=max_pixels, max_frames=max_frames)
    except OSError as exc:
        raise HashingError(
            ErrorCode.UNREADABLE_FILE, N_("cannot read %(path)s: %(exc)s", path=path, exc=exc)
        ) from exc


def _demuxer_for(head: bytes) -> str:
    demuxer = video_demuxer(head)
    if demuxer is None:
        raise HashingError(
            ErrorCode.UNSUPPORTED_MEDIA, N_("not a supported video (MP4, MOV, WebM, MKV, AVI)")
        )
    return demuxer


def _hash_video(
    source: Any, demuxer: str, *, max_pixels: int, max_frames: int | None
) -> list[VpdqFrame]:
    import av  # imported here: PyAV loads FFmpeg, which image-only callers never need

    try:
        container = av.open(source, mode="r", format=demuxer)
    except av.FFmpegError as exc:
        raise HashingError(
            ErrorCode.CORRUPT_MEDIA, N_("cannot open video: %(exc)s", exc=exc)
        ) from exc
    except (OSError, ValueError) as exc:  # pragma: no cover - FFmpegError covers most
        raise HashingError(
            ErrorCode.CORRUPT_MEDIA, N_("cannot open video: %(exc)s", exc=exc)
        ) from exc
    with container:
        if not container.streams.video:
            raise HashingError(ErrorCode.UNSUPPORTED_MEDIA, N_("no video stream in the file"))
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if width * height > max_pixels:
            raise HashingError(
                ErrorCode.TOO_MANY_PIXELS,
                N_(
                    "%(width)sx%(height)s frames are over the limit of %(max_pixels)s pixels",
                    width=width,
                    height=height,
                    max_pixels=max_pixels,
                ),
            )
        rate = stream.average_rate or stream.base_rate or stream.guessed_rate
        if not rate:
            raise HashingError(ErrorCode.CORRUPT_MEDIA, N_("the video has no frame rate"))
        frame_rate = np.float32(float(rate))
        flags = _sws_flags()
        frames: list[VpdqFrame] = []
        try:
            for number, frame in enumerate(container.decode(stream)):
                if max_frames is not None and number >= max_frames:
                    break
                if frame.width * frame.height > max_pixels:
                    raise HashingError(
                        ErrorCode.TOO_MANY_PIXELS, N_("a frame is over the pixel limit")
                    )
                rgb = frame.to_ndarray(format="rgb24", interpolation=flags)
                hashed = pdq.pdq_from_rgb_float32_luma(rgb)
                seconds = float(np.float32(number) / frame_rate)
                frames.append(VpdqFrame(number, hashed.quality, hashed.hex, round(seconds, 3)))
        except av.FFmpegError as exc:
            raise HashingError(
                ErrorCode.CORRUPT_MEDIA, N_("video decoding failed: %(exc)s", exc=exc)
            ) from exc
    if not frames:
        raise HashingError(ErrorCode.CORRUPT_MEDIA, N_("no frame could be decoded"))
    return frames


def parse_vpdq_lines(text: str) -> list[VpdqFrame]:
    """Read Meta's text format back (`frame,quality,pdq_hex,timestamp` per line)."""
    frames = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.strip().split(",")
        if len(parts) != 4:
            raise HashingError(
                ErrorCode.INVALID_HASH,
                N_(
                    "line %(line_number)s: expected 4 comma-separated fields",
                    line_number=line_number,
                ),
            )
        try:
            frame, quality, timestamp = int(parts[0]), int(parts[1]), float(parts[3])
        except ValueError as exc:
            raise HashingError(
                ErrorCode.INVALID_HASH,
                N_("line %(line_number)s: bad number (%(exc)s)", line_number=line_number, exc=exc),
            ) from exc
        frames.append(VpdqFrame(frame, quality, normalise_hex(parts[2], pdq.HEX_LENGTH), timestamp))
    return frames

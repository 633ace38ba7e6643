"""A 64-bit difference hash (dHash) as a hotline signal type: the example plug-in.

Uses only hotline.hashing's public interface, so nothing inside hotline changes to add it.
"""

from __future__ import annotations

from PIL import Image

from hotline.hashing import (
    Comparison,
    ErrorCode,
    HashingError,
    SignalKind,
    SignalType,
    hamming_distance,
    normalise_hex,
    open_image,
)

HEX_LENGTH = 16  # 64 bits
_WIDTH, _HEIGHT = 9, 8  # 8 comparisons a row, 8 rows


class DHashSignal(SignalType):
    name = "dhash"
    description = "dHash: 64-bit difference hash of an image (example plug-in)"
    kind = SignalKind.DISTANCE
    max_distance = 10
    applies_to = frozenset({"image"})
    # 64 bits as 16 hex digits, compared by Hamming distance: hotline's match index may
    # search it with a vectorised XOR-and-popcount scan instead of calling `compare`.
    hamming_bits = 64

    @classmethod
    def hash_bytes(cls, data: bytes) -> str:
        # open_image refuses empty files, unsupported formats and decompression bombs.
        image = open_image(data)
        try:
            image.seek(0)
            small = image.convert("L").resize((_WIDTH, _HEIGHT), Image.Resampling.LANCZOS)
        except (OSError, ValueError) as exc:
            raise HashingError(ErrorCode.CORRUPT_MEDIA, f"unreadable image: {exc}") from exc
        finally:
            image.close()
        pixels = small.tobytes()  # mode L: one byte a pixel, row by row
        bits = 0
        for y in range(_HEIGHT):
            row = pixels[y * _WIDTH : (y + 1) * _WIDTH]
            for x in range(_WIDTH - 1):
                bits = (bits << 1) | (row[x] > row[x + 1])
        return f"{bits:0{HEX_LENGTH}x}"

    @classmethod
    def validate(cls, value: str) -> str:
        return normalise_hex(value, HEX_LENGTH, name="dHash")

    @classmethod
    def compare(cls, a: str, b: str, threshold: int | None = None) -> Comparison:
        distance = hamming_distance(cls.validate(a), cls.validate(b))
        limit = cls.max_distance if threshold is None else threshold
        return Comparison(distance, distance <= limit)

    @classmethod
    def examples(cls) -> list[str]:
        return ["0" * HEX_LENGTH, "f0f0f0f0f0f0f0f0", "123456789abcdef0"]

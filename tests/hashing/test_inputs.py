"""Image formats, pixel modes and every kind of bad input."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hotline.hashing import (
    ErrorCode,
    HashingError,
    MediaKind,
    hash_bytes,
    hash_file,
    pdq_from_bytes,
    pdq_from_file,
    pdq_from_pixels,
)

from .conftest import encode, shapes_image


def reference(data: bytes) -> tuple[str, int]:
    """threatexchange's PDQ; the tests that need it skip when it is not installed."""
    hasher = pytest.importorskip("threatexchange.signal_type.pdq.pdq_hasher")
    hex_, quality = hasher.pdq_from_bytes(data)
    return hex_, int(quality)


def ours(data: bytes) -> tuple[str, int]:
    result = pdq_from_bytes(data)
    return result.hex, result.quality


@pytest.fixture
def picture() -> Image.Image:
    return shapes_image(320, 240, seed=11)


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("JPEG", {"quality": 90}),
        ("PNG", {}),
        ("GIF", {}),
        ("WEBP", {"quality": 80}),
        ("WEBP", {"lossless": True}),
        ("BMP", {}),
        ("TIFF", {}),
        ("TIFF", {"compression": "tiff_lzw"}),
    ],
)
def test_formats_decode_and_hash(
    picture: Image.Image, fmt: str, options: dict[str, object]
) -> None:
    data = encode(picture, fmt, **options)
    result = pdq_from_bytes(data)
    assert result.quality >= 50
    if fmt == "GIF":
        # Pillow opens GIFs as palette images; we hash their colours (see docs/hashing.md).
        with Image.open(io.BytesIO(data)) as image:
            expected = pdq_from_pixels(np.asarray(image.convert("RGB")))
        assert result == expected
    else:
        assert (result.hex, result.quality) == reference(data)
    # Lossless formats hash exactly like the pixels they hold.
    if fmt in ("PNG", "BMP", "TIFF") or options.get("lossless"):
        assert result == pdq_from_pixels(np.asarray(picture))


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "RGB"])
def test_modes_match_reference(picture: Image.Image, mode: str) -> None:
    data = encode(picture.convert(mode), "PNG")
    assert ours(data) == reference(data)


def test_sixteen_bit_grey_matches_reference() -> None:
    ramp = (np.add.outer(np.arange(120), np.arange(160)) * 3).astype(np.uint16)
    image = Image.fromarray(ramp).convert("I;16")
    data = encode(image, "PNG")
    with Image.open(io.BytesIO(data)) as reopened:
        assert reopened.mode == "I;16"
    assert ours(data) == reference(data)


def test_rgba_alpha_is_ignored_like_the_reference(picture: Image.Image) -> None:
    rgba = picture.convert("RGBA")
    rgba.putalpha(Image.new("L", picture.size, 0))  # fully transparent
    assert ours(encode(rgba, "PNG")) == ours(encode(picture, "PNG"))


def test_palette_images_hash_their_colours_not_their_indices(picture: Image.Image) -> None:
    palette = picture.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    data = encode(palette, "PNG")
    expected = pdq_from_pixels(np.asarray(palette.convert("RGB")))
    assert pdq_from_bytes(data) == expected
    # Reordering the palette changes the indices but not the picture, nor our hash.
    remapped = palette.remap_palette(list(range(63, -1, -1)))
    assert pdq_from_bytes(encode(remapped, "PNG")) == expected


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_is_converted_to_rgb(picture: Image.Image, fmt: str) -> None:
    data = encode(picture.convert("CMYK"), fmt)
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "CMYK"
        expected = pdq_from_pixels(np.asarray(image.convert("RGB")))
    assert pdq_from_bytes(data) == expected
    assert pdq_from_bytes(data).quality >= 50


def test_bilevel_image_hashes_as_black_and_white(picture: Image.Image) -> None:
    bilevel = picture.convert("1")
    result = pdq_from_bytes(encode(bilevel, "PNG"))
    assert result == pdq_from_pixels(np.asarray(bilevel.convert("L")))


def test_animated_gif_hashes_its_first_frame(picture: Image.Image) -> None:
    second = picture.transpose(Image.Transpose.ROTATE_180)
    data = encode(picture, "GIF", save_all=True, append_images=[second])
    first_only = encode(picture, "GIF")
    assert pdq_from_bytes(data) == pdq_from_bytes(first_only)


def test_small_and_flat_images_keep_their_low_quality() -> None:
    flat = pdq_from_bytes(encode(Image.new("RGB", (200, 100), (30, 90, 200)), "PNG"))
    assert flat.quality == 0
    assert not flat.is_reliable
    tiny = pdq_from_bytes(encode(Image.new("RGB", (3, 3), (1, 2, 3)), "PNG"))
    assert (tiny.hex, tiny.quality) == ("0" * 64, 0)


def test_path_and_bytes_agree(tmp_path: Path, picture: Image.Image) -> None:
    data = encode(picture, "JPEG")
    path = tmp_path / "card.jpg"
    path.write_bytes(data)
    assert pdq_from_file(path) == pdq_from_bytes(data)
    from_file, from_bytes = hash_file(path), hash_bytes(data)
    assert from_file == from_bytes
    assert from_file.kind is MediaKind.IMAGE
    assert from_file.digests.sha256 == hashlib.sha256(data).hexdigest()
    assert from_file.to_json()["pdq"] == from_file.pdq.hex  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- bad input


def error_code(call: object, *args: object, **kwargs: object) -> ErrorCode:
    with pytest.raises(HashingError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value.code


def test_empty_input(tmp_path: Path) -> None:
    assert error_code(pdq_from_bytes, b"") is ErrorCode.EMPTY_FILE
    assert error_code(hash_bytes, b"") is ErrorCode.EMPTY_FILE
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert error_code(hash_file, empty) is ErrorCode.EMPTY_FILE
    assert error_code(pdq_from_file, empty) is ErrorCode.EMPTY_FILE


def test_non_media_files() -> None:
    text = b"name,value\nreport,42\n" * 20
    assert error_code(hash_bytes, text) is ErrorCode.UNSUPPORTED_MEDIA
    assert error_code(pdq_from_bytes, text) is ErrorCode.UNSUPPORTED_MEDIA
    assert error_code(pdq_from_bytes, b"%PDF-1.7\n...") is ErrorCode.UNSUPPORTED_MEDIA
    # A format Pillow reads but we do not accept.
    assert error_code(pdq_from_bytes, encode(Image.new("RGB", (8, 8)), "PPM")) is (
        ErrorCode.UNSUPPORTED_MEDIA
    )


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP"])
def test_truncated_images_are_corrupt(picture: Image.Image, fmt: str) -> None:
    data = encode(picture, fmt)
    for cut in (len(data) // 2, 40):
        assert error_code(hash_bytes, data[:cut]) is ErrorCode.CORRUPT_MEDIA


def test_garbage_after_a_valid_signature_is_corrupt() -> None:
    rng = np.random.default_rng(5)
    junk = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    for magic in (b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"II*\x00"):
        assert error_code(hash_bytes, magic + junk) is ErrorCode.CORRUPT_MEDIA


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height: a decompression bomb's shape."""
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def test_decompression_bombs_are_refused_from_the_header() -> None:
    bomb = _png_claiming(60_000, 60_000)  # 3.6 gigapixels in 70 bytes
    assert len(bomb) < 100
    assert error_code(pdq_from_bytes, bomb) is ErrorCode.TOO_MANY_PIXELS
    assert error_code(hash_bytes, _png_claiming(12_000, 10_000)) is ErrorCode.TOO_MANY_PIXELS


def test_pixel_limit_is_configurable(picture: Image.Image) -> None:
    data = encode(picture, "JPEG")
    with pytest.raises(HashingError) as caught:
        pdq_from_bytes(data, max_pixels=320 * 240 - 1)
    assert caught.value.code is ErrorCode.TOO_MANY_PIXELS
    assert "320x240" in caught.value.message
    assert pdq_from_bytes(data, max_pixels=320 * 240).quality >= 50


def test_unreadable_paths(tmp_path: Path) -> None:
    assert error_code(hash_file, tmp_path / "missing.jpg") is ErrorCode.UNREADABLE_FILE
    assert error_code(hash_file, tmp_path) is ErrorCode.UNREADABLE_FILE
    assert error_code(pdq_from_file, tmp_path / "missing.jpg") is ErrorCode.UNREADABLE_FILE


def test_special_files_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    assert error_code(hash_file, fifo) is ErrorCode.UNREADABLE_FILE
    assert error_code(pdq_from_file, fifo) is ErrorCode.UNREADABLE_FILE


def test_error_text_carries_code_and_message() -> None:
    with pytest.raises(HashingError) as caught:
        hash_bytes(b"plain text")
    assert str(caught.value).startswith("unsupported_media: ")


def test_threads_hash_concurrently_and_leave_warning_filters_alone() -> None:
    import warnings
    from concurrent.futures import ThreadPoolExecutor

    before = list(warnings.filters)
    images = [encode(shapes_image(200, 150, seed=s), "PNG") for s in range(8)]
    expected = [pdq_from_bytes(data) for data in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(pdq_from_bytes, images * 4))
    assert results == expected * 4
    assert warnings.filters == before

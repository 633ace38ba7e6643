"""PDQ reads Pillow's own pixel buffer (its Arrow export) instead of copying it: the same
values and hashes as the copy, read-only, valid for as long as the array lives, and the
copy whenever the export is not there (an older Pillow, a mode it does not export, an image
in several memory blocks)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from hotline.hashing import image_io, pdq, pdq_from_bytes
from hotline.hashing.image_io import decode_image, decode_image_in_place

from .conftest import PDQ_DIR, encode, pdq_vectors, shapes_image

HAS_EXPORT = hasattr(Image.Image, "__arrow_c_array__")


def borrowed(pixels: np.ndarray) -> bool:
    """Whether the array is a view of Pillow's buffer rather than a copy (numpy's own, or
    Pillow's `tobytes`)."""
    root: object = pixels
    while isinstance(root, np.ndarray) and root.base is not None:
        root = root.base
    return isinstance(root, image_io._PillowBuffer)


def pictures() -> Iterator[tuple[str, bytes]]:
    picture = shapes_image(131, 97, seed=4)
    yield "jpeg-rgb", encode(picture, "JPEG", quality=85)
    yield "jpeg-grey", encode(picture.convert("L"), "JPEG", quality=85)
    yield "png-rgba", encode(picture.convert("RGBA"), "PNG")
    yield "png-palette", encode(picture.convert("P"), "PNG")
    yield "png-la", encode(picture.convert("LA"), "PNG")
    yield "gif", encode(picture.convert("P"), "GIF")


@pytest.mark.parametrize(("name", "data"), list(pictures()))
def test_the_borrowed_pixels_are_the_copied_ones(name: str, data: bytes) -> None:
    copied = decode_image(data)
    in_place = decode_image_in_place(data)
    assert not in_place.flags.writeable
    assert in_place.shape[:2] == copied.shape[:2]
    if copied.ndim == 3:
        assert np.array_equal(in_place[:, :, :3], copied[:, :, :3])
    else:
        assert np.array_equal(in_place, copied)
    for backend in ("numpy", *pdq.jarosz.BACKENDS[:1]):
        expected = pdq.pdq_from_pixels(copied, backend=backend)
        assert pdq.pdq_from_pixels(in_place, backend=backend) == expected


@pytest.mark.skipif(not HAS_EXPORT, reason="this Pillow has no Arrow export")
def test_rgb_is_read_in_place_as_four_bytes_a_pixel() -> None:
    """Pillow keeps RGB as RGBX: the borrowed array shows the fourth byte (the copy drops
    it), which is how this test knows no copy was made."""
    data = encode(shapes_image(64, 48, seed=1), "JPEG")
    pixels = decode_image_in_place(data)
    assert pixels.shape == (48, 64, 4) and borrowed(pixels)
    grey = decode_image_in_place(encode(shapes_image(64, 48).convert("L"), "PNG"))
    assert grey.shape == (48, 64) and borrowed(grey)
    assert not borrowed(decode_image(data))
    with pytest.raises(ValueError, match="read-only"):
        pixels[0, 0, 0] = 1


@pytest.mark.skipif(not HAS_EXPORT, reason="this Pillow has no Arrow export")
def test_the_array_outlives_the_image() -> None:
    """The array holds Pillow's export, and the export the buffer: closing and dropping
    the image, then allocating others where it was, leaves the pixels as they were."""
    data = encode(shapes_image(300, 200, seed=5), "JPEG")
    expected = decode_image(data)
    image = image_io.open_image(data)
    pixels = image_io.borrowed_pixels(image)
    assert borrowed(pixels)
    image.close()
    del image
    gc.collect()
    others = [Image.new("RGB", (300, 200), (7, 8, 9)) for _ in range(20)]
    for other in others:
        other.load()
    assert np.array_equal(pixels[:, :, :3], expected)


def _without_export(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Image.Image, requested_schema: object | None = None) -> tuple[object, object]:
        raise ValueError("Image rows are not contiguous in memory.")

    monkeypatch.setattr(Image.Image, "__arrow_c_array__", refuse, raising=False)


def test_without_the_export_the_pixels_are_copied(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(shapes_image(64, 48, seed=2), "JPEG")
    _without_export(monkeypatch)
    pixels = decode_image_in_place(data)
    assert pixels.shape == (48, 64, 3) and not borrowed(pixels)
    monkeypatch.delattr(Image.Image, "__arrow_c_array__")  # a Pillow before 11.2
    assert decode_image_in_place(data).shape == (48, 64, 3)


@pytest.mark.skipif(not HAS_EXPORT, reason="this Pillow has no Arrow export")
def test_an_image_in_several_memory_blocks_is_copied() -> None:
    data = encode(shapes_image(300, 200, seed=3), "JPEG")
    expected = pdq_from_bytes(data)
    size = Image.core.get_block_size()
    Image.core.set_block_size(64 * 1024)  # 300x200x4 bytes no longer fit one block
    try:
        pixels = decode_image_in_place(data)
        assert pixels.shape == (200, 300, 3) and not borrowed(pixels)
        assert pdq_from_bytes(data) == expected
    finally:
        Image.core.set_block_size(size)


@pytest.mark.parametrize(("path", "expected_hex", "expected_quality"), pdq_vectors())
def test_reference_vectors_with_and_without_the_export(
    path: str, expected_hex: str, expected_quality: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = (PDQ_DIR / path).read_bytes()
    assert (pdq_from_bytes(data).hex, pdq_from_bytes(data).quality) == (
        expected_hex,
        expected_quality,
    )
    _without_export(monkeypatch)
    assert pdq_from_bytes(data).hex == expected_hex

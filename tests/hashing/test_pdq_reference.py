"""Our PDQ must equal Meta's reference bit for bit (distance 0, same quality)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hotline.hashing import jarosz, pdq, pdq_from_bytes, pdq_from_file
from hotline.hashing.image_io import pixels_for_pdq

from .conftest import PDQ_DIR, encode, gradient_rgb, pdq_vectors, shapes_image

VECTORS = pdq_vectors()


def test_every_vector_is_covered() -> None:
    # Guards against a truncated copy of expected.csv making the tests below vacuous.
    assert len(VECTORS) == 17
    assert {p.split("/")[0] for p, _, _ in VECTORS} == {"bridge-mods", "pytx"}


@pytest.mark.parametrize(("path", "expected_hex", "expected_quality"), VECTORS)
def test_reference_vectors_from_file(path: str, expected_hex: str, expected_quality: int) -> None:
    result = pdq_from_file(PDQ_DIR / path)
    assert result.hex == expected_hex
    assert result.quality == expected_quality


@pytest.mark.parametrize(("path", "expected_hex", "expected_quality"), VECTORS)
@pytest.mark.parametrize("backend", jarosz.BACKENDS)
def test_reference_vectors_from_bytes_each_backend(
    path: str, expected_hex: str, expected_quality: int, backend: str
) -> None:
    with Image.open(PDQ_DIR / path) as image:
        pixels = pixels_for_pdq(image)
    result = pdq.pdq_from_pixels(pixels, backend=backend)
    assert (result.hex, result.quality) == (expected_hex, expected_quality)
    assert pdq_from_bytes((PDQ_DIR / path).read_bytes()).hex == expected_hex


def test_low_quality_vector_is_returned_not_hidden() -> None:
    result = pdq_from_file(PDQ_DIR / "pytx/I16.png")
    assert result.quality == 36
    assert not result.is_reliable
    assert result.hex != "0" * 64


def _reference(pixels: np.ndarray) -> tuple[str, int]:
    pdqhash = pytest.importorskip("pdqhash")
    bits, quality = pdqhash.compute(pixels)
    return f"{int(''.join(str(b) for b in bits), 2):064x}", int(quality)


SHAPES = [(768, 1024), (64, 64), (5, 5), (5, 333), (333, 7), (101, 97), (64, 65), (1, 40)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("backend", jarosz.BACKENDS)
def test_matches_pdqhash_on_generated_images(shape: tuple[int, int], backend: str) -> None:
    height, width = shape
    pixels = gradient_rgb(width, height, seed=height * 1000 + width)
    ours = pdq.pdq_from_pixels(pixels, backend=backend)
    assert (ours.hex, ours.quality) == _reference(pixels)


@pytest.mark.parametrize("backend", jarosz.BACKENDS)
def test_matches_pdqhash_on_noise_grey_and_rgba(backend: str) -> None:
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 256, (97, 131, 3), dtype=np.uint8)
    assert pdq.pdq_from_pixels(noise, backend=backend).hex == _reference(noise)[0]
    grey = rng.integers(0, 256, (90, 70), dtype=np.uint8)
    stacked = np.ascontiguousarray(np.repeat(grey[:, :, np.newaxis], 3, axis=2))
    assert pdq.pdq_from_pixels(grey, backend=backend).hex == _reference(stacked)[0]
    rgba = rng.integers(0, 256, (50, 60, 4), dtype=np.uint8)
    assert pdq.pdq_from_pixels(rgba, backend=backend).hex == _reference(rgba)[0]


def test_matches_threatexchange_on_jpegs_and_pngs() -> None:
    hasher = pytest.importorskip("threatexchange.signal_type.pdq.pdq_hasher")
    signal = pytest.importorskip("threatexchange.signal_type.pdq.signal")
    for seed in range(3):
        image = shapes_image(400, 300, seed=seed)
        for data in (encode(image, "JPEG", quality=85), encode(image, "PNG")):
            ours = pdq_from_bytes(data)
            assert (ours.hex, ours.quality) == hasher.pdq_from_bytes(data)
            assert ours.quality >= 50  # so PdqSignal does not blank the hash
            assert ours.hex == signal.PdqSignal.hash_from_bytes(data)


def test_tiny_image_hashes_to_zero_with_quality_zero() -> None:
    result = pdq.pdq_from_pixels(np.full((4, 100, 3), 200, dtype=np.uint8))
    assert result == pdq.PdqHash("0" * 64, 0)


def test_flat_image_has_quality_zero() -> None:
    result = pdq.pdq_from_pixels(np.full((200, 300, 3), 90, dtype=np.uint8))
    assert result.quality == 0


def test_backends_agree_on_luma() -> None:
    # Every (R, G, B) value seen once: the compiled luma must equal numpy's float64 formula.
    if "numba" not in jarosz.BACKENDS:
        pytest.skip("numba is not installed")
    values = np.arange(256 * 256 * 256, dtype=np.uint32)
    rgb = np.stack([values >> 16, (values >> 8) & 255, values & 255], axis=-1).astype(np.uint8)
    rgb = rgb.reshape(4096, 4096, 3)
    assert np.array_equal(
        pdq.luma_from_pixels(rgb, backend="numba"), pdq.luma_from_pixels(rgb, backend="numpy")
    )
    assert np.array_equal(
        pdq.luma_float32_from_rgb(rgb[:512], backend="numba"),
        pdq.luma_float32_from_rgb(rgb[:512], backend="numpy"),
    )


def test_rejects_arrays_it_cannot_hash() -> None:
    with pytest.raises(ValueError, match="uint8"):
        pdq.pdq_from_pixels(np.zeros((10, 10, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="three channels"):
        pdq.pdq_from_pixels(np.zeros((10, 10, 2), dtype=np.uint8))

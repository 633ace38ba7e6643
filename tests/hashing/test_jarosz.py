"""The downsampler against a literal, scalar transcription of Meta's C++ loops."""

from __future__ import annotations

import numpy as np
import pytest

from hotline.hashing import jarosz


def box1d_literal(invec: list[np.float32], window: int) -> list[np.float32]:
    """box1DFloat, line for line, one float32 at a time."""
    length = len(invec)
    half = (window + 2) // 2
    out = [np.float32(0)] * length
    li = ri = oi = 0
    total = np.float32(0.0)
    size = 0
    for _ in range(half - 1):
        total = np.float32(total + invec[ri])
        size += 1
        ri += 1
    for _ in range(window - half + 1):
        total = np.float32(total + invec[ri])
        size += 1
        out[oi] = np.float32(total / np.float32(size))
        ri += 1
        oi += 1
    for _ in range(length - window):
        total = np.float32(total + invec[ri])
        total = np.float32(total - invec[li])
        out[oi] = np.float32(total / np.float32(size))
        li += 1
        ri += 1
        oi += 1
    for _ in range(half - 1):
        total = np.float32(total - invec[li])
        size -= 1
        out[oi] = np.float32(total / np.float32(size))
        li += 1
        oi += 1
    return out


def downsample_literal(luma: np.ndarray) -> np.ndarray:
    rows, cols = luma.shape
    wr, wc = jarosz.window_size(cols), jarosz.window_size(rows)
    a = luma.astype(np.float32).copy()
    for _ in range(jarosz.NUM_JAROSZ_XY_PASSES):
        for i in range(rows):
            a[i, :] = box1d_literal(list(a[i, :]), wr)
        for j in range(cols):
            a[:, j] = box1d_literal(list(a[:, j]), wc)
    return a[np.ix_(jarosz.decimation_indices(rows), jarosz.decimation_indices(cols))]


def test_window_sizes_match_the_cpp_formula() -> None:
    assert jarosz.window_size(1024) == 8
    assert jarosz.window_size(768) == 6
    assert jarosz.window_size(129) == 2
    assert jarosz.window_size(128) == 1
    assert jarosz.window_size(5) == 1


def test_decimation_samples_cell_centres() -> None:
    assert list(jarosz.decimation_indices(128)[:3]) == [1, 3, 5]
    assert list(jarosz.decimation_indices(5)[:3]) == [0, 0, 0]
    assert jarosz.decimation_indices(1024)[-1] == 1016


@pytest.mark.parametrize("shape", [(300, 260), (131, 257), (70, 9), (5, 5), (66, 300)])
@pytest.mark.parametrize("backend", jarosz.BACKENDS)
def test_matches_literal_transcription(shape: tuple[int, int], backend: str) -> None:
    rng = np.random.default_rng(shape[0] * 7 + shape[1])
    luma = (rng.random(shape, dtype=np.float32) * 255).astype(np.float32)
    expected = downsample_literal(luma)
    assert np.array_equal(jarosz.downsample_to_64(luma, backend), expected)


def test_64_by_64_passes_through_unfiltered() -> None:
    luma = np.arange(64 * 64, dtype=np.float32).reshape(64, 64)
    out = jarosz.downsample_to_64(luma)
    assert np.array_equal(out, luma)
    out[0, 0] = -1
    assert luma[0, 0] == 0  # a copy, not a view


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="float32"):
        jarosz.downsample_to_64(np.zeros((10, 10), dtype=np.float64))
    with pytest.raises(ValueError, match="unknown backend"):
        jarosz.downsample_to_64(np.zeros((10, 10), dtype=np.float32), "cuda")


# Shapes around the kernel's blocks: 16 rows a block (a short last one), 8 columns a tile
# (a tail, or only a tail), tall images whose window fills the ring, wide ones, 5-pixel sides.
@pytest.mark.parametrize(
    "shape",
    [
        (768, 1024),
        (131, 257),
        (6, 500),
        (301, 7),
        (65, 64),
        (2001, 37),
        (40, 3000),
        (5, 5),
        (17, 16),
    ],
)
def test_streamed_kernel_equals_separate_passes(shape: tuple[int, int]) -> None:
    if not jarosz.HAVE_NUMBA:
        pytest.skip("numba is not installed")
    from hotline.hashing import pdq

    rng = np.random.default_rng(shape[0] + shape[1])
    rgba = rng.integers(0, 256, (*shape, 4), dtype=np.uint8)
    rgb = np.ascontiguousarray(rgba[:, :, :3])
    grey = np.ascontiguousarray(rgba[:, :, 0])
    five = np.ascontiguousarray(np.concatenate([rgba, rgba[:, :, :1]], axis=2))
    cases = [
        (rgb, jarosz.LUMA_RGB64, pdq.luma_from_pixels(rgb, backend="numpy")),
        (rgba, jarosz.LUMA_RGB64, pdq.luma_from_pixels(rgba, backend="numpy")),
        (grey, jarosz.LUMA_GREY64, pdq.luma_from_pixels(grey, backend="numpy")),
        (rgb, jarosz.LUMA_RGB32, pdq.luma_float32_from_rgb(rgb, backend="numpy")),
        # Four channels (Pillow's RGBX, RGBA) and any other count have loops of their own.
        (rgba, jarosz.LUMA_RGB32, pdq.luma_float32_from_rgb(rgba, backend="numpy")),
        (five, jarosz.LUMA_RGB64, pdq.luma_from_pixels(five, backend="numpy")),
        (five, jarosz.LUMA_RGB32, pdq.luma_float32_from_rgb(five, backend="numpy")),
    ]
    for pixels, kind, luma in cases:
        expected = jarosz.downsample_to_64(luma, "numpy")
        assert np.array_equal(jarosz.downsample_pixels_fused(pixels, kind), expected)


def test_streamed_kernel_reads_four_channels_as_bytes_or_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Little-endian CPUs read four-channel pixels as 32-bit words; others (forced here) read
    # bytes. Both give the separate passes' bits, alpha ignored.
    if not jarosz.HAVE_NUMBA:
        pytest.skip("numba is not installed")
    from hotline.hashing import pdq

    rgba = np.random.default_rng(5).integers(0, 256, (97, 203, 4), dtype=np.uint8)
    for kind, luma in (
        (jarosz.LUMA_RGB64, pdq.luma_from_pixels(rgba, backend="numpy")),
        (jarosz.LUMA_RGB32, pdq.luma_float32_from_rgb(rgba, backend="numpy")),
    ):
        expected = jarosz.downsample_to_64(luma, "numpy")
        for little in (True, False):
            monkeypatch.setattr(jarosz, "_LITTLE_ENDIAN", little)
            assert np.array_equal(jarosz.downsample_pixels_fused(rgba, kind), expected)


def test_exact_quotient_is_float32_division() -> None:
    # The fused kernel divides a float32 by a sample count as float32(float64(x) * (1 / c)):
    # the same bits as the float32 division for normal x (jarosz.py, "The exact quotient").
    # Every count up to 300, on values across the kernel's range (and the tricky ones: near
    # multiples of c and powers of two, where a wrong rounding would show).
    rng = np.random.default_rng(12)
    spread = rng.uniform(0, 1, 20_000) * np.exp2(rng.integers(-80, 20, 20_000))
    x = spread.astype(np.float32)
    for c in range(1, 301):
        near = (np.arange(1, 2001, dtype=np.float32) * np.float32(c)).astype(np.float32)
        values = np.concatenate(
            [
                x,
                near,
                np.nextafter(near, np.float32(np.inf)),
                np.nextafter(near, np.float32(0)),
                np.exp2(np.arange(-100, 20, dtype=np.float32)),
            ]
        )
        exact = values / np.float32(c)
        via_double = (values.astype(np.float64) * (1.0 / c)).astype(np.float32)
        assert np.array_equal(exact, via_double), c

"""PDQ, Meta's 256-bit perceptual image hash, bit-identical to the reference.

The reference is `pdqhash` (Meta's C++ PDQ behind a Cython binding, used by
python-threatexchange's `pdq_from_file`). Its steps, each mirrored here with the same
float32 operations in the same order:

1. luma: `R*0.299 + G*0.587 + B*0.114` computed by numpy in float64, then cast to float32
   (the binding does this in Python before calling C++);
2. downsample to 64x64 (`jarosz.downsample_to_64`);
3. quality from the 64x64 gradients (`pdqImageDomainQualityMetric`);
4. a 16x64 then 16x16 partial DCT with float32 accumulation (`dct64To16`);
5. one bit per coefficient: above Torben's median or not (`pdqBuffer16x16ToBits`).

Images under 5 pixels on a side hash to all zeros with quality 0, as in the reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hotline.hashing import jarosz

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

HASH_BITS = 256
HEX_LENGTH = HASH_BITS // 4
MIN_HASHABLE_DIM = 5
# Below this quality a PDQ hash is too unreliable to match on (Meta's guidance).
QUALITY_THRESHOLD = 50


@dataclass(frozen=True, slots=True)
class PdqHash:
    """A PDQ hash as 64 lowercase hex digits, with its quality (0-100)."""

    hex: str
    quality: int

    @property
    def is_reliable(self) -> bool:
        """True when quality is high enough to match on (>= 50)."""
        return self.quality >= QUALITY_THRESHOLD


def _dct_matrix() -> F32:
    # dct_matrix_64: float scale factor times a double cosine, stored as float. math.cos is
    # libm's cos, like std::cos; numpy's vectorised cos may differ in the last bit.
    scale = np.float32(math.sqrt(2.0 / 64.0))
    out = np.empty((16, 64), dtype=np.float32)
    for i in range(16):
        for j in range(64):
            angle = (math.pi / 2.0 / 64.0) * (i + 1) * (2 * j + 1)
            out[i, j] = np.float32(float(scale) * math.cos(angle))
    return out


DCT_MATRIX = _dct_matrix()


# ----------------------------------------------------------------------------------------
# numpy implementations (fallback, and the readable statement of each step)


def _luma_numpy(pixels: U8) -> F32:
    # Exactly pdqhash.compute's expression: float64 products and sums, then float32.
    if pixels.ndim == 2:
        r = g = b = pixels
    else:
        r, g, b = pixels[:, :, 0], pixels[:, :, 1], pixels[:, :, 2]
    return (r * 0.299 + g * 0.587 + b * 0.114).astype(np.float32)


def _luma_float32_numpy(pixels: U8) -> F32:
    # fillFloatLumaFromRGB (what vPDQ uses): float coefficients, float arithmetic.
    r = pixels[:, :, 0].astype(np.float32)
    g = pixels[:, :, 1].astype(np.float32)
    b = pixels[:, :, 2].astype(np.float32)
    return (np.float32(0.299) * r + np.float32(0.587) * g) + np.float32(0.114) * b


def _quality_numpy(a: F32) -> int:
    hundred, scale = np.float32(100), np.float32(255)
    dv = (((a[:-1, :] - a[1:, :]) * hundred) / scale).astype(np.int32)
    dh = (((a[:, :-1] - a[:, 1:]) * hundred) / scale).astype(np.int32)
    gradient_sum = int(np.abs(dv).sum()) + int(np.abs(dh).sum())
    return min(gradient_sum // 90, 100)


def _dct_numpy(a: F32) -> F32:
    # Accumulate over k in order, as the C++ does; a matmul would sum in another order.
    d = DCT_MATRIX
    t = np.zeros((16, 64), dtype=np.float32)
    for k in range(64):
        t += d[:, k : k + 1] * a[k : k + 1, :]
    out = np.zeros((16, 16), dtype=np.float32)
    for k in range(64):
        out += t[:, k : k + 1] * d[:, k][np.newaxis, :]
    return out


def _torben_numpy(m: F32) -> np.float32:
    # Torben Mogensen's median (torben.cpp): for 256 values it may return a value between
    # two elements, so a sort-based median is not a substitute.
    values = m.ravel()
    half = (values.size + 1) // 2
    lo, hi = values.min(), values.max()
    while True:
        guess = np.float32((lo + hi) / np.float32(2))
        below = values < guess
        above = values > guess
        less, greater = int(below.sum()), int(above.sum())
        equal = values.size - less - greater
        max_lt = values[below].max() if less and values[below].max() > lo else lo
        min_gt = values[above].min() if greater and values[above].min() < hi else hi
        if less <= half and greater <= half:
            break
        if less > greater:
            hi = max_lt
        else:
            lo = min_gt
    if less >= half:
        return np.float32(max_lt)
    if less + equal >= half:
        return guess
    return np.float32(min_gt)


# ----------------------------------------------------------------------------------------
# numba implementations of the per-pixel luma and the small 64x64 steps

_nb: Any = jarosz._numba


def _jit(fn: Callable[..., Any]) -> Callable[..., Any]:
    return _nb.njit(cache=True, nogil=True)(fn) if _nb is not None else fn


@_jit
def _luma_rgb_nb(flat, channels, out):  # type: ignore[no-untyped-def]  # pragma: no cover
    # Flat indexing over a C-contiguous buffer: about twice as fast as [i, j, c] indexing.
    for k in range(out.size):
        p = channels * k
        # uint8 times a double is a double, as in numpy; the sum is rounded once to float32.
        out[k] = np.float32(flat[p] * 0.299 + flat[p + 1] * 0.587 + flat[p + 2] * 0.114)


@_jit
def _luma_grey_nb(flat, out):  # type: ignore[no-untyped-def]  # pragma: no cover
    for k in range(out.size):
        v = flat[k]
        out[k] = np.float32(v * 0.299 + v * 0.587 + v * 0.114)


@_jit
def _luma_float32_nb(flat, channels, out):  # type: ignore[no-untyped-def]  # pragma: no cover
    cr = np.float32(0.299)
    cg = np.float32(0.587)
    cb = np.float32(0.114)
    for k in range(out.size):
        p = channels * k
        r = np.float32(flat[p])
        g = np.float32(flat[p + 1])
        b = np.float32(flat[p + 2])
        out[k] = (cr * r + cg * g) + cb * b


@_jit
def _finish_nb(a, d, bits):  # type: ignore[no-untyped-def]  # pragma: no cover
    # Quality, DCT, median and bits in one compiled call; returns quality, fills bits.
    gradient_sum = 0
    for i in range(63):
        for j in range(64):
            gradient_sum += abs(int(((a[i, j] - a[i + 1, j]) * np.float32(100)) / np.float32(255)))
    for i in range(64):
        for j in range(63):
            gradient_sum += abs(int(((a[i, j] - a[i, j + 1]) * np.float32(100)) / np.float32(255)))
    quality = min(gradient_sum // 90, 100)

    t = np.empty((16, 64), dtype=np.float32)
    for i in range(16):
        for j in range(64):
            s = np.float32(0.0)
            for k in range(64):
                s += d[i, k] * a[k, j]
            t[i, j] = s
    b = np.empty(256, dtype=np.float32)
    for i in range(16):
        for j in range(16):
            s = np.float32(0.0)
            for k in range(64):
                s += t[i, k] * d[j, k]
            b[i * 16 + j] = s

    lo = b[0]
    hi = b[0]
    for v in b:
        lo = min(lo, v)
        hi = max(hi, v)
    half = 128
    while True:
        guess = (lo + hi) / np.float32(2)
        less = 0
        greater = 0
        equal = 0
        max_lt = lo
        min_gt = hi
        for v in b:
            if v < guess:
                less += 1
                if v > max_lt:
                    max_lt = v
            elif v > guess:
                greater += 1
                if v < min_gt:
                    min_gt = v
            else:
                equal += 1
        if less <= half and greater <= half:
            break
        if less > greater:
            hi = max_lt
        else:
            lo = min_gt
    if less >= half:
        median = max_lt
    elif less + equal >= half:
        median = guess
    else:
        median = min_gt
    for k in range(256):
        bits[k] = 1 if b[k] > median else 0
    return quality


# ----------------------------------------------------------------------------------------


def _bits_to_hex(bits: npt.NDArray[np.uint8]) -> str:
    # Bit k is coefficient k (row-major); the hex prints bit 255 first, as Hash256::format
    # and pdqhash's hash_to_vector do.
    packed = np.packbits(bits[::-1])
    return packed.tobytes().hex()


def luma_from_pixels(pixels: U8, *, backend: str | None = None) -> F32:
    """float32 luma exactly as `pdqhash.compute` computes it (first three channels used)."""
    chosen = backend or jarosz.BACKENDS[0]
    if chosen == "numba" and jarosz.HAVE_NUMBA:
        out = np.empty(pixels.shape[:2], dtype=np.float32)
        flat = np.ascontiguousarray(pixels).reshape(-1)
        if pixels.ndim == 2:
            _luma_grey_nb(flat, out.reshape(-1))
        else:
            _luma_rgb_nb(flat, pixels.shape[2], out.reshape(-1))
        return out
    return _luma_numpy(pixels)


def luma_float32_from_rgb(pixels: U8, *, backend: str | None = None) -> F32:
    """float32 luma as Meta's C++ `fillFloatLumaFromRGB` (vPDQ's frame hasher) computes it."""
    chosen = backend or jarosz.BACKENDS[0]
    if chosen == "numba" and jarosz.HAVE_NUMBA:
        out = np.empty(pixels.shape[:2], dtype=np.float32)
        flat = np.ascontiguousarray(pixels).reshape(-1)
        _luma_float32_nb(flat, pixels.shape[2], out.reshape(-1))
        return out
    return _luma_float32_numpy(pixels)


def _finish(small: F32, chosen: str) -> PdqHash:
    """Quality, DCT, median and bits of the 64x64 downsample."""
    if chosen == "numba" and jarosz.HAVE_NUMBA:
        bits = np.empty(256, dtype=np.uint8)
        quality = int(_finish_nb(small, DCT_MATRIX, bits))
        return PdqHash(_bits_to_hex(bits), quality)
    quality = _quality_numpy(small)
    coefficients = _dct_numpy(small).ravel()
    median = _torben_numpy(coefficients)
    return PdqHash(_bits_to_hex((coefficients > median).astype(np.uint8)), quality)


def pdq_from_luma(luma: F32, *, backend: str | None = None) -> PdqHash:
    """PDQ of a float32 luma image (pdqHash256FromFloatLuma)."""
    n_rows, n_cols = luma.shape
    if n_rows < MIN_HASHABLE_DIM or n_cols < MIN_HASHABLE_DIM:
        return PdqHash("0" * HEX_LENGTH, 0)
    chosen = backend or jarosz.BACKENDS[0]
    return _finish(jarosz.downsample_to_64(luma, chosen), chosen)


def _pdq_streamed(pixels: U8, kind: int, backend: str | None) -> PdqHash | None:
    # The compiled back end computes luma inside the downsampler, streaming the image
    # through a few cached rows instead of three full-size float32 copies (12 bytes a
    # pixel: 1.2 GB for 100 megapixels). Returns None where that path does not apply.
    chosen = backend or jarosz.BACKENDS[0]
    n_rows, n_cols = pixels.shape[:2]
    if chosen != "numba" or not jarosz.HAVE_NUMBA:
        return None
    if n_rows < MIN_HASHABLE_DIM or n_cols < MIN_HASHABLE_DIM:
        return PdqHash("0" * HEX_LENGTH, 0)
    if n_rows == jarosz.DOWNSAMPLE_DIM and n_cols == jarosz.DOWNSAMPLE_DIM:
        return None  # 64x64 skips the filter: the plain path handles it
    return _finish(jarosz.downsample_pixels_fused(pixels, kind), chosen)


def pdq_from_pixels(pixels: U8, *, backend: str | None = None) -> PdqHash:
    """PDQ of decoded pixels: (H, W) grey or (H, W, >=3) RGB[A] uint8, as pdqhash takes them."""
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3):
        raise ValueError("pixels must be a uint8 array of shape (H, W) or (H, W, C>=3)")
    if pixels.ndim == 3 and pixels.shape[2] < 3:
        raise ValueError("colour pixels need at least three channels")
    kind = jarosz.LUMA_GREY64 if pixels.ndim == 2 else jarosz.LUMA_RGB64
    streamed = _pdq_streamed(pixels, kind, backend)
    if streamed is not None:
        return streamed
    return pdq_from_luma(luma_from_pixels(pixels, backend=backend), backend=backend)


def pdq_from_rgb_float32_luma(pixels: U8, *, backend: str | None = None) -> PdqHash:
    """PDQ of an RGB frame with Meta's C++ float32 luma, as vPDQ hashes video frames."""
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] < 3:
        raise ValueError("pixels must be a uint8 array of shape (H, W, C>=3)")
    streamed = _pdq_streamed(pixels, jarosz.LUMA_RGB32, backend)
    if streamed is not None:
        return streamed
    return pdq_from_luma(luma_float32_from_rgb(pixels, backend=backend), backend=backend)


def warm_up() -> None:
    """Compile, or load from numba's cache, every kernel now rather than on the first hash.

    Worth calling once at service start-up, and before forking worker processes so each
    worker inherits the compiled code instead of loading it again.
    """
    pixels = np.random.default_rng(0).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    pdq_from_pixels(pixels)
    pdq_from_pixels(np.ascontiguousarray(pixels[:, :, 0]))
    pdq_from_rgb_float32_luma(pixels)
    pdq_from_luma(luma_from_pixels(pixels))
    # Decoded images arrive as read-only views of Pillow's buffer (RGB as four bytes a
    # pixel): numba compiles read-only arrays separately.
    for borrowed in (np.dstack([pixels, pixels[:, :, :1]]), np.array(pixels[:, :, 0])):
        borrowed.setflags(write=False)
        pdq_from_pixels(borrowed)

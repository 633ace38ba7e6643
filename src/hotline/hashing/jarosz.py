"""PDQ's downsampling step: two passes of a Jarosz box filter, then decimation to 64x64.

This re-implements Meta's `pdq/cpp/downscaling/downscaling.cpp` (jaroszFilterFloat,
box1DFloat, decimateFloat) so that every float32 addition, subtraction and division happens
in the same order as in the C++ code; that is what makes our hashes bit-identical to the
reference. What we change is only *which* of those operations run, and in which loop order:

- each running sum is still accumulated strictly left to right (or top to bottom), but we
  advance many independent rows (or columns) at once, which vectorises;
- the second pass computes running sums everywhere (each value depends on the whole prefix)
  but divides and stores only the samples the 64x64 decimation reads.

Two back ends compute the same bits: a compiled one (numba, used when installed) and a
pure-numpy one (slower, used as a fallback and in tests to cross-check the compiled one).
The compiled one also has a streamed kernel (`downsample_pixels_fused`) that computes luma
and the passes 16 rows at a time, so no full-size float image is ever stored; its row passes
run those 16 rows interleaved, one per lane of a vector register, through two small LLVM IR
intrinsics (a transpose and the box filter's chain), each lane doing its row's scalar
operations exactly.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hotline.compiled import load_numba

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

DOWNSAMPLE_DIM = 64
NUM_JAROSZ_XY_PASSES = 2  # PDQ_NUM_JAROSZ_XY_PASSES: two box passes make a tent filter


def window_size(old_dimension: int, new_dimension: int = DOWNSAMPLE_DIM) -> int:
    """computeJaroszFilterWindowSize: half a target cell, rounded up (two passes cover it)."""
    return (old_dimension + 2 * new_dimension - 1) // (2 * new_dimension)


def decimation_indices(in_dimension: int, out_dimension: int = DOWNSAMPLE_DIM) -> I64:
    """decimateFloat's sample positions: the centre of each output cell (double arithmetic)."""
    return np.array(
        [int(((i + 0.5) * in_dimension) / out_dimension) for i in range(out_dimension)],
        dtype=np.int64,
    )


def _phases(length: int, window: int) -> tuple[int, int, int, int]:
    """Loop counts of box1DFloat's four phases (see the ASCII diagram in downscaling.cpp)."""
    half = (window + 2) // 2
    return half - 1, window - half + 1, length - window, half - 1


def _selection(positions: I64, length: int) -> tuple[I64, I64]:
    """Map each input position to its slot among the unique sampled positions (-1 = unused).

    Returns (slot_of_position, slot_of_each_output). Small images sample a position twice.
    """
    unique = np.unique(positions)
    slot = np.full(length, -1, dtype=np.int64)
    slot[unique] = np.arange(unique.size, dtype=np.int64)
    return slot, slot[positions]


# ----------------------------------------------------------------------------------------
# numpy back end: each step is one vector operation over every row (or column) at once.


def _box_axis0_numpy(src: F32, window: int, out_slot: I64 | None, n_out: int) -> F32:
    """box1DFloat down every column of `src` at once; rows are the running-sum direction.

    With `out_slot`, only rows whose slot is >= 0 are divided and stored, at that slot.
    """
    length = src.shape[0]
    p1, p2, p3, p4 = _phases(length, window)
    total = np.zeros(src.shape[1], dtype=np.float32)
    out = np.empty((n_out if out_slot is not None else length, src.shape[1]), dtype=np.float32)
    li = ri = oi = 0
    count = 0

    def emit() -> None:
        slot = oi if out_slot is None else int(out_slot[oi])
        if slot >= 0:
            np.divide(total, np.float32(count), out=out[slot])

    for _ in range(p1):
        total += src[ri]
        count += 1
        ri += 1
    for _ in range(p2):
        total += src[ri]
        count += 1
        emit()
        ri += 1
        oi += 1
    for _ in range(p3):
        total += src[ri]
        total -= src[li]
        emit()
        li += 1
        ri += 1
        oi += 1
    for _ in range(p4):
        total -= src[li]
        count -= 1
        emit()
        li += 1
        oi += 1
    return out


def _downsample_numpy(luma: F32, wr: int, wc: int, rows: I64, cols: I64) -> F32:
    col_slot, col_pick = _selection(cols, luma.shape[1])
    row_slot, row_pick = _selection(rows, luma.shape[0])
    # Pass 1 along rows (work on the transpose so the running sum runs down axis 0).
    b1 = _box_axis0_numpy(np.ascontiguousarray(luma.T), wr, None, 0)
    c1 = _box_axis0_numpy(np.ascontiguousarray(b1.T), wc, None, 0)
    b2 = _box_axis0_numpy(np.ascontiguousarray(c1.T), wr, col_slot, int(col_slot.max()) + 1)
    c2 = _box_axis0_numpy(np.ascontiguousarray(b2.T), wc, row_slot, int(row_slot.max()) + 1)
    return np.ascontiguousarray(c2[np.ix_(row_pick, col_pick)])


# ----------------------------------------------------------------------------------------
# numba back end: the same loops, compiled; rows are advanced in blocks for throughput.

# numba is optional: without it, or with HOTLINE_DISABLE_NUMBA=1 (hotline.compiled), the numpy
# back end gives the same bits, slower.
_numba: Any = load_numba()


def _jit(fn: Callable[..., Any]) -> Callable[..., Any]:
    # No fastmath: it would allow reassociation and fused multiply-adds, changing bits.
    # error_model="numpy": a float division is just the IEEE division (the same bits); the
    # default ("python") adds a divide-by-zero check to each one, which stops LLVM
    # vectorising a loop of divisions (measured: 0.64 ms against 0.08 ms for 1024x768).
    # No divisor here is ever zero.
    return (
        _numba.njit(cache=True, nogil=True, error_model="numpy")(fn) if _numba is not None else fn
    )


@_jit
def _box_rows_nb(src, dst, window, out_slot):  # type: ignore[no-untyped-def]  # pragma: no cover
    # box1DFloat along each row. One row alone is a serial chain of float adds, so four rows
    # share the loop with their sums in registers and the CPU overlaps the chains (measured:
    # 4 lanes beat 1, 8 and 16). A short last block repeats the final row, which only
    # recomputes and rewrites identical values.
    n_rows, length = src.shape
    half = (window + 2) // 2
    p1 = half - 1
    p2 = window - half + 1
    p3 = length - window
    p4 = half - 1
    last = n_rows - 1
    for r0 in range(0, n_rows, 4):
        r1 = min(r0 + 1, last)
        r2 = min(r0 + 2, last)
        r3 = min(r0 + 3, last)
        s0 = np.float32(0.0)
        s1 = np.float32(0.0)
        s2 = np.float32(0.0)
        s3 = np.float32(0.0)
        li = 0
        ri = 0
        oi = 0
        count = 0
        for _ in range(p1):
            s0 += src[r0, ri]
            s1 += src[r1, ri]
            s2 += src[r2, ri]
            s3 += src[r3, ri]
            count += 1
            ri += 1
        for _ in range(p2):
            s0 += src[r0, ri]
            s1 += src[r1, ri]
            s2 += src[r2, ri]
            s3 += src[r3, ri]
            count += 1
            slot = out_slot[oi]
            if slot >= 0:
                c = np.float32(count)
                dst[r0, slot] = s0 / c
                dst[r1, slot] = s1 / c
                dst[r2, slot] = s2 / c
                dst[r3, slot] = s3 / c
            ri += 1
            oi += 1
        for _ in range(p3):
            s0 = (s0 + src[r0, ri]) - src[r0, li]
            s1 = (s1 + src[r1, ri]) - src[r1, li]
            s2 = (s2 + src[r2, ri]) - src[r2, li]
            s3 = (s3 + src[r3, ri]) - src[r3, li]
            slot = out_slot[oi]
            if slot >= 0:
                c = np.float32(count)
                dst[r0, slot] = s0 / c
                dst[r1, slot] = s1 / c
                dst[r2, slot] = s2 / c
                dst[r3, slot] = s3 / c
            li += 1
            ri += 1
            oi += 1
        for _ in range(p4):
            s0 -= src[r0, li]
            s1 -= src[r1, li]
            s2 -= src[r2, li]
            s3 -= src[r3, li]
            count -= 1
            slot = out_slot[oi]
            if slot >= 0:
                c = np.float32(count)
                dst[r0, slot] = s0 / c
                dst[r1, slot] = s1 / c
                dst[r2, slot] = s2 / c
                dst[r3, slot] = s3 / c
            li += 1
            oi += 1


@_jit
def _box_cols_nb(src, dst, window, out_slot):  # type: ignore[no-untyped-def]  # pragma: no cover
    # box1DFloat down each column; the inner loop runs across a row, which is contiguous,
    # and each lane is an independent running sum, so it vectorises without reordering.
    length, n_cols = src.shape
    half = (window + 2) // 2
    p1 = half - 1
    p2 = window - half + 1
    p3 = length - window
    p4 = half - 1
    total = np.zeros(n_cols, dtype=np.float32)
    li = 0
    ri = 0
    oi = 0
    count = 0
    for _ in range(p1):
        for j in range(n_cols):
            total[j] += src[ri, j]
        count += 1
        ri += 1
    for _ in range(p2):
        count += 1
        slot = out_slot[oi]
        c = np.float32(count)
        for j in range(n_cols):
            total[j] += src[ri, j]
        if slot >= 0:
            for j in range(n_cols):
                dst[slot, j] = total[j] / c
        ri += 1
        oi += 1
    for _ in range(p3):
        slot = out_slot[oi]
        c = np.float32(count)
        for j in range(n_cols):
            t = total[j] + src[ri, j]
            total[j] = t - src[li, j]
        if slot >= 0:
            for j in range(n_cols):
                dst[slot, j] = total[j] / c
        li += 1
        ri += 1
        oi += 1
    for _ in range(p4):
        count -= 1
        slot = out_slot[oi]
        c = np.float32(count)
        for j in range(n_cols):
            total[j] -= src[li, j]
        if slot >= 0:
            for j in range(n_cols):
                dst[slot, j] = total[j] / c
        li += 1
        oi += 1


def box_counts(length: int, window: int) -> F32:
    """The divisor box1DFloat uses at each output position (the samples in the window then),
    as float32: dividing a row of running sums by it gives box1DFloat's outputs exactly."""
    p1, p2, p3, p4 = _phases(length, window)
    counts = [
        *range(p1 + 1, p1 + p2 + 1),
        *([p1 + p2] * p3),
        *range(p1 + p2 - 1, p1 + p2 - 1 - p4, -1),
    ]
    return np.array(counts, dtype=np.float32)


@_jit
def _row_sums_nb(src, dst, window):  # type: ignore[no-untyped-def]  # pragma: no cover
    # box1DFloat's running sums along each row, undivided: the same float32 additions and
    # subtractions in the same order, four rows sharing the loop (as in _box_rows_nb). The
    # divisions are left to `_divide_rows_nb`, which vectorises them: here, in the serial
    # chain, a scalar division per sample cost as much as the sums.
    n_rows, length = src.shape
    half = (window + 2) // 2
    p1 = half - 1
    p2 = window - half + 1
    p3 = length - window
    p4 = half - 1
    last = n_rows - 1
    for r0 in range(0, n_rows, 4):
        r1 = min(r0 + 1, last)
        r2 = min(r0 + 2, last)
        r3 = min(r0 + 3, last)
        s0 = np.float32(0.0)
        s1 = np.float32(0.0)
        s2 = np.float32(0.0)
        s3 = np.float32(0.0)
        li = 0
        ri = 0
        oi = 0
        for _ in range(p1):
            s0 += src[r0, ri]
            s1 += src[r1, ri]
            s2 += src[r2, ri]
            s3 += src[r3, ri]
            ri += 1
        for _ in range(p2):
            s0 += src[r0, ri]
            s1 += src[r1, ri]
            s2 += src[r2, ri]
            s3 += src[r3, ri]
            dst[r0, oi] = s0
            dst[r1, oi] = s1
            dst[r2, oi] = s2
            dst[r3, oi] = s3
            ri += 1
            oi += 1
        for _ in range(p3):
            s0 = (s0 + src[r0, ri]) - src[r0, li]
            s1 = (s1 + src[r1, ri]) - src[r1, li]
            s2 = (s2 + src[r2, ri]) - src[r2, li]
            s3 = (s3 + src[r3, ri]) - src[r3, li]
            dst[r0, oi] = s0
            dst[r1, oi] = s1
            dst[r2, oi] = s2
            dst[r3, oi] = s3
            li += 1
            ri += 1
            oi += 1
        for _ in range(p4):
            s0 -= src[r0, li]
            s1 -= src[r1, li]
            s2 -= src[r2, li]
            s3 -= src[r3, li]
            dst[r0, oi] = s0
            dst[r1, oi] = s1
            dst[r2, oi] = s2
            dst[r3, oi] = s3
            li += 1
            oi += 1


@_jit
def _divide_rows_nb(rows, counts):  # type: ignore[no-untyped-def]  # pragma: no cover
    # Each running sum by its window's sample count: IEEE float32 division, vectorised.
    n_rows, length = rows.shape
    for i in range(n_rows):
        for j in range(length):
            rows[i, j] = rows[i, j] / counts[j]


def _box_rows_all_nb(src: F32, dst: F32, window: int, counts: F32) -> None:
    """_box_rows_nb with every output kept, as running sums then one vectorised division."""
    _row_sums_nb(src, dst, window)
    _divide_rows_nb(dst, counts)


def _downsample_numba(luma: F32, wr: int, wc: int, rows: I64, cols: I64) -> F32:
    n_rows, n_cols = luma.shape
    col_slot, col_pick = _selection(cols, n_cols)
    row_slot, row_pick = _selection(rows, n_rows)
    every_row = np.arange(n_rows, dtype=np.int64)
    b1 = np.empty_like(luma)
    _box_rows_all_nb(luma, b1, wr, box_counts(n_cols, wr))
    c1 = np.empty_like(luma)
    _box_cols_nb(b1, c1, wc, every_row)
    # Second pass: full running sums, but only the sampled columns, then rows, are kept.
    b2 = np.empty((n_rows, int(col_slot.max()) + 1), dtype=np.float32)
    _box_rows_nb(c1, b2, wr, col_slot)
    c2 = np.empty((int(row_slot.max()) + 1, b2.shape[1]), dtype=np.float32)
    _box_cols_nb(b2, c2, wc, row_slot)
    return np.ascontiguousarray(c2[np.ix_(row_pick, col_pick)])


# Luma kinds for the fused kernel: pdqhash's float64 formula on RGB, the same on grey, and
# Meta's C++ float32 formula (fillFloatLumaFromRGB, used by vPDQ).
LUMA_RGB64, LUMA_GREY64, LUMA_RGB32 = 0, 1, 2
# Four-channel pixels are read as 32-bit words (R in the low byte) where the CPU is
# little-endian; an empty array tells the kernel to read bytes instead.
_LITTLE_ENDIAN = sys.byteorder == "little"
_NO_WORDS = np.empty(0, dtype=np.uint32)


@_jit
def _luma_rows_nb(flat, channels, kind, r0, n, n_cols, out):  # type: ignore[no-untyped-def]  # pragma: no cover
    # One loop per pixel layout, each indexing a row slice by `stride * j` with the stride a
    # constant and j from a range: then LLVM knows every index and vectorises the loop
    # (measured: 1.3 ms against 0.25 ms for 1024x768 RGB). Four channels is Pillow's own
    # RGB layout (RGBX), and RGBA.
    for b in range(n):
        start = (r0 + b) * n_cols * channels
        px = flat[start : start + n_cols * channels]
        row = out[b]
        if kind == 1:
            for j in range(n_cols):
                v = px[j]
                row[j] = np.float32(v * 0.299 + v * 0.587 + v * 0.114)
        elif kind == 0 and channels == 4:
            for j in range(n_cols):
                # uint8 times a double is a double, as in numpy; one rounding to float32.
                row[j] = np.float32(
                    px[4 * j] * 0.299 + px[4 * j + 1] * 0.587 + px[4 * j + 2] * 0.114
                )
        elif kind == 0 and channels == 3:
            for j in range(n_cols):
                row[j] = np.float32(
                    px[3 * j] * 0.299 + px[3 * j + 1] * 0.587 + px[3 * j + 2] * 0.114
                )
        elif kind == 0:
            for j in range(n_cols):
                p = channels * j
                row[j] = np.float32(px[p] * 0.299 + px[p + 1] * 0.587 + px[p + 2] * 0.114)
        else:
            cr = np.float32(0.299)
            cg = np.float32(0.587)
            cb = np.float32(0.114)
            if channels == 4:
                for j in range(n_cols):
                    r = np.float32(px[4 * j])
                    g = np.float32(px[4 * j + 1])
                    bl = np.float32(px[4 * j + 2])
                    row[j] = (cr * r + cg * g) + cb * bl
            elif channels == 3:
                for j in range(n_cols):
                    r = np.float32(px[3 * j])
                    g = np.float32(px[3 * j + 1])
                    bl = np.float32(px[3 * j + 2])
                    row[j] = (cr * r + cg * g) + cb * bl
            else:
                for j in range(n_cols):
                    p = channels * j
                    r = np.float32(px[p])
                    g = np.float32(px[p + 1])
                    bl = np.float32(px[p + 2])
                    row[j] = (cr * r + cg * g) + cb * bl


@_jit
def _luma_words_nb(words, kind, r0, n, n_cols, out):  # type: ignore[no-untyped-def]  # pragma: no cover
    # Four-channel pixels (Pillow's RGBX, and RGBA) read as one little-endian 32-bit word
    # each, the channels taken out with shifts and masks: the same integers, so the same
    # bits, and about twice as fast as byte indexing (0.23 ms against 0.43 ms for 1024x768),
    # whose loads of every fourth byte LLVM compiles into shuffles.
    for b in range(n):
        start = (r0 + b) * n_cols
        px = words[start : start + n_cols]
        row = out[b]
        if kind == 0:
            for j in range(n_cols):
                w = px[j]
                row[j] = np.float32(
                    (w & 255) * 0.299 + ((w >> 8) & 255) * 0.587 + ((w >> 16) & 255) * 0.114
                )
        else:
            cr = np.float32(0.299)
            cg = np.float32(0.587)
            cb = np.float32(0.114)
            for j in range(n_cols):
                w = px[j]
                r = np.float32(w & 255)
                g = np.float32((w >> 8) & 255)
                bl = np.float32((w >> 16) & 255)
                row[j] = (cr * r + cg * g) + cb * bl


# ----------------------------------------------------------------------------------------
# Explicit SIMD for the row passes (numba intrinsics emitting LLVM IR with vector types).
#
# A row pass is a serial chain of float32 additions along each row, and identical hashes need
# exactly that chain. Rows are independent, so LANES rows can share one vector register if
# they are interleaved (lane = row): each lane then performs its own row's scalar chain,
# operation for operation (IEEE arithmetic is per lane; nothing is reassociated or fused).
# numba vectorises neither the interleave (it compiles transposes into strided scalar code)
# nor a chain held in a vector register, so both are written in IR. They live in this file,
# not a module of their own, because numba's cache is invalidated by the source file of the
# kernels it compiles, not by the files those kernels call into.

LANES = 16  # rows a lane pass advances together: one AVX-512 register, or two AVX ones


def _build_intrinsics() -> tuple[Any, Any]:
    """(transpose8x8, lane_box_sums), built only where numba is (imports kept lazy)."""
    from numba import types
    from numba.core import cgutils

    # llvmlite comes with numba (which needs it) but is not a declared dependency of ours:
    # its IR builder is taken through numba, which exposes it where intrinsics need it.
    from numba.core.cgutils import ir
    from numba.extending import intrinsic

    f32 = ir.FloatType()
    i32 = ir.IntType(32)
    v4 = ir.VectorType(f32, 4)
    v8 = ir.VectorType(f32, 8)
    vl = ir.VectorType(f32, LANES)
    vl64 = ir.VectorType(ir.DoubleType(), LANES)

    def mask(indices: list[int]) -> ir.Constant:
        return ir.Constant(ir.VectorType(i32, len(indices)), [ir.Constant(i32, i) for i in indices])

    # The classic AVX 8x8 transpose: rows k and k+4 paired by 128-bit halves as they are
    # loaded, then unpacked by 32 and by 64 bits. LLVM chooses the instructions.
    concat = mask(list(range(8)))
    unpack_lo = mask([0, 8, 1, 9, 4, 12, 5, 13])
    unpack_hi = mask([2, 10, 3, 11, 6, 14, 7, 15])
    unpack_lo64 = mask([0, 1, 8, 9, 4, 5, 12, 13])
    unpack_hi64 = mask([2, 3, 10, 11, 6, 7, 14, 15])
    broadcast = mask([0] * LANES)

    def _c_array_of(ty: Any, dtype: Any) -> bool:
        # The intrinsics read raw memory: only contiguous arrays of the expected type.
        return isinstance(ty, types.Array) and ty.dtype == dtype and ty.layout == "C"

    def data(context: Any, builder: Any, array_type: Any, value: Any) -> Any:
        return context.make_array(array_type)(context, builder, value).data

    def vector_at(builder: Any, base: Any, offset: Any, vector: Any) -> Any:
        return builder.bitcast(builder.gep(base, [offset]), vector.as_pointer())

    @intrinsic
    def transpose8x8(typingctx, src, src_at, src_stride, dst, dst_at, dst_stride):  # type: ignore[no-untyped-def]
        # dst[dst_at + k*dst_stride + i] = src[src_at + i*src_stride + k] for i, k < 8, on
        # contiguous float32 arrays (offsets in elements of the flat buffer); the caller
        # keeps every index in bounds. Loads, shuffles and stores only: bits are untouched.
        if not all(_c_array_of(a, types.float32) for a in (src, dst)):
            return None
        sig = types.void(src, types.intp, types.intp, dst, types.intp, types.intp)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            src_v, src_at_v, src_stride_v, dst_v, dst_at_v, dst_stride_v = args
            src_p = data(context, builder, signature.args[0], src_v)
            dst_p = data(context, builder, signature.args[3], dst_v)
            intp = src_at_v.type

            def quarter(row: int, col: int) -> Any:
                at = builder.add(builder.mul(src_stride_v, ir.Constant(intp, row)), src_at_v)
                at = builder.add(at, ir.Constant(intp, col))
                return builder.load(vector_at(builder, src_p, at, v4), align=4)

            shuffle = builder.shuffle_vector
            # r[k]: rows k and k+4, columns 0-3 (k < 4); r[4 + k]: the same, columns 4-7.
            r = [
                shuffle(quarter(row, col), quarter(row + 4, col), concat)
                for col in (0, 4)
                for row in range(4)
            ]
            t = []
            for i in (0, 2, 4, 6):
                t += [shuffle(r[i], r[i + 1], unpack_lo), shuffle(r[i], r[i + 1], unpack_hi)]
            out = []
            for a, b in ((0, 2), (1, 3), (4, 6), (5, 7)):
                out += [shuffle(t[a], t[b], unpack_lo64), shuffle(t[a], t[b], unpack_hi64)]
            for k in range(8):
                at = builder.add(builder.mul(dst_stride_v, ir.Constant(intp, k)), dst_at_v)
                builder.store(out[k], vector_at(builder, dst_p, at, v8), align=4)
            return context.get_dummy_value()

        return sig, codegen

    @intrinsic
    def lane_box_sums(typingctx, src, dst, length, window, inverses):  # type: ignore[no-untyped-def]
        # box1DFloat along axis 0 of contiguous float32 (length, LANES) arrays: src[k, lane]
        # is sample k of the lane's row. Each lane's running sum takes the scalar chain's
        # additions and subtractions in the same order. With a non-empty `inverses`
        # (float64, 1/count for each output), output k is divided by its count, as the
        # exact quotient `_quotient` explains (box1DFloat's outputs); with an empty one, dst
        # holds the undivided running sums.
        if not (
            _c_array_of(src, types.float32)
            and _c_array_of(dst, types.float32)
            and _c_array_of(inverses, types.float64)
        ):
            return None
        sig = types.void(src, dst, types.intp, types.intp, inverses)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            src_v, dst_v, length_v, window_v, counts_v = args
            src_p = data(context, builder, signature.args[0], src_v)
            dst_p = data(context, builder, signature.args[1], dst_v)
            inverses_a = context.make_array(signature.args[4])(context, builder, counts_v)
            divide = builder.icmp_signed(
                ">", inverses_a.nitems, ir.Constant(inverses_a.nitems.type, 0)
            )
            intp = length_v.type
            one, two, lanes = (ir.Constant(intp, v) for v in (1, 2, LANES))
            half = builder.sdiv(builder.add(window_v, two), two)
            p1 = builder.sub(half, one)  # also the last phase's count (p4)
            p2 = builder.add(builder.sub(window_v, half), one)
            p3 = builder.sub(length_v, window_v)
            total = cgutils.alloca_once(builder, vl)  # promoted to a register by LLVM
            builder.store(ir.Constant(vl, [ir.Constant(f32, 0.0)] * LANES), total)

            def sample(k: Any) -> Any:
                return builder.load(vector_at(builder, src_p, builder.mul(k, lanes), vl), align=4)

            def emit(k: Any, value: Any) -> None:
                builder.store(value, total)
                with builder.if_else(divide) as (then, otherwise):
                    with then:
                        inverse = builder.load(builder.gep(inverses_a.data, [k]))
                        spread = builder.insert_element(
                            ir.Constant(vl64, None), inverse, ir.Constant(i32, 0)
                        )
                        spread = builder.shuffle_vector(spread, spread, broadcast)
                        wide = builder.fmul(builder.fpext(value, vl64), spread)
                        at = vector_at(builder, dst_p, builder.mul(k, lanes), vl)
                        builder.store(builder.fptrunc(wide, vl), at, align=4)
                    with otherwise:
                        at = vector_at(builder, dst_p, builder.mul(k, lanes), vl)
                        builder.store(value, at, align=4)

            # box1DFloat's four phases; k counts each phase's steps, as in _row_sums_nb.
            with cgutils.for_range(builder, p1) as loop:
                builder.store(builder.fadd(builder.load(total), sample(loop.index)), total)
            with cgutils.for_range(builder, p2) as loop:
                k = loop.index
                emit(k, builder.fadd(builder.load(total), sample(builder.add(p1, k))))
            with cgutils.for_range(builder, p3) as loop:
                k = loop.index
                added = builder.fadd(builder.load(total), sample(builder.add(window_v, k)))
                emit(builder.add(p2, k), builder.fsub(added, sample(k)))
            with cgutils.for_range(builder, p1) as loop:
                k = loop.index
                emit(
                    builder.add(builder.add(p2, p3), k),
                    builder.fsub(builder.load(total), sample(builder.add(p3, k))),
                )
            return context.get_dummy_value()

        return sig, codegen

    return transpose8x8, lane_box_sums


_transpose8x8: Any
_lane_box_sums: Any
_transpose8x8, _lane_box_sums = _build_intrinsics() if _numba is not None else (None, None)
# The exact quotient. The kernel divides a float32 x by a sample count c (an integer, at most
# the window) as float32(float64(x) * (1.0 / c)): a vectorised double multiply costs less
# than a float32 division, and gives the same bits. Why: write q = x / c, with u its float32
# ulp and x = N * 2**m * u (N an integer, m >= 0, as x >= q). A float32 rounding midpoint
# (2K + 1) * u / 2 equal to q would need 2 * N * 2**m == (2K + 1) * c, impossible for odd c
# (even against odd) and, dividing x by c's power of two exactly, for any c; so q is at
# least u / (2 * c) from every midpoint, a relative 2**-25 / c. The double product is
# within 2**-52 of q (the reciprocal's and the product's roundings): far less, as long as
# c < 2**27, so rounding it to float32 lands where rounding q does. The argument needs x
# normal or zero (a subnormal x can sit on a midpoint). Here it always is: luma is 0 or at
# least 0.114, so pass 1's sums are multiples of 2**-27 (sums of multiples of 2**e stay
# multiples of 2**e, rounding included); its outputs are 0 or at least 2**-27 / c, so pass
# 2's sums are multiples of about 2**-51 / window, far above float32's 2**-126.
# `tests/hashing/test_jarosz.py` checks the identity on every count up to 300.

# Row stride of the kernel's row buffers: n_cols plus this many floats (64 bytes), so that
# rows 4 KB apart (1024-pixel images) do not all fall in the same L1 cache set.
_ROW_PAD = 16


@_jit
def _to_lanes_nb(rows, n_cols, lanes):  # type: ignore[no-untyped-def]  # pragma: no cover
    # rows (LANES, stride >= n_cols) -> lanes (n_cols, LANES): lanes[c, l] = rows[l, c].
    stride = rows.shape[1]
    flat = rows.reshape(-1)
    out = lanes.reshape(-1)
    full = n_cols - n_cols % 8
    for c in range(0, full, 8):
        _transpose8x8(flat, c, stride, out, LANES * c, LANES)
        _transpose8x8(flat, 8 * stride + c, stride, out, LANES * c + 8, LANES)
    for c in range(full, n_cols):
        for lane in range(LANES):
            lanes[c, lane] = rows[lane, c]


@_jit
def _from_lanes_nb(lanes, n_cols, rows):  # type: ignore[no-untyped-def]  # pragma: no cover
    # The inverse: rows[l, c] = lanes[c, l].
    stride = rows.shape[1]
    flat = lanes.reshape(-1)
    out = rows.reshape(-1)
    full = n_cols - n_cols % 8
    for c in range(0, full, 8):
        _transpose8x8(flat, LANES * c, LANES, out, c, stride)
        _transpose8x8(flat, LANES * c + 8, LANES, out, 8 * stride + c, stride)
    for c in range(full, n_cols):
        for lane in range(LANES):
            rows[lane, c] = lanes[c, lane]


@_jit
def _pass3_nb(c1, n, xs, sums, wr, picks, counts, no_inverses, b2, emitted):  # type: ignore[no-untyped-def]  # pragma: no cover
    # Pass 3 for the first n rows of c1: running sums along each row, lanes at once, then
    # only the sampled columns (picks: position, slot) divided and stored.
    n_cols = xs.shape[0]
    _to_lanes_nb(c1, n_cols, xs)
    _lane_box_sums(xs, sums, n_cols, wr, no_inverses)
    for k in range(picks.shape[0]):
        oi = picks[k, 0]
        slot = picks[k, 1]
        c = counts[oi]
        for lane in range(n):
            b2[emitted + lane, slot] = sums[oi, lane] / c


@_jit
def _fused_nb(  # pragma: no cover
    flat: Any,
    words: Any,
    channels: int,
    kind: int,
    n_rows: int,
    n_cols: int,
    wr: int,
    wc: int,
    picks: Any,
    n_sel_cols: int,
    row_slot: Any,
    n_sel_rows: int,
    row_counts: Any,
    row_inverses: Any,
) -> Any:
    # Luma, pass 1 (rows), pass 2 (columns) and pass 3 (rows) streamed LANES image rows at
    # a time, so no full-size intermediate image is ever written: the working set (a ring
    # of window + LANES rows, and a few LANES-row buffers) stays in cache. The row passes
    # run on the rows interleaved (_to_lanes_nb), LANES rows per vector; pass 2 runs across
    # a row's columns, also vectorised. Every float operation and its order are those of
    # the separate passes (_row_sums_nb, _box_cols_nb, _box_rows_nb).
    stride = n_cols + _ROW_PAD
    # A multiple of LANES, so each block lands contiguously in the ring; at least wc + LANES
    # rows, so a block never overwrites a row that pass 2 still subtracts.
    ring_size = (wc + 2 * LANES - 1) // LANES * LANES
    ring = np.empty((ring_size, stride), dtype=np.float32)
    # Zeroed: the lanes of rows past the image's last one carry these, and are never stored.
    luma = np.zeros((LANES, stride), dtype=np.float32)
    c1 = np.zeros((LANES, stride), dtype=np.float32)
    xs = np.empty((n_cols, LANES), dtype=np.float32)
    sums = np.empty((n_cols, LANES), dtype=np.float32)
    no_inverses = np.empty(0, dtype=np.float64)
    vsum = np.zeros(n_cols, dtype=np.float32)
    b2 = np.empty((n_rows, n_sel_cols), dtype=np.float32)
    half = (wc + 2) // 2
    p1 = half - 1
    p2 = wc - half + 1
    p4 = half - 1
    count = 0
    pending = 0  # pass-2 output rows waiting in c1 for pass 3
    emitted = 0  # pass-2 output rows handed to pass 3 so far
    for r0 in range(0, n_rows, LANES):
        n = min(LANES, n_rows - r0)
        if words.size > 0:
            _luma_words_nb(words, kind, r0, n, n_cols, luma)
        else:
            _luma_rows_nb(flat, channels, kind, r0, n, n_cols, luma)
        _to_lanes_nb(luma, n_cols, xs)
        _lane_box_sums(xs, sums, n_cols, wr, row_inverses)
        slot0 = r0 % ring_size
        # All LANES rows are written back; those past the image's end land in slots whose
        # rows pass 2 no longer needs (the ring holds wc + LANES rows).
        _from_lanes_nb(sums, n_cols, ring[slot0 : slot0 + LANES])
        for b in range(n):
            ri = r0 + b
            row = ring[slot0 + b]
            if ri < p1:
                for j in range(n_cols):
                    vsum[j] += row[j]
                count += 1
                continue
            if ri < p1 + p2:
                for j in range(n_cols):
                    vsum[j] += row[j]
                count += 1
            else:
                old = ring[(ri - wc) % ring_size]
                for j in range(n_cols):
                    t = vsum[j] + row[j]
                    vsum[j] = t - old[j]
            inverse = 1.0 / count  # vsum / count, exactly (see "The exact quotient")
            for j in range(n_cols):
                c1[pending, j] = np.float32(np.float64(vsum[j]) * inverse)
            pending += 1
            if pending == LANES:
                _pass3_nb(c1, LANES, xs, sums, wr, picks, row_counts, no_inverses, b2, emitted)
                emitted += LANES
                pending = 0
    for k in range(p4):
        old = ring[(n_rows - wc + k) % ring_size]
        for j in range(n_cols):
            vsum[j] -= old[j]
        count -= 1
        inverse = 1.0 / count
        for j in range(n_cols):
            c1[pending, j] = np.float32(np.float64(vsum[j]) * inverse)
        pending += 1
        if pending == LANES:
            _pass3_nb(c1, LANES, xs, sums, wr, picks, row_counts, no_inverses, b2, emitted)
            emitted += LANES
            pending = 0
    if pending > 0:
        _pass3_nb(c1, pending, xs, sums, wr, picks, row_counts, no_inverses, b2, emitted)
    c2 = np.empty((n_sel_rows, n_sel_cols), dtype=np.float32)
    _box_cols_nb(b2, c2, wc, row_slot)
    return c2


def downsample_pixels_fused(pixels: npt.NDArray[np.uint8], kind: int) -> F32:
    """Luma and downsampling in one compiled, cache-friendly pass (numba only).

    Same bits as `downsample_to_64(luma)` for images at least 5 pixels a side and not
    exactly 64x64 (callers handle those two cases).
    """
    n_rows, n_cols = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    flat = np.ascontiguousarray(pixels).reshape(-1)
    plan = _plan(n_rows, n_cols)
    c2 = _fused_nb(
        flat,
        flat.view(np.uint32) if channels == 4 and _LITTLE_ENDIAN else _NO_WORDS,
        channels,
        kind,
        n_rows,
        n_cols,
        plan.wr,
        plan.wc,
        plan.col_picks,
        plan.n_sel_cols,
        plan.row_slot,
        plan.n_sel_rows,
        plan.row_counts,
        plan.row_inverses,
    )
    if plan.picks is None:
        return c2  # every sampled row and column is distinct: c2 is the 64x64 result
    return np.ascontiguousarray(c2[plan.picks])


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the fused kernel needs to know about one image size, worked out once."""

    wr: int
    wc: int
    col_picks: I64  # (position, slot) of each sampled column, for pass 3
    n_sel_cols: int
    row_slot: I64
    n_sel_rows: int
    row_counts: F32
    row_inverses: npt.NDArray[np.float64]  # 1 / row_counts in float64: the exact quotient
    picks: tuple[I64, ...] | None


@functools.lru_cache(maxsize=256)
def _plan(n_rows: int, n_cols: int) -> _Plan:
    # Photos come in a few sizes: a cache saves about 0.07 ms of Python a hash. The arrays
    # are never written to.
    col_slot, col_pick = _selection(decimation_indices(n_cols), n_cols)
    row_slot, row_pick = _selection(decimation_indices(n_rows), n_rows)
    wr, wc = window_size(n_cols), window_size(n_rows)
    identity = np.arange(DOWNSAMPLE_DIM)
    distinct = np.array_equal(col_pick, identity) and np.array_equal(row_pick, identity)
    sampled = np.flatnonzero(col_slot >= 0)
    counts = box_counts(n_cols, wr)
    return _Plan(
        wr,
        wc,
        np.ascontiguousarray(np.stack([sampled, col_slot[sampled]], axis=1)),
        int(col_slot.max()) + 1,
        row_slot,
        int(row_slot.max()) + 1,
        counts,
        1.0 / counts.astype(np.float64),
        None if distinct else np.ix_(row_pick, col_pick),
    )


HAVE_NUMBA = _numba is not None
BACKENDS = ("numba", "numpy") if HAVE_NUMBA else ("numpy",)


def downsample_to_64(luma: F32, backend: str | None = None) -> F32:
    """Blur (two Jarosz X/Y passes) and decimate a float32 luma image to 64x64.

    Bit-identical to `jaroszFilterFloat` + `decimateFloat` in Meta's C++ PDQ. A 64x64 input
    is returned as is, as the C++ code does (it assumes the caller already downsampled).
    """
    if luma.dtype != np.float32 or luma.ndim != 2:
        raise ValueError("luma must be a 2-D float32 array")
    n_rows, n_cols = luma.shape
    if n_rows == DOWNSAMPLE_DIM and n_cols == DOWNSAMPLE_DIM:
        return np.array(luma, dtype=np.float32, copy=True)
    luma = np.ascontiguousarray(luma)
    wr = window_size(n_cols)  # along a row, so sized from the number of columns
    wc = window_size(n_rows)
    rows = decimation_indices(n_rows)
    cols = decimation_indices(n_cols)
    chosen = backend or BACKENDS[0]
    if chosen == "numba" and HAVE_NUMBA:
        return _downsample_numba(luma, wr, wc, rows, cols)
    if chosen in ("numba", "numpy"):
        return _downsample_numpy(luma, wr, wc, rows, cols)
    raise ValueError(f"unknown backend {chosen!r}")

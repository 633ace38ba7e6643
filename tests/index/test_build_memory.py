"""The bulk build's memory: inputs kept without a copy, tables built in blocks.

At 100M codes a copy of the input is 4 GB and the old one-shot sort keys several GB more
(docs/index.md, "Building at scale"); these tests hold the two things that keep the peak
down, and that the blockwise build still gives the tables a plain stable sort gives."""

from __future__ import annotations

import numpy as np
import pytest

from hotline.index import PDQIndex
from hotline.index import multi_index as mi


def test_build_keeps_uint64_codes_and_int64_ids_without_copying() -> None:
    rng = np.random.default_rng(5)
    words = rng.integers(0, 2**64, size=(1000, 4), dtype=np.uint64)
    ids = np.arange(10, 1010, dtype=np.int64)
    index = PDQIndex.build(ids, words)
    base = index._state.base
    assert np.shares_memory(base.words, words)
    assert np.shares_memory(base.ids, ids)
    assert {m.id for m in index.search(words[17], 0)} == {27}


def test_unsorted_ids_are_sorted_into_new_arrays() -> None:
    rng = np.random.default_rng(6)
    words = rng.integers(0, 2**64, size=(50, 4), dtype=np.uint64)
    ids = np.arange(50, 0, -1, dtype=np.int64)
    index = PDQIndex.build(ids, words)
    assert not np.shares_memory(index._state.base.words, words)
    assert {m.id for m in index.search(words[0], 0)} == {50}


@pytest.mark.parametrize(("chunks", "block"), [(16, 7), (13, 4099)])
def test_blockwise_tables_equal_a_stable_sort(
    monkeypatch: pytest.MonkeyPatch, chunks: int, block: int
) -> None:
    # Small blocks of rows (and of offsets) so block boundaries and a last short block run;
    # 13 chunks have 19- and 20-bit widths, whose chunks straddle the 64-bit words.
    monkeypatch.setattr(mi, "BUILD_BLOCK_ROWS", block)
    rng = np.random.default_rng(chunks)
    words = rng.integers(0, 2**64, size=(300, 4), dtype=np.uint64)
    words[100:120] = words[5]  # repeated codes: equal chunk values, rows kept ascending
    layout = mi.ChunkLayout.with_chunks(chunks)
    tables = mi.MultiIndex.build(words, layout, workers=2)
    n = words.shape[0]
    at = 0
    for i, (start, width) in enumerate(zip(layout.starts, layout.widths, strict=True)):
        values = mi.chunk_value(words, start, width)
        expected_rows = np.argsort(values, kind="stable")
        assert np.array_equal(tables.rows[i * n : (i + 1) * n], expected_rows)
        counts = np.bincount(values, minlength=1 << width)
        expected_offsets = np.concatenate([[0], np.cumsum(counts)])
        assert np.array_equal(tables.offsets[at : at + (1 << width) + 1], expected_offsets)
        at += (1 << width) + 1

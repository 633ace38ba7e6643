"""Snapshots, log replay, torn log tails and checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hotline.index import IndexStorageError, PDQIndex
from hotline.index.persistence import CURRENT, LOG_MAGIC, log_name, snapshot_name

from .helpers import as_pairs, brute_force, random_words


def results(index: PDQIndex, queries: np.ndarray) -> list[list[tuple[int, int]]]:
    return [as_pairs(m) for m in index.search_batch(queries, 31)]


def test_save_and_open_round_trip(tmp_path: Path, rng: np.random.Generator) -> None:
    words = random_words(rng, 400)
    index = PDQIndex.build(np.arange(400) * 3, words)
    index.add([5000], words[:1])
    index.remove([3, 6])
    index.save(tmp_path / "idx")
    reopened = PDQIndex.open(tmp_path / "idx")
    assert len(reopened) == len(index) == 399
    assert results(reopened, words[:50]) == results(index, words[:50])
    stats = reopened.stats()
    assert stats.path == str(tmp_path / "idx") and stats.generation == 1
    assert stats.tombstones == 2 and stats.delta_rows == 1
    # The base arrays are memory-mapped, not read into memory.
    assert isinstance(reopened._state.base.words.base, np.memmap)
    reopened.close()


def test_open_creates_then_replays_the_log(tmp_path: Path, rng: np.random.Generator) -> None:
    words = random_words(rng, 100)
    root = tmp_path / "idx"
    with PDQIndex.open(root) as index:
        index.add(np.arange(60), words[:60])
        index.remove([1, 2, 3])
        index.add([1], words[60:61])  # re-add an id removed earlier
        index.add(np.arange(100, 139), words[61:])
        expected = results(index, words)
    assert (root / log_name(1)).stat().st_size > len(LOG_MAGIC)
    reopened = PDQIndex.open(root)
    assert results(reopened, words) == expected
    assert len(reopened) == 60 - 3 + 1 + 39
    reopened.close()


def test_torn_log_tail_is_ignored(tmp_path: Path, rng: np.random.Generator) -> None:
    words = random_words(rng, 30)
    root = tmp_path / "idx"
    with PDQIndex.open(root) as index:
        index.add(np.arange(10), words[:10])
        index.add(np.arange(10, 20), words[10:20])
    log_path = root / log_name(1)
    full = log_path.read_bytes()
    one_record = (len(full) - len(LOG_MAGIC)) // 2
    for cut in (1, 7, one_record // 2, one_record - 1):
        log_path.write_bytes(full[: len(full) - cut])
        reopened = PDQIndex.open(root)
        assert len(reopened) == 10  # the torn second record is dropped, the first survives
        assert 19 not in reopened and 9 in reopened
        # Appends after a torn tail land after the valid prefix and replay cleanly.
        reopened.add([77], words[25:26])
        reopened.close()
        again = PDQIndex.open(root)
        assert len(again) == 11 and 77 in again
        again.close()
        log_path.write_bytes(full)


def test_corrupt_record_stops_replay(tmp_path: Path, rng: np.random.Generator) -> None:
    words = random_words(rng, 20)
    root = tmp_path / "idx"
    with PDQIndex.open(root) as index:
        index.add(np.arange(10), words[:10])
        index.add(np.arange(10, 20), words[10:])
    log_path = root / log_name(1)
    data = bytearray(log_path.read_bytes())
    data[-5] ^= 0xFF  # flip a byte inside the last record: its CRC no longer matches
    log_path.write_bytes(bytes(data))
    reopened = PDQIndex.open(root)
    assert len(reopened) == 10
    reopened.close()


def test_checkpoint_moves_to_a_new_generation(tmp_path: Path, rng: np.random.Generator) -> None:
    words = random_words(rng, 200)
    root = tmp_path / "idx"
    PDQIndex.build(np.arange(100), words[:100]).save(root)
    index = PDQIndex.open(root)
    index.add(np.arange(100, 150), words[100:150])
    index.checkpoint()
    assert (root / CURRENT).read_text().strip() == snapshot_name(2)
    assert not (root / snapshot_name(1)).exists() and not (root / log_name(1)).exists()
    # Unchanged base arrays are hard-linked from the previous snapshot, not rewritten.
    index.add(np.arange(150, 160), words[150:160])
    index.checkpoint()
    assert (root / snapshot_name(3) / "base_words.npy").stat().st_nlink >= 1
    index.compact()
    index.add([999], words[199:200])
    index.checkpoint()
    index.remove([0])
    expected = results(index, words)
    index.close()
    reopened = PDQIndex.open(root)
    assert reopened.stats().generation == 4
    assert results(reopened, words) == expected
    reopened.close()


def test_crash_before_current_moves_keeps_old_state(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    words = random_words(rng, 50)
    root = tmp_path / "idx"
    with PDQIndex.open(root) as index:
        index.add(np.arange(50), words)
    # A half-written next snapshot (crash mid-checkpoint) must not be picked up.
    partial = root / (snapshot_name(2) + ".tmp")
    partial.mkdir()
    (partial / "base_words.npy").write_bytes(b"garbage")
    reopened = PDQIndex.open(root)
    assert len(reopened) == 50
    reopened.checkpoint()  # the stale temporary directory is replaced
    reopened.close()
    with PDQIndex.open(root) as final:
        assert len(final) == 50


def test_open_errors(tmp_path: Path) -> None:
    with pytest.raises(IndexStorageError):
        PDQIndex.open(tmp_path / "missing", create=False)
    root = tmp_path / "bad"
    root.mkdir()
    (root / CURRENT).write_text("nonsense\n")
    with pytest.raises(IndexStorageError):
        PDQIndex.open(root)
    (root / CURRENT).write_text(snapshot_name(7) + "\n")
    with pytest.raises(IndexStorageError):
        PDQIndex.open(root)
    log_root = tmp_path / "badlog"
    PDQIndex.build([], []).save(log_root)
    (log_root / log_name(1)).write_bytes(b"NOTALOG!" + b"\x00" * 20)
    with pytest.raises(IndexStorageError):
        PDQIndex.open(log_root)


def test_checkpoint_requires_a_directory() -> None:
    with pytest.raises(IndexStorageError):
        PDQIndex.build([], []).checkpoint()


def test_unmapped_open_matches(tmp_path: Path, rng: np.random.Generator) -> None:
    words = random_words(rng, 64)
    PDQIndex.build(np.arange(64), words).save(tmp_path / "i")
    index = PDQIndex.open(tmp_path / "i", mmap=False, fsync=False)
    assert as_pairs(index.search(words[3].tobytes(), 31)) == brute_force(
        np.arange(64), words, words[3], 31
    )
    index.close()


def test_many_small_log_records_replay(tmp_path: Path, rng: np.random.Generator) -> None:
    words = random_words(rng, 300)
    root = tmp_path / "idx"
    with PDQIndex.open(root, fsync=False, auto_compact_rows=None) as index:
        for i in range(300):
            index.add([i], words[i : i + 1])
        index.remove(list(range(0, 300, 3)))
    with PDQIndex.open(root, auto_compact_rows=100) as reopened:
        assert len(reopened) == 200 and 3 not in reopened and 4 in reopened
        reopened.wait_for_compaction()
        assert reopened.search(words[4].tobytes(), 0)[0].id == 4


def test_log_that_does_not_replay_is_a_storage_error(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    from hotline.index.persistence import OP_ADD, LogWriter

    words = random_words(rng, 2)
    root = tmp_path / "idx"
    PDQIndex.build([1], words[:1]).save(root)
    writer = LogWriter.open_at(root / log_name(1), len(LOG_MAGIC))
    writer.append(OP_ADD, np.array([1], np.int64), words[1:].astype("<u8").tobytes())  # dup id
    writer.close()
    with pytest.raises(IndexStorageError):
        PDQIndex.open(root)

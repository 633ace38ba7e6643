"""ExactHashIndex: md5 / sha1 / sha256 digests -> ids."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hotline.index import (
    DuplicateIdError,
    ExactHashIndex,
    IndexInputError,
    IndexStorageError,
    UnknownIdError,
)
from hotline.index.persistence import log_name


def digests(algorithm: str, n: int, salt: str = "") -> list[str]:
    # Digests of counter strings: arbitrary, benign values with the right width.
    return [hashlib.new(algorithm, f"{salt}{i}".encode()).hexdigest() for i in range(n)]


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256"])
def test_lookup_add_remove_compact(algorithm: str) -> None:
    values = digests(algorithm, 50)
    index = ExactHashIndex.build(algorithm, range(50), values)
    assert index.lookup(values[7]) == [7]
    assert index.lookup(values[7].upper()) == [7]
    assert index.lookup(bytes.fromhex(values[7])) == [7]
    assert index.lookup(digests(algorithm, 1, "other")[0]) == []
    index.add([100, 101], [values[7], digests(algorithm, 1, "x")[0]])  # same file, second entry
    assert index.lookup(values[7]) == [7, 100]
    assert index.remove([7, 101]) == 2
    assert index.lookup(values[7]) == [100]
    assert index.lookup_batch([values[1], values[7], digests(algorithm, 1, "x")[0]]) == [
        [1],
        [100],
        [],
    ]
    assert len(index) == 50 and 7 not in index and 100 in index
    index.compact()
    assert index.lookup(values[7]) == [100] and len(index) == 50
    index.add([7], [values[8]])
    assert index.lookup(values[8]) == [7, 8]


def test_trailing_zero_bytes_are_kept() -> None:
    # Fixed-width byte arrays must not confuse digests that end in zero bytes.
    a = "ab" + "00" * 15
    b = "ab" + "00" * 14 + "01"
    index = ExactHashIndex.build("md5", [1, 2], [a, b])
    assert index.lookup(a) == [1] and index.lookup(b) == [2]
    assert index.lookup("ab" + "00" * 14 + "02") == []


def test_bad_input() -> None:
    with pytest.raises(IndexInputError):
        ExactHashIndex("crc32")
    index = ExactHashIndex.build("sha1", [1], digests("sha1", 1))
    for bad in ("0" * 39, "z" * 40, b"\x00" * 16, 5):
        with pytest.raises(IndexInputError):
            index.lookup(bad)  # type: ignore[arg-type]
    with pytest.raises(DuplicateIdError):
        index.add([1], digests("sha1", 1, "y"))
    with pytest.raises(DuplicateIdError):
        ExactHashIndex.build("sha1", [2, 2], digests("sha1", 2))
    with pytest.raises(UnknownIdError):
        index.remove([9])
    assert index.remove([9], missing_ok=True) == 0
    with pytest.raises(IndexInputError):
        index.add([3], "0" * 40)  # a lone digest where a sequence is expected


def test_persistence_round_trip_and_torn_log(tmp_path: Path) -> None:
    values = digests("sha256", 30)
    root = tmp_path / "sha"
    ExactHashIndex.build("sha256", range(20), values[:20]).save(root)
    with pytest.raises(IndexStorageError):
        ExactHashIndex.open(root, "md5")
    index = ExactHashIndex.open(root, "sha256")
    index.add([20, 21], values[20:22])
    index.remove([0])
    index.add([22], values[22:23])
    index.close()
    log_path = root / log_name(1)
    log_path.write_bytes(log_path.read_bytes()[:-3])  # tear the last add
    reopened = ExactHashIndex.open(root, "sha256")
    assert len(reopened) == 21 and 22 not in reopened and 0 not in reopened
    assert reopened.lookup(values[21]) == [21]
    reopened.save(root)  # checkpoint: new generation, empty log
    reopened.add([30], values[29:30])
    reopened.close()
    final = ExactHashIndex.open(root, "sha256")
    assert final.lookup(values[29]) == [30] and len(final) == 22
    assert final.memory_bytes() > 0
    final.close()

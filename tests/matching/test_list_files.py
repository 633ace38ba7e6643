"""Exported list files: written and read back; every kind of damage named by line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from hotline.db.base import utcnow
from hotline.matching import list_files
from hotline.matching.model import ListEntry, ListInfo

INFO = ListInfo(3, "alpha", "d", 20, 7, entries=2)
ENTRIES = [
    ListEntry(4, "A", md5="a" * 32, pdq="b" * 64, pdq_quality=80),
    ListEntry(9, "C", sha256="c" * 64),
]


def written() -> str:
    out = io.StringIO()
    assert list_files.write(out, INFO, ENTRIES, utcnow()) == 2
    return out.getvalue()


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    path.write_text(written())
    info, entries = list_files.read(path)
    assert (info.name, info.version, info.pdq_max_distance, info.entries) == ("alpha", 7, 20, 2)
    assert entries == ENTRIES


def _lines() -> list[dict]:
    return [json.loads(line) for line in written().splitlines()]


def _damage(kind: str) -> str:
    header, first, second = _lines()
    if kind == "no header":
        return "\n".join(json.dumps(x) for x in (first, second))
    if kind == "future format":
        header["format_version"] = 2
    if kind == "count":
        header["entries"] = 3
    if kind == "bad distance":
        header["pdq_max_distance"] = 99
    if kind == "duplicate id":
        second["id"] = first["id"]
    if kind == "bad hash":
        second["sha256"] = "zz"
    if kind == "no id":
        del second["id"]
    text = "\n".join(json.dumps(x) for x in (header, first, second))
    return text + "\n{oops" if kind == "not json" else text


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("no header", "line 1"),
        ("future format", "format_version"),
        ("count", "header says 3"),
        ("bad distance", "line 1"),
        ("duplicate id", "line 3: id 4 appears twice"),
        ("bad hash", "line 3: sha256"),
        ("no id", "line 3: id"),
        ("not json", "line 4: not JSON"),
    ],
)
def test_damaged_files_are_refused(tmp_path: Path, kind: str, message: str) -> None:
    path = tmp_path / "l.jsonl"
    path.write_text(_damage(kind))
    with pytest.raises(list_files.ListFileError, match=message):
        list_files.read(path)

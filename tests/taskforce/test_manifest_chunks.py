"""CSV manifests checked a chunk of rows a column at a time: the same rows, refusals and
messages as row by row, whatever falls where in the chunks."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from hotline.taskforce import manifests
from hotline.taskforce.model import ManifestRow, Refused, SourceKind


def _hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


Outcome = tuple[object, object]


def _outcome(path: Path, start: int = 0) -> Outcome:
    try:
        count: object = manifests.check(path, SourceKind.csv)
    except Refused as exc:
        count = f"refused: {exc}"
    try:
        rows: object = list(manifests.rows(path, SourceKind.csv, start))
    except Refused as exc:
        rows = f"refused: {exc}"
    return count, rows


def _both_ways(
    monkeypatch: pytest.MonkeyPatch, path: Path, start: int = 0
) -> tuple[Outcome, Outcome]:
    monkeypatch.setattr(manifests, "_CHUNK_ROWS", 4)
    chunked = _outcome(path, start)
    monkeypatch.setattr(manifests, "_block", lambda *args: None)  # every chunk row by row
    return chunked, _outcome(path, start)


def _lines(rng: random.Random, rows: int) -> list[str]:
    lines = ["id,md5,sha256,pdq,pdq_quality"]
    for n in range(rows):
        sha256 = _hex(rng, 64) if n % 3 else ""
        lines.append(f"r{n},{_hex(rng, 32)},{sha256},{_hex(rng, 64)},{90 if n % 2 else ''}")
    return lines


def test_a_clean_manifest_reads_the_same_chunked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lines = _lines(random.Random(3), 22)
    lines[5] = ""  # a blank row: not a row, but a line
    lines[9] = lines[9].replace("r8,", '"multi\nline",')  # a reference over two lines
    lines.append(",,,,")  # a row of empty cells is skipped too
    path = tmp_path / "clean.csv"
    path.write_text("\n".join(lines) + "\n")
    chunked, row_by_row = _both_ways(monkeypatch, path, start=3)
    assert chunked == row_by_row
    count, rows = chunked
    assert count == 21
    assert isinstance(rows, list) and rows[0] == ManifestRow(
        3, "r3", rows[0].md5, None, None, rows[0].pdq, 90
    )


@pytest.mark.parametrize(
    ("where", "cell", "message"),
    [
        (7, "MD5", None),  # upper case: normalised, not refused
        (7, " md5", None),  # a space: stripped
        (10, "short", "line 11: md5 must be 32 hex digits, not 31 characters"),
        (13, "notHex", "line 14: md5 must be hexadecimal"),
        (2, "quality", "line 3: pdq_quality must be a whole number from 0 to 100"),
        (17, "fields", "line 18: 4 fields; the header has 5"),
        (6, "nohash", "line 7: no hash (md5, sha1, sha256 or pdq)"),
    ],
)
def test_a_bad_or_unusual_row_reads_the_same_chunked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, where: int, cell: str, message: str | None
) -> None:
    rng = random.Random(where)
    lines = _lines(rng, 20)
    ref, md5, sha256, pdq, quality = lines[where].split(",")
    if cell == "MD5":
        md5 = md5.upper()
    elif cell == " md5":
        md5 = f" {md5}"
    elif cell == "short":
        md5 = md5[:-1]
    elif cell == "notHex":
        md5 = md5[:-1] + "g"
    elif cell == "quality":
        quality = "101"
    elif cell == "nohash":
        md5 = sha256 = pdq = ""
    row = [ref, md5, sha256, pdq, quality]
    lines[where] = ",".join(row[:-1] if cell == "fields" else row)
    path = tmp_path / "odd.csv"
    path.write_text("\n".join(lines) + "\n")
    chunked, row_by_row = _both_ways(monkeypatch, path)
    assert chunked == row_by_row
    count, _rows = chunked
    if message is None:
        assert count == 20
    else:
        assert isinstance(count, str) and message in count


def test_a_broken_quote_after_clean_rows_reads_the_same_chunked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "cut.csv"
    path.write_text("\n".join([*_lines(random.Random(5), 9), 'r9,"' + "a" * 32]) + "\n")
    chunked, row_by_row = _both_ways(monkeypatch, path)
    assert chunked == row_by_row
    assert isinstance(chunked[0], str) and "line 11: unexpected end of data" in chunked[0]

"""Hash manifests read as a stream: CSV with md5/sha1/sha256/pdq columns, and VICS JSON.

For sets whose media stay with their owner. A row is one file's hashes; rows are read one at a
time (a million-row manifest never sits in memory). `check` reads the whole manifest through
first and refuses it (`Refused`, naming the first problems) if any row is bad, so a manifest is
imported whole or not at all; `rows` then yields the checked rows from a cursor on. CSV rows are
checked a chunk at a time, a column at once (the usual manifest, already lower-case hex),
any chunk with something else row by row: the same rows and messages either way.

CSV: a header row; columns in any order and case: `md5`, `sha1`, `sha256`, `pdq` (at least one
column, at least one value a row), `pdq_quality` (0-100), and a reference `id`, `ref`, `name`
or `path` (kept as the item's provenance). `category` is accepted and ignored: the set is
graded here. Any other column refuses the file (a misspelt hash column would vanish unseen).

VICS: `{"value": [media, ...]}` or a bare array, or case-wrapped (`{"value": [{"Media": [media,
...]}, ...]}`, VICS `#Cases`), as `hotline lists import --format vics` reads:
`MD5`, `SHA1`, and `SHA256`/`PDQ` from `AlternativeHashes` (`HashName`, `HashValue`), `MediaID`
as the reference. The array is decoded one record at a time.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from hotline.known.model import all_lower_hex
from hotline.lists.imports import VICS_ACCEPTED, VICS_MODEL
from hotline.taskforce.model import ManifestRow, Refused, SourceKind

MAX_SHOWN_PROBLEMS = 5
_HEX = re.compile(r"[0-9a-f]*")
_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
_REFS = ("id", "ref", "name", "path")
_CSV_COLUMNS = (*_LENGTHS, "pdq_quality", "category", *_REFS)
_READ = 1 << 20


class _Bad(ValueError):
    """One row is wrong; the message says how."""


class _BadFile(_Bad):
    """The whole file is wrong (no row to name)."""


def check(path: Path, kind: SourceKind) -> int:
    """Rows in the manifest; `Refused` naming the first problems if any row is bad."""
    problems: list[str] = []
    count = 0
    for row in _parsed(path, kind):
        if isinstance(row, str):
            problems.append(row)
            if len(problems) >= MAX_SHOWN_PROBLEMS:
                break
        elif isinstance(row, _Block):
            count += len(row)
        else:
            count += 1
    if problems:
        more = " (and possibly more)" if len(problems) >= MAX_SHOWN_PROBLEMS else ""
        raise Refused("bad rows, nothing imported: " + "; ".join(problems) + more)
    if count == 0:
        raise Refused("the manifest holds no rows")
    return count


def rows(path: Path, kind: SourceKind, start: int = 0) -> Iterator[ManifestRow]:
    """Checked rows from index `start` on (call `check` first)."""
    for row in _parsed(path, kind):
        if isinstance(row, str):
            raise Refused(row)  # changed since it was checked
        if isinstance(row, _Block):
            if row.first + len(row) > start:
                yield from row.rows(start)
        elif row.index >= start:
            yield row


def _parsed(path: Path, kind: SourceKind) -> Iterator[ManifestRow | _Block | str]:
    try:
        if kind is SourceKind.csv:
            yield from _csv_rows(path)
        else:
            yield from _vics_rows(path)
    except UnicodeDecodeError as exc:
        yield f"not UTF-8 text (byte {exc.start})"
    except OSError as exc:
        yield f"cannot read: {exc.strerror}"


def _hash(kind: str, value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Bad(f"{kind} must be text")
    text = value.strip().lower()
    if len(text) != _LENGTHS[kind]:
        raise _Bad(f"{kind} must be {_LENGTHS[kind]} hex digits, not {len(text)} characters")
    if not _HEX.fullmatch(text):
        raise _Bad(f"{kind} must be hexadecimal")
    return text


def _quality(value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        quality = int(str(value).strip())
    except ValueError:
        raise _Bad("pdq_quality must be a whole number from 0 to 100") from None
    if not 0 <= quality <= 100:
        raise _Bad("pdq_quality must be a whole number from 0 to 100")
    return quality


def _row(index: int, ref: str, fields: dict[str, Any]) -> ManifestRow:
    hashes = {kind: _hash(kind, fields.get(kind)) for kind in _LENGTHS}
    if not any(hashes.values()):
        raise _Bad("no hash (md5, sha1, sha256 or pdq)")
    quality = _quality(fields.get("pdq_quality"))
    return ManifestRow(
        index, ref[:500], hashes["md5"], hashes["sha1"], hashes["sha256"], hashes["pdq"], quality
    )


# -- csv ---------------------------------------------------------------------------------------


def _csv_header(names: list[str]) -> str | None:
    unknown = [n or "(blank)" for n in names if n not in _CSV_COLUMNS]
    if unknown or len(set(names)) != len(names):
        return (
            f"line 1: unknown or repeated columns {', '.join(unknown) or names}; "
            f"use {', '.join(_CSV_COLUMNS)}"
        )
    if not any(k in names for k in _LENGTHS):
        return "line 1: the header needs at least one of md5, sha1, sha256, pdq"
    return None


_CHUNK_ROWS = 4096  # CSV rows checked a column at a time


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where a CSV's columns are: each hash kind's position (None: no such column), its length."""

    width: int
    hashes: tuple[tuple[str, int | None, int], ...]
    ref_at: int | None
    quality_at: int | None

    @classmethod
    def of(cls, names: list[str]) -> _Layout:
        position = {name: i for i, name in enumerate(names)}
        return cls(
            len(names),
            tuple((k, position.get(k), n) for k, n in _LENGTHS.items()),
            next((position[r] for r in _REFS if r in position), None),
            position.get("pdq_quality"),
        )


@dataclass(frozen=True, slots=True)
class _Block:
    """Consecutive rows that all passed the checks a column at a time: `first` is the first
    row's index; the columns hold each row's value (None where empty)."""

    first: int
    lines: list[int]
    refs: list[str]
    hashes: tuple[list[str | None], ...]  # md5, sha1, sha256, pdq
    qualities: list[int | None]

    def __len__(self) -> int:
        return len(self.lines)

    def rows(self, start: int = 0) -> Iterator[ManifestRow]:
        md5s, sha1s, sha256s, pdqs = self.hashes
        index = self.first
        for line, ref, md5, sha1, sha256, pdq, quality in zip(
            self.lines, self.refs, md5s, sha1s, sha256s, pdqs, self.qualities, strict=True
        ):
            if index >= start:
                yield ManifestRow(index, ref or f"line {line}", md5, sha1, sha256, pdq, quality)
            index += 1


def _csv_rows(path: Path) -> Iterator[ManifestRow | _Block | str]:
    """The rows a chunk at a time: a chunk whose every value is already in normal form (the
    usual manifest) is checked a column at a time (`_block`); any other chunk row by row,
    with the same outcome and messages."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        chunk: list[list[str]] = []
        lines: list[int] = []
        index = 0
        try:
            header = next(reader, None)
            if header is None:
                return
            names = [h.strip().lower() for h in header]
            problem = _csv_header(names)
            if problem:
                yield problem
                return
            layout = _Layout.of(names)
            for cells in reader:
                if not any(cells):
                    continue
                chunk.append(cells)
                lines.append(reader.line_num)
                if len(chunk) >= _CHUNK_ROWS:
                    yield from _csv_chunk(chunk, lines, index, layout)
                    index += len(chunk)
                    chunk, lines = [], []
            yield from _csv_chunk(chunk, lines, index, layout)
        except csv.Error as exc:
            yield from _csv_chunk(chunk, lines, index, layout)  # the rows before the error
            yield f"line {reader.line_num}: {exc}"


def _csv_chunk(
    chunk: list[list[str]], lines: list[int], first: int, layout: _Layout
) -> Iterator[ManifestRow | _Block | str]:
    if not chunk:
        return
    block = _block(chunk, lines, first, layout)
    if block is not None:
        yield block
        return
    for offset, (cells, line) in enumerate(zip(chunk, lines, strict=True)):
        yield _csv_row(cells, line, first + offset, layout)


def _block(chunk: list[list[str]], lines: list[int], first: int, layout: _Layout) -> _Block | None:
    """The chunk checked a column at a time, or None if any value is not already in normal
    form (upper case, spaces) or any row is wrong: then it is checked row by row."""
    width = layout.width
    if any(len(cells) != width for cells in chunk):
        return None
    columns: list[list[str | None]] = []
    present: list[list[str]] = []
    empty = False
    for _kind, at, length in layout.hashes:
        if at is None:
            columns.append([None] * len(chunk))
            continue
        values = [cells[at] for cells in chunk]
        lengths = set(map(len, values))
        if not lengths <= {0, length} or not all_lower_hex("".join(values)):
            return None
        if 0 in lengths:
            empty = True
            columns.append([v or None for v in values])
        else:
            columns.append(values)  # type: ignore[arg-type]  # every value present
        present.append(values)
    if empty and not all(any(row) for row in zip(*present, strict=True)):
        return None  # a row without any hash: row by row names it
    qualities: list[int | None] = [None] * len(chunk)
    if layout.quality_at is not None:
        values = [cells[layout.quality_at] for cells in chunk]
        try:
            known = {value: _quality(value) for value in set(values)}
        except _Bad:
            return None
        qualities = [known[value] for value in values]
    ref_at = layout.ref_at
    refs = [cells[ref_at].strip()[:500] for cells in chunk] if ref_at is not None else []
    return _Block(first, lines, refs or [""] * len(chunk), tuple(columns), qualities)


def _csv_row(cells: list[str], line: int, index: int, layout: _Layout) -> ManifestRow | str:
    """One row checked on its own: the row, or the message naming its line."""
    if len(cells) != layout.width:
        return f"line {line}: {len(cells)} fields; the header has {layout.width}"
    found: list[str | None] = []
    for kind, at, length in layout.hashes:
        value = cells[at].strip().lower() if at is not None else ""
        if not value:
            found.append(None)
        elif len(value) != length:
            return f"line {line}: {kind} must be {length} hex digits, not {len(value)} characters"
        elif not _HEX.fullmatch(value):
            return f"line {line}: {kind} must be hexadecimal"
        else:
            found.append(value)
    if not any(found):
        return f"line {line}: no hash (md5, sha1, sha256 or pdq)"
    quality = None
    if layout.quality_at is not None:
        try:
            quality = _quality(cells[layout.quality_at])
        except _Bad as exc:
            return f"line {line}: {exc}"
    ref = cells[layout.ref_at].strip()[:500] if layout.ref_at is not None else ""
    md5, sha1, sha256, pdq = found
    return ManifestRow(index, ref or f"line {line}", md5, sha1, sha256, pdq, quality)


# -- vics --------------------------------------------------------------------------------------


def _vics_fields(record: object) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise _Bad("not a JSON object")
    fields = {str(k).lower(): v for k, v in record.items()}
    out: dict[str, Any] = {"md5": fields.get("md5"), "sha1": fields.get("sha1")}
    alternatives = fields.get("alternativehashes") or []
    if not isinstance(alternatives, list):
        raise _Bad("AlternativeHashes must be an array")
    for alt in alternatives:
        if not isinstance(alt, dict):
            raise _Bad("AlternativeHashes items must be objects")
        alt_fields = {str(k).lower(): v for k, v in alt.items()}
        name = str(alt_fields.get("hashname", "")).strip().lower().replace("-", "")
        if name in ("sha256", "pdq"):
            out[name] = alt_fields.get("hashvalue")
    out["ref"] = fields.get("mediaid")
    return out


def _vics_media(records: Iterator[object]) -> Iterator[object]:
    """The media of a flat file as they are; a case-wrapped file's (`#Cases`: each record a
    case with a `Media` array) one by one."""
    for record in records:
        if isinstance(record, dict):
            keys = {str(k).lower(): k for k in record}
            if "media" in keys and not {"md5", "sha1", "category"} & keys.keys():
                media = record[keys["media"]]
                if not isinstance(media, list):
                    yield _Bad("a case's Media must be an array")
                    return
                yield from media
                continue
        yield record


def _vics_rows(path: Path) -> Iterator[ManifestRow | str]:
    for index, record in enumerate(_vics_media(_json_array(path))):
        if isinstance(record, _BadFile):
            yield str(record)
            return
        if isinstance(record, _Bad):
            yield f"record {index + 1}: {record}"
            return
        try:
            fields = _vics_fields(record)
            ref = fields.pop("ref")
            where = f"MediaID={ref}" if ref is not None else f"record {index + 1}"
            yield _row(index, where, fields)
        except _Bad as exc:
            yield f"record {index + 1}: {exc}"


_VALUE_KEY = re.compile(r'"value"\s*:\s*\[', re.IGNORECASE)


class _Stream:
    """Text read a chunk at a time; `pos` is where decoding has got to."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.text = ""
        self.pos = 0
        self.eof = False

    def more(self) -> bool:
        """Read another chunk (dropping what was decoded); False at the end of the file."""
        if self.eof:
            return False
        chunk = self._handle.read(_READ)
        self.eof = not chunk
        self.text = self.text[self.pos :] + self._decoder.decode(chunk, final=self.eof)
        self.pos = 0
        return not self.eof

    def skip_separators(self) -> bool:
        """Past whitespace and commas; False if the file ends first."""
        while True:
            text, pos = self.text, self.pos
            while pos < len(text) and text[pos] in " \t\r\n,":
                pos += 1
            self.pos = pos
            if pos < len(text):
                return True
            if not self.more():
                return self.pos < len(self.text)


_MODEL_KEY = re.compile(
    r'"(odata\.metadata|@odata\.context)"\s*:\s*("(?:[^"\\]|\\.)*"|[^,}]*)', re.I
)


def _unknown_model(head: str) -> _BadFile | None:
    """A problem if the text before `value` names a VICS data model other than 1.3 or 2.0
    (what `hotline lists import --format vics` accepts)."""
    for found in _MODEL_KEY.finditer(head):
        try:
            value = json.loads(found.group(2).strip())
        except json.JSONDecodeError:
            value = found.group(2).strip()
        if not (isinstance(value, str) and VICS_MODEL.fullmatch(value.strip())):
            return _BadFile(
                f"unknown VICS data model: {found.group(1)} is {str(value)[:200]!r}; "
                f"accepted: {VICS_ACCEPTED}"
            )
    return None


def _json_array(path: Path) -> Iterator[object]:
    """The records of `{"value": [...]}` or of a bare array, decoded one at a time."""
    decoder = json.JSONDecoder()
    with path.open("rb") as handle:
        stream = _Stream(handle)
        stream.more()
        if stream.text.lstrip().startswith("["):
            stream.pos = stream.text.index("[") + 1
        else:
            while (found := _VALUE_KEY.search(stream.text)) is None and stream.more():
                pass
            if found is None:
                yield _Bad('a VICS file is an object with a "value" array, or a bare array')
                return
            unknown = _unknown_model(stream.text[: found.start()])
            if unknown is not None:
                yield unknown
                return
            stream.pos = found.end()
        while True:
            if not stream.skip_separators():
                yield _Bad("the array is not closed (a truncated file)")
                return
            if stream.text[stream.pos] == "]":
                return
            try:
                record, end = decoder.raw_decode(stream.text, stream.pos)
            except json.JSONDecodeError as exc:
                if not stream.more():  # a record cut by the read is decoded again after it
                    yield _Bad(f"not valid JSON: {exc.msg}")
                    return
                continue
            yield record
            stream.pos = end

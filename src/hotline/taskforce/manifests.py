"""Hash manifests read as a stream: CSV with md5/sha1/sha256/pdq columns, and VICS JSON.

For sets whose media stay with their owner. A row is one file's hashes; rows are read one at a
time (a million-row manifest never sits in memory). `check` reads the whole manifest through
first and refuses it (`Refused`, naming the first problems) if any row is bad, so a manifest is
imported whole or not at all; `rows` then yields the checked rows from a cursor on.

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
from pathlib import Path
from typing import IO, Any

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
        if row.index >= start:
            yield row


def _parsed(path: Path, kind: SourceKind) -> Iterator[ManifestRow | str]:
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


def _csv_rows(path: Path) -> Iterator[ManifestRow | str]:
    # The hot loop of a million-row import: columns by position, checks inline.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                return
            names = [h.strip().lower() for h in header]
            problem = _csv_header(names)
            if problem:
                yield problem
                return
            width = len(names)
            position = {name: i for i, name in enumerate(names)}
            columns = [(k, position.get(k), n) for k, n in _LENGTHS.items()]
            ref_at = next((position[r] for r in _REFS if r in position), None)
            quality_at = position.get("pdq_quality")
            fullmatch = _HEX.fullmatch
            index = 0
            for cells in reader:
                if not any(cells):
                    continue
                line = reader.line_num
                if len(cells) != width:
                    yield f"line {line}: {len(cells)} fields; the header has {width}"
                    index += 1
                    continue
                found: list[str | None] = []
                bad = None
                for kind, at, length in columns:
                    value = cells[at].strip().lower() if at is not None else ""
                    if not value:
                        found.append(None)
                    elif len(value) != length:
                        bad = f"{kind} must be {length} hex digits, not {len(value)} characters"
                        break
                    elif not fullmatch(value):
                        bad = f"{kind} must be hexadecimal"
                        break
                    else:
                        found.append(value)
                if bad is None and not any(found):
                    bad = "no hash (md5, sha1, sha256 or pdq)"
                quality = None
                if bad is None and quality_at is not None:
                    try:
                        quality = _quality(cells[quality_at])
                    except _Bad as exc:
                        bad = str(exc)
                if bad is not None:
                    yield f"line {line}: {bad}"
                else:
                    ref = cells[ref_at].strip()[:500] if ref_at is not None else ""
                    md5, sha1, sha256, pdq = found
                    yield ManifestRow(index, ref or f"line {line}", md5, sha1, sha256, pdq, quality)
                index += 1
        except csv.Error as exc:
            yield f"line {reader.line_num}: {exc}"


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

"""Release file writers. Each takes the entries once, in id order, and writes one file; the
release writer feeds every chosen format from a single pass over the database.

- `entries.jsonl`: the hotline list format (docs/matching.md): a header, one entry a line.
  `hotline match --list` reads it as is.
- `entries.csv`: one row an entry; jurisdictions and shared fields as columns.
- `vics.json`: Project VIC (VICS) media records, for forensic tools that import VICS JSON.
- `threatexchange.txt` (`formats_te`): what python-threatexchange, and so HMA, loads.
- `delta.jsonl`: a delta's additions (`"op": "add"`) and withdrawals (`"op": "withdraw"`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol

import orjson

from hotline.lists.model import ReleaseEntry, Withdrawal

DELTA_FORMAT = "hotline-hash-list-delta"
VICS_ODATA = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/1.3.xml#Media"


class HashingFile:
    """A binary file that counts and hashes what goes into it (no second read to sign)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = path.open("wb")
        self._sha = hashlib.sha256()
        self.bytes = 0

    def write(self, data: bytes) -> None:
        self._handle.write(data)
        self._sha.update(data)
        self.bytes += len(data)

    def close(self) -> str:
        """Close (flushed to disk) and return the SHA-256."""
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        return self._sha.hexdigest()


class EntryWriter(Protocol):
    """One release file. `name` and `format` go into the manifest."""

    name: str
    format: str

    def begin(self, out: HashingFile, header: dict[str, Any]) -> None: ...

    # `record` is entry.record(), made once and shared by every writer.
    def entry(self, entry: ReleaseEntry, record: dict[str, Any]) -> None: ...

    def end(self) -> None: ...


class _Buffered:
    """Collects encoded lines and writes them in large chunks."""

    _FLUSH = 1 << 20

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0
        self.out: HashingFile | None = None

    def put(self, data: bytes) -> None:
        self._parts.append(data)
        self._size += len(data)
        if self._size >= self._FLUSH:
            self.flush()

    def flush(self) -> None:
        if self._parts and self.out is not None:
            self.out.write(b"".join(self._parts))
        self._parts, self._size = [], 0


class JsonLinesWriter(_Buffered):
    name = "entries.jsonl"
    format = "jsonl"

    def begin(self, out: HashingFile, header: dict[str, Any]) -> None:
        self.out = out
        self.put(orjson.dumps(header) + b"\n")

    def entry(self, entry: ReleaseEntry, record: dict[str, Any]) -> None:
        self.put(orjson.dumps(record) + b"\n")

    def end(self) -> None:
        self.flush()


class CsvWriter(_Buffered):
    name = "entries.csv"
    format = "csv"
    HASH_COLUMNS = ("id", "category", "md5", "sha1", "sha256", "pdq", "pdq_quality", "added_at")
    TEXT_COLUMNS: ClassVar[dict[str, tuple[str, ...]]] = {
        "url": ("id", "category", "url", "added_at"),
        "keyword": ("id", "term", "note", "added_at"),
    }

    def __init__(
        self, jurisdictions: Sequence[str], fields: Sequence[str], kind: str = "hash"
    ) -> None:
        super().__init__()
        self._kind = kind
        self._jurisdictions = list(jurisdictions)
        self._fields = list(fields)
        self._text = io.StringIO()
        self._csv = csv.writer(self._text, lineterminator="\n")

    def begin(self, out: HashingFile, header: dict[str, Any]) -> None:
        self.out = out
        if self._kind == "hash":
            self._row([*self.HASH_COLUMNS, *self._jurisdictions, *self._fields])
        else:
            self._row(self.TEXT_COLUMNS[self._kind])

    def _row(self, values: Sequence[object]) -> None:
        self._csv.writerow(values)
        if self._text.tell() >= self._FLUSH:
            self._drain()

    def _drain(self) -> None:
        self.put(self._text.getvalue().encode())
        self._text.seek(0)
        self._text.truncate()

    def entry(self, entry: ReleaseEntry, record: dict[str, Any]) -> None:
        if self._kind != "hash":
            self._row([record.get(c, "") for c in self.TEXT_COLUMNS[self._kind]])
            return
        meta = entry.metadata
        self._row(
            [
                entry.id,
                entry.category,
                entry.md5 or "",
                entry.sha1 or "",
                entry.sha256 or "",
                entry.pdq or "",
                "" if entry.pdq_quality is None else entry.pdq_quality,
                record["added_at"],
                *(entry.jurisdictions.get(j, "") for j in self._jurisdictions),
                *(_csv_value(meta.get(f)) for f in self._fields),
            ]
        )

    def end(self) -> None:
        self._drain()
        self.flush()


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class VicsWriter(_Buffered):
    """Project VIC's OData JSON: `{"odata.metadata": …, "value": [media, …]}`. `Category` is
    the entry's derived US VICS category (1 child abuse material, 3 computer-generated or
    drawn); MD5 and SHA1 are upper-case hex as VICS tools write them; PDQ and SHA-256 go in
    `AlternativeHashes`."""

    name = "vics.json"
    format = "vics"

    def begin(self, out: HashingFile, header: dict[str, Any]) -> None:
        self.out = out
        self._first = True
        self.put(b'{"odata.metadata":' + orjson.dumps(VICS_ODATA) + b',"value":[')

    def entry(self, entry: ReleaseEntry, record: dict[str, Any]) -> None:
        self.put((b"" if self._first else b",") + b"\n" + orjson.dumps(vics_media(entry)))
        self._first = False

    def end(self) -> None:
        self.put(b"\n]}\n")
        self.flush()


def vics_media(entry: ReleaseEntry) -> dict[str, Any]:
    media: dict[str, Any] = {"MediaID": entry.id}
    vics = entry.jurisdictions.get("us_vics")
    media["Category"] = int(vics) if vics is not None and vics.isdigit() else 1
    if entry.md5:
        media["MD5"] = entry.md5.upper()
    if entry.sha1:
        media["SHA1"] = entry.sha1.upper()
    alternative = []
    if entry.pdq:
        alternative.append({"HashName": "PDQ", "HashValue": entry.pdq})
    if entry.sha256:
        alternative.append({"HashName": "SHA256", "HashValue": entry.sha256})
    if alternative:
        media["AlternativeHashes"] = alternative
    media["Tags"] = [f"UK category {entry.category}"]
    return media


class DeltaWriter(_Buffered):
    """A delta: header, additions, then withdrawals."""

    name = "delta.jsonl"
    format = "delta-jsonl"

    def begin(self, out: HashingFile, header: dict[str, Any]) -> None:
        self.out = out
        self.put(orjson.dumps(header) + b"\n")

    def entry(self, entry: ReleaseEntry, record: dict[str, Any]) -> None:
        self.put(orjson.dumps({"op": "add", **record}) + b"\n")

    def withdrawal(self, withdrawal: Withdrawal) -> None:
        self.put(orjson.dumps(withdrawal.record()) + b"\n")

    def end(self) -> None:
        self.flush()

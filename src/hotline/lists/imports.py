"""External hash lists parsed into entries for a bank (a hash list the matcher searches).

Bytes in, an `ImportBatch` out: no ORM, no I/O, so every record can be checked before
anything is stored. `import_cli` stores a batch that has no problems in one transaction; a
file is imported whole or not at all.

Formats, and the category label each entry gets:

- `csv`: a header row, then one entry a row. Columns, in any order and case: `category`
  (required, 1-32 letters, digits, spaces, '.', '_' or '-', kept as given), `md5`, `sha1`,
  `sha256`, `pdq` (at least one column, and at least one value a row), `pdq_quality`
  (0-100), and an optional external reference `id` or `ref`, kept in provenance only; and a
  column per plug-in signal type, named after it (what the release's `entries.csv` writes),
  each value checked by its plug-in. Any other column is a problem: a misspelt hash column
  would otherwise be dropped unseen.
- `vics`: Project VIC JSON, `{"value": [media, ...]}` (what `formats.VicsWriter` writes) or a
  bare array of media; or case-wrapped, `{"value": [{"Media": [media, ...]}, ...]}`. The data
  model header (`odata.metadata` for VICS 1.3, `@odata.context` for 2.0 Default/US/UK) says
  which (`#Media` or `#Cases`); any other data model is refused (InvalidInput naming it).
  `Tags` a string or an array of strings (not kept); `Category` a number or a numeric string.
  `MD5` and `SHA1` in any case; `PDQ` and `SHA256` from
  `AlternativeHashes` (`HashName` in any case, other hash names ignored), and a video's vPDQ
  from an `AlternativeHashes` item named `vPDQ` whose value is Meta's vPDQ text
  (`frame,quality,pdq,timestamp` a line; what `formats.VicsWriter` writes), and a plug-in
  signal type's hash from an item named after it (`HashName` in any case). `Category`:
  1 -> "vics-1" (child abuse material), 2 -> "vics-2" (child exploitative, age difficult),
  3 -> "vics-3" (computer-generated or drawn). Category 0 (non-pertinent) and 4 (comparison
  material) are not about abuse material, so those records are skipped and counted.
- `ncmec`: NCMEC hash-sharing XML as python-threatexchange's client
  (`threatexchange.exchanges.clients.ncmec.hash_api`) parses an entries response: a root
  (`<queryResult>` or similar) holding `<images>`/`<videos>` containers of `<image>`/`<video>`
  entries (entries directly under the root are accepted too, and `<content>` as a generic
  entry). Each entry has `<id>`, `<member id=…>`, `<classification>` and `<fingerprints>`
  with `<md5>`, `<sha1>`, `<pdq>` (and types we cannot match on, such as `<pdna>`, which are
  ignored). Namespaces are ignored, as the client does. `<deletedImage>`/`<deletedVideo>`
  tombstones are skipped and counted. Category "ncmec"; id, member and classification go
  into provenance. NCMEC's full schema is not public; this is the shape that client reads.
  A DOCTYPE or ENTITY declaration is refused before parsing (defusedxml is not installed),
  and the file must be UTF-8.
- `stopncii`: StopNCII FetchHashes JSON as python-threatexchange's client
  (`threatexchange.exchanges.clients.stopncii.api`) models it: `{"hashRecords": [...]}` or a
  bare array of `{"signalType", "hashValue", "hashStatus"?, ...}`. `ImagePDQ` -> pdq,
  `VideoMD5` -> md5; `VideoTMK`, `Text`, `URL` and `Unknown` are skipped and counted, as are
  records whose `hashStatus` is `Withdrawn` or `Deleted`. Category "stopncii": hashes of
  non-consensual intimate images of adults, a bank a platform may match on. `caseNumbers`
  and CSP feedback are not kept (they relate to individual people's cases).

Hashes are checked with `matching.validation.hash_value` (a plug-in's by the plug-in) and
stored in their canonical form.

Duplicates: a hash (same type, same value) that an earlier record in the file already holds
is not added twice; it is dropped from the later record and counted in `duplicates`, and a
record left with no hash is skipped. The same hash under two different categories is a
problem (the file contradicts itself). Duplicates against entries already in the list are
not checked.

Limits: `MAX_BYTES` and `MAX_RECORDS`, each a problem naming the limit (split the file).

Provenance: each entry's `source` is `FORMAT:FILE#KEY=VALUE[&KEY=VALUE…]`, e.g.
`csv:bank.csv#line=4&id=ref-9`, `vics:case.json#MediaID=12`, `ncmec:entries.xml#id=…`,
`stopncii:hashes.json#record=3` (values percent-encoded).
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson

from hotline.errors import N_, FieldError, InvalidInput
from hotline.hashing.signals import VpdqSignal
from hotline.matching import validation
from hotline.matching.model import HASH_TYPES, VPDQ, NewEntry

FORMATS = ("csv", "vics", "ncmec", "stopncii")
MIB = 1024 * 1024
MAX_BYTES = 200 * MIB
MAX_RECORDS = 2_000_000
MAX_PROBLEMS = 1000
MAX_REF = 128

VICS_CATEGORIES = {1: "vics-1", 2: "vics-2", 3: "vics-3"}
VICS_SKIPPED = {0: "VICS category 0 (non-pertinent)", 4: "VICS category 4 (comparison)"}
NCMEC_CATEGORY = "ncmec"
STOPNCII_CATEGORY = "stopncii"

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """One thing wrong with the file. `record` is the CSV line number, or for JSON and XML
    the record's position from 1; 0 means the file as a whole."""

    record: int
    field: str
    message: str
    unit: str = "record"

    def __str__(self) -> str:
        where = "file" if self.record == 0 else f"{self.unit} {self.record}"
        return f"{where}: {self.field}: {self.message}"


@dataclass(slots=True)
class ImportBatch:
    """What a file holds: entries to add (only if `problems` is empty), records read, and
    records left out on purpose (`skipped`, by reason; not errors)."""

    format: str
    entries: list[NewEntry] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    records: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0  # hashes not added twice (an earlier record holds them)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


class _Stop(Exception):
    """Too many records or problems: stop reading (the problem says why)."""


class _Collector:
    """Builds a batch: problems, skips, and entries with duplicates taken out."""

    def __init__(self, fmt: str, source_name: str, unit: str, max_records: int) -> None:
        self.batch = ImportBatch(fmt)
        self._prefix = f"{fmt}:{quote(source_name, safe=' ._-+@()[],')}"
        self._unit = unit
        self._max_records = max_records
        self._seen: dict[tuple[str, str], tuple[int, str]] = {}

    def problem(self, record: int, where: str, message: str) -> None:
        problems = self.batch.problems
        problems.append(ImportProblem(record, where, message, self._unit))
        if len(problems) >= MAX_PROBLEMS:
            problems.append(
                ImportProblem(0, "file", f"stopped reading after {MAX_PROBLEMS} problems")
            )
            raise _Stop

    def count(self) -> None:
        self.batch.records += 1
        if self.batch.records > self._max_records:
            self.problem(0, "file", f"more than {self._max_records:,} records; split the file")
            raise _Stop

    def skip(self, reason: str) -> None:
        self.batch.skipped[reason] = self.batch.skipped.get(reason, 0) + 1

    def hash(self, record: int, where: str, kind: str, value: object) -> str | None:
        try:
            return validation.hash_value(kind, value).value
        except InvalidInput as exc:
            self.problem(record, where, exc.message)
            return None

    def vpdq(self, record: int, where: str, value: object) -> str | None:
        """A video's vPDQ in Meta's text format, checked and written canonically."""
        if not isinstance(value, str):
            self.problem(record, where, "Meta's vPDQ text: frame,quality,pdq,timestamp a line")
            return None
        try:
            return VpdqSignal.serialise(validation.vpdq_frames(value))
        except ValueError as exc:
            self.problem(record, where, str(exc))
            return None

    def ref(self, record: int, where: str, value: object) -> str | None:
        """An external id for provenance: printable text, at most MAX_REF characters."""
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.problem(record, where, "must be text or a whole number")
            return None
        text = str(value).strip()
        if len(text) > MAX_REF or not text.isprintable():
            self.problem(record, where, f"must be printable, at most {MAX_REF} characters")
            return None
        return text

    def add(
        self,
        record: int,
        category: str,
        hashes: Mapping[str, str],
        quality: int | None,
        ref: Mapping[str, str],
    ) -> None:
        kept: dict[str, str] = {}
        conflict = False
        for kind, value in hashes.items():
            earlier = self._seen.get((kind, value))
            if earlier is None:
                kept[kind] = value
            elif earlier[1] != category:
                conflict = True
                self.problem(
                    record,
                    kind,
                    f"the same hash is in {self._unit} {earlier[0]} "
                    f"with category {earlier[1]!r}, here {category!r}",
                )
            else:
                self.batch.duplicates += 1
        if conflict:
            return
        if not kept:
            self.skip("duplicate of an earlier record")
            return
        for kind, value in kept.items():
            self._seen[(kind, value)] = (record, category)
        where = "&".join(f"{k}={quote(v, safe='')}" for k, v in ref.items())
        signals = {k: v for k, v in kept.items() if k not in _BUILT_IN}
        self.batch.entries.append(
            NewEntry(
                category=category,
                md5=kept.get("md5"),
                sha1=kept.get("sha1"),
                sha256=kept.get("sha256"),
                pdq=kept.get("pdq"),
                pdq_quality=quality if "pdq" in kept else None,
                source=f"{self._prefix}#{where}",
                vpdq=kept.get(VPDQ),
                signals=signals,
            )
        )


def parse(
    fmt: str,
    data: bytes,
    *,
    source_name: str,
    max_bytes: int = MAX_BYTES,
    max_records: int = MAX_RECORDS,
) -> ImportBatch:
    """Every record of `data` checked; the batch's entries may be stored only if it has no
    problems. `source_name` (the file's name) goes into each entry's provenance."""
    kind = fmt.strip().lower()
    parser = _PARSERS.get(kind)
    if parser is None:
        raise InvalidInput(
            N_("unknown format '%(fmt)s'; use one of %(items)s", fmt=fmt, items=", ".join(FORMATS)),
            fields=[FieldError("format", N_("one of %(items)s", items=", ".join(FORMATS)))],
        )
    collector = _Collector(kind, source_name, "line" if kind == "csv" else "record", max_records)
    batch = collector.batch
    if len(data) > max_bytes:
        batch.problems.append(
            ImportProblem(0, "file", f"larger than the {max_bytes / MIB:g} MiB limit; split it")
        )
        return batch
    if not data.removeprefix(_BOM).strip():
        batch.problems.append(ImportProblem(0, "file", "the file is empty"))
        return batch
    with contextlib.suppress(_Stop):
        parser(collector, data.removeprefix(_BOM))
    if not batch.problems and batch.records == 0:
        batch.problems.append(ImportProblem(0, "file", "the file holds no records"))
    return batch


# -- csv ---------------------------------------------------------------------------------------

_CSV_REFS = ("id", "ref")
_BUILT_IN = frozenset({*HASH_TYPES, VPDQ})


def _plugin_names() -> tuple[str, ...]:
    """The plug-in signal types a list entry can carry (registered when the file is read)."""
    return tuple(s.name for s in validation.list_signal_types())


def _csv_columns() -> tuple[str, ...]:
    return (*_CSV_REFS, "category", *HASH_TYPES, *_plugin_names(), "pdq_quality")


def _parse_csv(c: _Collector, data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        c.problem(0, "file", f"not UTF-8 text (byte {exc.start})")
        return
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            c.problem(0, "file", "the file is empty")
            return
        names = _csv_header(c, reader.line_num, header)
        if names is None:
            return
        for row in reader:
            if any(cell.strip() for cell in row):
                c.count()
                _csv_row(c, reader.line_num, names, row)
    except csv.Error as exc:
        c.problem(reader.line_num, "csv", str(exc))


def _csv_header(c: _Collector, line: int, header: list[str]) -> list[str] | None:
    names = [h.strip().lower() for h in header]
    before = len(c.batch.problems)
    known = _csv_columns()
    hash_columns = (*HASH_TYPES, *_plugin_names())
    for position, column in enumerate(names, start=1):
        if column not in known:
            c.problem(
                line,
                column or f"column {position}",
                f"unknown column; use {', '.join(known)}",
            )
        elif names.index(column) != position - 1:
            c.problem(line, column, "the column appears twice")
    if "category" not in names:
        c.problem(line, "category", "the header needs a category column")
    if not any(k in names for k in hash_columns):
        c.problem(line, "md5", f"the header needs at least one of {', '.join(hash_columns)}")
    if all(r in names for r in _CSV_REFS):
        c.problem(line, "ref", "use id or ref, not both")
    return None if len(c.batch.problems) > before else names


def _csv_row(c: _Collector, line: int, names: list[str], row: list[str]) -> None:
    if len(row) != len(names):
        c.problem(line, "row", f"{len(row)} fields; the header has {len(names)}")
        return
    cells = {n: v.strip() for n, v in zip(names, row, strict=True)}
    record: dict[str, Any] = {k: cells[k] for k in (*HASH_TYPES, *_plugin_names()) if cells.get(k)}
    record["category"] = cells["category"]
    ok = True
    if cells.get("pdq_quality"):
        try:
            record["pdq_quality"] = int(cells["pdq_quality"])
        except ValueError:
            c.problem(line, "pdq_quality", "an integer from 0 to 100")
            ok = False
    ref: dict[str, str] = {"line": str(line)}
    for column in _CSV_REFS:
        if cells.get(column):
            value = c.ref(line, column, cells[column])
            if value is None:
                ok = False
            else:
                ref[column] = value
    try:
        entry = validation.entry(record)
    except InvalidInput as exc:
        for problem in exc.fields:
            c.problem(line, problem.field, problem.message)
        return
    if ok:
        hashes = {k: v for k in HASH_TYPES if (v := getattr(entry, k)) is not None}
        c.add(line, entry.category, hashes | dict(entry.signals), entry.pdq_quality, ref)


# -- json formats ------------------------------------------------------------------------------


def _json_records(c: _Collector, data: bytes, key: str, what: str) -> list[Any] | None:
    """The array of records: `{key: [...]}` or a bare array."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        c.problem(0, "json", f"not valid JSON: {exc}")
        return None
    records = doc.get(key) if isinstance(doc, dict) else doc
    if not isinstance(records, list):
        c.problem(0, key, f"{what} is an object with a {key!r} array, or a bare array")
        return None
    return records


_VICS_ALTERNATIVES = {"pdq": "pdq", "sha256": "sha256", "sha-256": "sha256", "vpdq": VPDQ}


def _vics_category(value: object) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 4:
        return value
    return None


# The VICS data models read: 1.3 (`odata.metadata`) and 2.0 (`@odata.context`, one of its
# Default, US and UK models), each either flat (`#Media`: `value` holds media) or case-wrapped
# (`#Cases`: `value` holds cases, each with a `Media` array). The 1.3 model's owner is written
# ICMEC or VICSDATAMODEL (this project's releases before the fix wrote the latter).
VICS_MODEL = re.compile(
    r"https?://github\.com/(?:icmec|vicsdatamodel)/projectvic/datamodels/"
    r"(?:1\.3\.xml|2\.0\.xml/(?:default|us|uk)/\$metadata)#(media|cases)",
    re.IGNORECASE,
)
_VICS_HEADERS = ("odata.metadata", "@odata.context")
VICS_ACCEPTED = (
    '"odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media" (or '
    '#Cases), or "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/'
    '2.0.xml/Default|US|UK/$metadata#Media" (or #Cases)'
)


def _vics_layout(doc: object) -> str:
    """ "media" or "cases": what the file's data model header says its `value` holds (a file
    with no header is read as media). InvalidInput for a data model it does not name."""
    if not isinstance(doc, dict):
        return "media"
    headers = {k.lower(): (k, v) for k, v in doc.items() if k.lower() in _VICS_HEADERS}
    if not headers:
        return "media"
    for key, value in headers.values():
        found = VICS_MODEL.fullmatch(value.strip()) if isinstance(value, str) else None
        if found is None:
            shown = repr(value)[:200]
            raise InvalidInput(
                N_(
                    "unknown VICS data model: %(key)s is %(shown)s; accepted: %(vics_accepted)s",
                    key=key,
                    shown=shown,
                    vics_accepted=VICS_ACCEPTED,
                ),
                fields=[
                    FieldError(key, N_("a VICS 1.3 or 2.0 data model, not %(shown)s", shown=shown))
                ],
            )
        return found.group(1).lower()
    return "media"


def _parse_vics(c: _Collector, data: bytes) -> None:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        c.problem(0, "json", f"not valid JSON: {exc}")
        return
    layout = _vics_layout(doc)
    records = doc.get("value") if isinstance(doc, dict) else doc
    if not isinstance(records, list):
        c.problem(0, "value", "a VICS file is an object with a 'value' array, or a bare array")
        return
    number = 0
    for position, record in enumerate(records):
        if not isinstance(record, dict):
            number += 1
            c.count()
            c.problem(number, "record", "not a JSON object")
            continue
        fields = {str(k).lower(): v for k, v in record.items()}
        # A case holds media; a file with no header may hold cases too.
        if layout == "cases" or (
            "media" in fields and not {"md5", "sha1", "category"} & fields.keys()
        ):
            media = fields.get("media")
            if not isinstance(media, list):
                number += 1
                c.count()
                c.problem(number, f"value[{position}].Media", "a case's Media is an array")
                continue
            for inner, item in enumerate(media):
                number += 1
                c.count()
                if not isinstance(item, dict):
                    where = f"value[{position}].Media[{inner}]"
                    c.problem(number, where, "not a JSON object")
                    continue
                _vics_record(c, number, {str(k).lower(): v for k, v in item.items()})
            continue
        number += 1
        c.count()
        _vics_record(c, number, fields)


def _vics_record(c: _Collector, number: int, fields: dict[str, Any]) -> None:
    ok = True
    ref: dict[str, str] = {"record": str(number)}
    if fields.get("mediaid") is not None:
        media_id = c.ref(number, "MediaID", fields["mediaid"])
        ok = media_id is not None
        ref = {"MediaID": media_id} if media_id is not None else ref
    vics = _vics_category(fields.get("category"))
    if vics is None:
        c.problem(number, "Category", "a VICS category: a whole number from 0 to 4")
        return
    tags = fields.get("tags")
    if tags is not None and not (
        isinstance(tags, str) or (isinstance(tags, list) and all(isinstance(t, str) for t in tags))
    ):
        c.problem(number, "Tags", "a string (or an array of strings)")
        return
    if vics in VICS_SKIPPED:
        c.skip(VICS_SKIPPED[vics])
        return
    hashes: dict[str, str] = {}
    for name, kind in (("MD5", "md5"), ("SHA1", "sha1")):
        if fields.get(kind) in (None, ""):
            continue
        value = c.hash(number, name, kind, fields[kind])
        if value is None:
            ok = False
        else:
            hashes[kind] = value
    others = 0
    plugins = _plugin_names()
    alternatives = fields.get("alternativehashes") or []
    if not isinstance(alternatives, list):
        c.problem(number, "AlternativeHashes", "a list of {HashName, HashValue}")
        return
    for position, alternative in enumerate(alternatives):
        where = f"AlternativeHashes[{position}]"
        if not isinstance(alternative, dict):
            c.problem(number, where, "an object {HashName, HashValue}")
            ok = False
            continue
        alt = {k.lower(): v for k, v in alternative.items()}
        hash_name = alt.get("hashname")
        if not isinstance(hash_name, str):
            c.problem(number, f"{where}.HashName", "missing")
            ok = False
            continue
        alt_name = hash_name.strip().lower()
        alt_kind = _VICS_ALTERNATIVES.get(alt_name)
        if alt_kind is None and alt_name in plugins:
            alt_kind = alt_name
        if alt_kind is None:
            others += 1
            continue
        where = f"{where} ({hash_name.strip()})"
        if alt_kind == VPDQ:
            value = c.vpdq(number, where, alt.get("hashvalue"))
        else:
            value = c.hash(number, where, alt_kind, alt.get("hashvalue"))
        if value is None:
            ok = False
        elif hashes.get(alt_kind, value) != value:
            c.problem(number, where, f"a second, different {alt_kind} hash in one record")
            ok = False
        else:
            hashes[alt_kind] = value
    if not ok:
        return
    if not hashes:
        if others:
            c.skip("no MD5, SHA1, SHA256, PDQ or vPDQ (other hash types only)")
        else:
            c.problem(number, "MD5", "a record needs MD5, SHA1, or a PDQ, SHA256 or vPDQ hash")
        return
    c.add(number, VICS_CATEGORIES[vics], hashes, None, ref)


_STOPNCII_TYPES = {"imagepdq": "pdq", "videomd5": "md5"}
_STOPNCII_OTHER = {"videotmk", "text", "url", "unknown"}
_STOPNCII_STATUSES = {"unknown", "received", "active", "withdrawn", "deleted"}


def _parse_stopncii(c: _Collector, data: bytes) -> None:
    records = _json_records(c, data, "hashRecords", "a StopNCII file")
    for number, record in enumerate(records or [], start=1):
        c.count()
        if not isinstance(record, dict):
            c.problem(number, "record", "not a JSON object")
            continue
        signal = record.get("signalType")
        status = record.get("hashStatus")
        if not isinstance(signal, str):
            c.problem(number, "signalType", "missing")
            continue
        if status is not None and (
            not isinstance(status, str) or status.strip().lower() not in _STOPNCII_STATUSES
        ):
            c.problem(number, "hashStatus", "one of Unknown, Received, Active, Withdrawn, Deleted")
            continue
        signal_key = signal.strip().lower()
        kind = _STOPNCII_TYPES.get(signal_key)
        if kind is None:
            if signal_key not in _STOPNCII_OTHER:
                c.problem(number, "signalType", "unknown; ImagePDQ and VideoMD5 are imported")
            else:
                c.skip(f"StopNCII {signal.strip()} (not a hash matched here)")
            continue
        if isinstance(status, str) and status.strip().lower() in ("withdrawn", "deleted"):
            c.skip("StopNCII hash withdrawn or deleted")
            continue
        value = c.hash(number, "hashValue", kind, record.get("hashValue"))
        if value is not None:
            c.add(number, STOPNCII_CATEGORY, {kind: value}, None, {"record": str(number)})


# -- ncmec xml ---------------------------------------------------------------------------------

# Declarations that let XML expand entities (without bound) or read other files.
_DECLARATION_RE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_ENCODING_RE = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([^"']+)["']""")
_NCMEC_CONTAINERS = frozenset({"images", "videos", "contents"})
_NCMEC_ENTRIES = frozenset({"image", "video", "content"})
_NCMEC_FINGERPRINTS = {"md5": "md5", "sha1": "sha1", "pdq": "pdq"}


def _local(tag: str) -> str:
    """An element's name without its namespace, lower-case."""
    return tag.rpartition("}")[2].lower()


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((e for e in element if _local(e.tag) == name), None)


def _parse_ncmec(c: _Collector, data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        c.problem(0, "file", f"not UTF-8 text (byte {exc.start})")
        return
    if _DECLARATION_RE.search(data):
        c.problem(0, "xml", "DOCTYPE and ENTITY declarations are refused")
        return
    declared = _ENCODING_RE.match(data)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii"):
        c.problem(0, "xml", "the file must be UTF-8")
        return
    path: list[str] = []
    number = 0
    try:
        # Safe here: declarations are refused above, so no entity can be defined.
        events = ET.iterparse(io.BytesIO(data), events=("start", "end"))  # noqa: S314
        for event, element in events:
            if event == "start":
                path.append(_local(element.tag))
                continue
            tag = path.pop()
            under_root = len(path) == 1 or (len(path) == 2 and path[1] in _NCMEC_CONTAINERS)
            kind = tag.removeprefix("deleted")
            if under_root and kind in _NCMEC_ENTRIES:
                number += 1
                c.count()
                if tag.startswith("deleted"):
                    c.skip("NCMEC deleted entry")
                else:
                    _ncmec_entry(c, number, element)
                element.clear()
    except ET.ParseError as exc:
        line, column = exc.position
        c.problem(0, "xml", f"malformed XML at line {line}, column {column}")


def _ncmec_entry(c: _Collector, number: int, entry: ET.Element) -> None:
    ok = True
    ref: dict[str, str] = {}
    member = _child(entry, "member")
    ident, classification = _child(entry, "id"), _child(entry, "classification")
    parts = (
        ("id", ident.text if ident is not None else None),
        ("member", member.get("id") if member is not None else None),
        ("classification", classification.text if classification is not None else None),
    )
    for key, text in parts:
        if text is not None and text.strip():
            value = c.ref(number, key, text)
            ok = ok and value is not None
            if value is not None:
                ref[key] = value
    if "id" not in ref:
        ref = {"record": str(number), **ref}
    fingerprints = _child(entry, "fingerprints")
    if fingerprints is None or not len(fingerprints):
        c.problem(number, "fingerprints", "an entry needs <fingerprints>")
        return
    hashes: dict[str, str] = {}
    others = 0
    for fingerprint in fingerprints:
        name = _local(fingerprint.tag)
        kind = _NCMEC_FINGERPRINTS.get(name)
        if kind is None:
            others += 1
            continue
        if fingerprint.text is None or not fingerprint.text.strip():
            continue  # <md5/>: no value (the client skips these too)
        value = c.hash(number, f"fingerprints/{name}", kind, fingerprint.text)
        if value is None:
            ok = False
        elif hashes.get(kind, value) != value:
            c.problem(number, f"fingerprints/{name}", f"a second, different {kind} hash")
            ok = False
        else:
            hashes[kind] = value
    if not ok:
        return
    if not hashes:
        if others:
            c.skip("NCMEC entry with no MD5, SHA1 or PDQ fingerprint")
        else:
            c.problem(number, "fingerprints", "no MD5, SHA1 or PDQ value")
        return
    c.add(number, NCMEC_CATEGORY, hashes, None, ref)


_PARSERS: dict[str, Callable[[_Collector, bytes], None]] = {
    "csv": _parse_csv,
    "vics": _parse_vics,
    "ncmec": _parse_ncmec,
    "stopncii": _parse_stopncii,
}

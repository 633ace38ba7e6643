"""Release file writers. Each takes the entries once, in id order, and writes one file; the
release writer feeds every chosen format from a single pass over the database.

- `entries.jsonl`: the hotline list format (docs/matching.md): a header, one entry a line.
  `hotline match --list` reads it as is.
- `entries.csv`: one row an entry; jurisdictions and shared fields as columns. A video's
  vPDQ is one cell: Meta's text lines (`frame,quality,pdq,timestamp`) joined with `;`.
  A column per plug-in signal type that the list's entries carry, named after it.
- `vics.json`: Project VIC (VICS) media records, for forensic tools that import VICS JSON, in
  the data model a profile names (`VICS_PROFILES`: 1.3 by default, or 2.0 Default/US/UK).
  A video's vPDQ is an `AlternativeHashes` item named `vPDQ`, a plug-in signal's hash one
  named after its signal type.
- `threatexchange.txt` (`formats_te`): what python-threatexchange, and so HMA, loads.
- `delta.jsonl`: a delta's additions (`"op": "add"`) and withdrawals (`"op": "withdraw"`).

JSON lines (the full list and the delta) carry a plug-in signal type's hash under a key named
after it (`"NAME": "…"` for a plug-in called NAME), beside the built-in hashes.

Each writer's `encode` is the reference: one entry in, that entry's bytes out. A release of
millions of entries goes through `RowEncoder` instead, which writes the same bytes from the
database rows a batch at a time, with no Python object per entry (see its docstring).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import queue
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, Protocol

import orjson

from hotline.errors import N_, InvalidInput
from hotline.hashing.vpdq import VpdqFrame
from hotline.lists.model import ReleaseEntry, Withdrawal

DELTA_FORMAT = "hotline-hash-list-delta"
# The VICS data models a `vics.json` can be written as: profile -> (header key, data model URL).
# 1.3 is the default: the model most VICS tools read.
VICS_PROFILES = {
    "1.3": ("odata.metadata", "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media"),
    **{
        f"2.0-{region.lower()}": (
            "@odata.context",
            f"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/{region}/$metadata#Media",
        )
        for region in ("Default", "US", "UK")
    },
}
VICS_DEFAULT_PROFILE = "1.3"
VICS_ODATA = VICS_PROFILES[VICS_DEFAULT_PROFILE][1]
VICS_VPDQ = "vPDQ"  # the AlternativeHashes name of a video's vPDQ


_Job = tuple[Callable[[bytes], None], list[bytes]]


class WriteBehind:
    """Writes and hashes in a thread of its own, so that the files' SHA-256 and the kernel's
    copying overlap the encoding (hashlib and file writes let go of the GIL). Chunks are
    written in the order given; a failure is raised by the next `submit` or by `drain`."""

    def __init__(self, depth: int = 8) -> None:
        self._queue: queue.Queue[_Job | None] = queue.Queue(depth)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="release-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                if self._failure is None:
                    for data in job[1]:
                        job[0](data)
            except BaseException as exc:  # handed to the submitting thread
                self._failure = exc
            finally:
                self._queue.task_done()

    def _check(self) -> None:
        if self._failure is not None:
            raise self._failure

    def submit(self, write: Callable[[bytes], None], parts: list[bytes]) -> None:
        """`write(part)` for each part, in order, after everything submitted before."""
        self._check()
        self._queue.put((write, parts))

    def drain(self) -> None:
        """Wait until everything submitted is written."""
        self._queue.join()
        self._check()

    def close(self) -> None:
        """Finish what was submitted and end the thread."""
        self._queue.put(None)
        self._thread.join()


class HashingFile:
    """A binary file that counts and hashes what goes into it (no second read to sign);
    through `behind`, if given, the writing and hashing happen in that thread."""

    def __init__(self, path: Path, behind: WriteBehind | None = None) -> None:
        self.path = path
        self._handle = path.open("wb", buffering=1 << 20)
        self._sha = hashlib.sha256()
        self._behind = behind
        self.bytes = 0

    def write(self, data: bytes) -> None:
        self.write_parts([data])

    def write_parts(self, parts: list[bytes]) -> None:
        """Write the parts one after the other (in the `behind` thread, if there is one)."""
        self.bytes += sum(map(len, parts))
        if self._behind is None:
            for data in parts:
                self._write(data)
        else:
            self._behind.submit(self._write, parts)

    def _write(self, data: bytes) -> None:
        self._handle.write(data)
        self._sha.update(data)

    def close(self) -> str:
        """Close (flushed to disk) and return the SHA-256."""
        if self._behind is not None:
            self._behind.drain()
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        return self._sha.hexdigest()

    def discard(self) -> None:
        """Close without finishing (the file is being thrown away)."""
        self._handle.close()


class EntryWriter(Protocol):
    """One release file. `name` and `format` go into the manifest."""

    name: str
    format: str

    def begin(self, out: HashingFile, header: dict[str, Any]) -> None: ...

    # One entry's bytes, the reference encoding. `record` is entry.record(), made once and
    # shared by every writer. No side effects: `RowEncoder` also calls it on made-up entries.
    def encode(self, entry: ReleaseEntry, record: dict[str, Any]) -> bytes: ...

    # Writes what `encode` gave, for one entry or for several in a row.
    def emit(self, data: bytes) -> None: ...

    def entry(self, entry: ReleaseEntry, record: dict[str, Any]) -> None: ...

    def end(self) -> None: ...


class _Buffered:
    """Collects encoded entries and writes them in large chunks."""

    _FLUSH = 1 << 22

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
            self.out.write_parts(self._parts)
        self._parts, self._size = [], 0

    def encode(self, entry: ReleaseEntry, record: dict[str, Any]) -> bytes:
        raise NotImplementedError

    def emit(self, data: bytes) -> None:
        self.put(data)

    def entry(self, entry: ReleaseEntry, record: dict[str, Any]) -> None:
        self.emit(self.encode(entry, record))


class JsonLinesWriter(_Buffered):
    name = "entries.jsonl"
    format = "jsonl"

    def begin(self, out: HashingFile, header: dict[str, Any]) -> None:
        self.out = out
        self.put(orjson.dumps(header) + b"\n")

    def encode(self, entry: ReleaseEntry, record: dict[str, Any]) -> bytes:
        return orjson.dumps(record) + b"\n"

    def end(self) -> None:
        self.flush()


class CsvWriter(_Buffered):
    name = "entries.csv"
    format = "csv"
    HASH_COLUMNS = (
        "id",
        "category",
        "md5",
        "sha1",
        "sha256",
        "pdq",
        "pdq_quality",
        "vpdq",
        "added_at",
    )
    TEXT_COLUMNS: ClassVar[dict[str, tuple[str, ...]]] = {
        "url": ("id", "category", "url", "added_at"),
        "keyword": ("id", "term", "note", "added_at"),
    }

    def __init__(
        self,
        jurisdictions: Sequence[str],
        fields: Sequence[str],
        kind: str = "hash",
        signals: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self._kind = kind
        self._jurisdictions = list(jurisdictions)
        self._fields = list(fields)
        # Plug-in signal types held by the list's entries: a column each, after `vpdq`.
        self._signals = list(signals)
        self._text = io.StringIO()
        self._csv = csv.writer(self._text, lineterminator="\n")

    def begin(self, out: HashingFile, header: dict[str, Any]) -> None:
        self.out = out
        if self._kind == "hash":
            hashes = list(self.HASH_COLUMNS)
            hashes[hashes.index("vpdq") + 1 : hashes.index("vpdq") + 1] = self._signals
            self.put(self._row([*hashes, *self._jurisdictions, *self._fields]))
        else:
            self.put(self._row(self.TEXT_COLUMNS[self._kind]))

    def _row(self, values: Sequence[object]) -> bytes:
        self._csv.writerow(values)
        data = self._text.getvalue().encode()
        self._text.seek(0)
        self._text.truncate()
        return data

    def encode(self, entry: ReleaseEntry, record: dict[str, Any]) -> bytes:
        if self._kind != "hash":
            return self._row([record.get(c, "") for c in self.TEXT_COLUMNS[self._kind]])
        meta = entry.metadata
        return self._row(
            [
                entry.id,
                entry.category,
                entry.md5 or "",
                entry.sha1 or "",
                entry.sha256 or "",
                entry.pdq or "",
                "" if entry.pdq_quality is None else entry.pdq_quality,
                vpdq_cell(entry.vpdq),
                *(entry.signals.get(name, "") for name in self._signals),
                record["added_at"],
                *(entry.jurisdictions.get(j, "") for j in self._jurisdictions),
                *(_csv_value(meta.get(f)) for f in self._fields),
            ]
        )

    def end(self) -> None:
        self.flush()


def vpdq_cell(frames: Sequence[VpdqFrame]) -> str:
    """A video's vPDQ in one CSV cell: Meta's text lines joined with `;` (put the newlines
    back and it is the file Meta's vpdq hasher writes)."""
    return ";".join(f.to_line() for f in frames)


def vpdq_text(frames: Sequence[VpdqFrame]) -> str:
    """Meta's vPDQ text format: `frame,quality,pdq,timestamp` a line."""
    return "\n".join(f.to_line() for f in frames)


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
    drawn); MD5 and SHA1 are upper-case hex as VICS tools write them; PDQ, SHA-256 and a
    video's vPDQ go in `AlternativeHashes`, the data model's place for hashes it has no
    field of its own for (`{"HashName", "HashValue"}`, both strings). The vPDQ's value is
    Meta's text format, one frame a line; a plug-in signal's hash is named after its signal
    type, in its canonical form. A tool that does not know a name skips it."""

    name = "vics.json"
    format = "vics"

    def __init__(self, profile: str = VICS_DEFAULT_PROFILE) -> None:
        super().__init__()
        self.profile = vics_profile(profile)

    def begin(self, out: HashingFile, header: dict[str, Any]) -> None:
        self.out = out
        self._first = True
        key, model = VICS_PROFILES[self.profile]
        self.put(b"{" + orjson.dumps(key) + b":" + orjson.dumps(model) + b',"value":[')

    def encode(self, entry: ReleaseEntry, record: dict[str, Any]) -> bytes:
        # Every media record after a comma; `emit` drops the first one's.
        return b",\n" + orjson.dumps(vics_media(entry))

    def emit(self, data: bytes) -> None:
        if self._first and data:
            data, self._first = data[1:], False
        self.put(data)

    def end(self) -> None:
        self.put(b"\n]}\n")
        self.flush()


def vics_profile(profile: str) -> str:
    """A VICS profile's canonical name (`1.3`, `2.0-default`, `2.0-us`, `2.0-uk`); InvalidInput
    for any other."""
    name = profile.strip().lower()
    if name not in VICS_PROFILES:
        raise InvalidInput(
            N_(
                "unknown VICS profile '%(profile)s'; use one of %(items)s",
                profile=profile,
                items=", ".join(VICS_PROFILES),
            )
        )
    return name


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
    if entry.vpdq:
        alternative.append({"HashName": VICS_VPDQ, "HashValue": vpdq_text(entry.vpdq)})
    for name, value in sorted(entry.signals.items()):
        alternative.append({"HashName": name, "HashValue": value})
    if alternative:
        media["AlternativeHashes"] = alternative
    # VICS importers read `Tags` as one string (an array makes them skip the record).
    media["Tags"] = f"UK category {entry.category}"
    if entry.added_at:
        media["DateUpdated"] = entry.added_at
    return media


class DeltaWriter(_Buffered):
    """A delta: header, additions, then withdrawals."""

    name = "delta.jsonl"
    format = "delta-jsonl"

    def begin(self, out: HashingFile, header: dict[str, Any]) -> None:
        self.out = out
        self.put(orjson.dumps(header) + b"\n")

    def encode(self, entry: ReleaseEntry, record: dict[str, Any]) -> bytes:
        return orjson.dumps({"op": "add", **record}) + b"\n"

    def withdrawal(self, withdrawal: Withdrawal) -> None:
        self.put(orjson.dumps(withdrawal.record()) + b"\n")

    def end(self) -> None:
        self.flush()


# -- writing from database rows -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowShape:
    """How `RowEncoder` reads a database row (the storage edge defines it, `store.row_shape`).

    `variables`: the columns a writer puts into its output as they are (the id, the hashes,
    the PDQ quality); `ints`: which of them hold integers (the others hold strings).
    `context`: columns with few distinct values (category, time added, shared fields), each
    combination turned into text once. `key`: a column saying which `variables` are empty
    (rows with the same key share a template), or -1 for a row to write the reference way.
    `to_entry`: the row as a `ReleaseEntry`."""

    variables: tuple[int, ...]
    ints: frozenset[int]
    context: tuple[int, ...]
    key: int
    to_entry: Callable[[Sequence[Any]], ReleaseEntry]


class _Template(NamedTuple):
    """One writer's output for one entry: `consts[0]`, value of `fields[0]`, `consts[1]`, …
    A field is (column, how): "raw" (the string as it is), "upper" (upper-cased) or "str"
    (an integer in decimal)."""

    consts: tuple[str, ...]
    fields: tuple[tuple[int, str], ...]


_MISSING = object()
# Context combinations given a template however rarely they occur; past this many, only ones
# seen at least twice in a batch get one, and past the most kept, none (the rest are written
# the reference way). A template is a few hundred bytes a writer.
_EAGER_TEMPLATES = 1024
_MOST_TEMPLATES = 20_000


class RowEncoder:
    """Feeds database rows to the writers in batches, writing exactly the bytes each writer's
    `encode` gives for `shape.to_entry(row)`, but without a Python object per entry.

    For each combination of empty columns (`shape.key`) and context (category, time added,
    shared fields), every writer's output is derived once from its own `encode`: an entry is
    made with a unique placeholder string for each non-empty variable column, encoded, and cut
    at the placeholders into constant text and fields (a placeholder in quotes standing for an
    integer is the bare integer; one upper-cased is the value upper-cased). The template is
    then checked against `encode` on a real row, and refused (rows like it written the
    reference way) if it differs. A run of rows is then written column by column: the
    constant pieces and the values are laid out in one list by slice assignment and joined,
    all in C loops.

    That is only valid while the values are written as they are, so a run is written from
    templates only when every value in it is a non-empty ASCII letter-or-digit string (the
    hashes) or an integer: nothing a JSON or CSV writer escapes, quotes, or omits. Anything
    else (a vPDQ, a URL, a term, a note, a malformed hash) goes through `encode` entry by
    entry. Tests compare both ways on entries of every shape."""

    def __init__(self, writers: Iterable[EntryWriter], shape: RowShape) -> None:
        self.writers = list(writers)
        self.shape = shape
        self.rows = 0  # rows written so far
        self._token = "qz" + secrets.token_hex(8)
        self._templates: dict[tuple[int, tuple[Any, ...]], tuple[_Template, ...] | None] = {}
        self._key = itemgetter(shape.key)

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        """Write a batch of rows, in order, to every writer."""
        self.rows += len(rows)
        for key, group in groupby(rows, self._key):
            run = list(group)
            if key is None or key < 0:
                self._reference(run)
                continue
            columns = list(zip(*run, strict=True))
            if not self._plain(columns):
                self._reference(run)
                continue
            context = [columns[c] for c in self.shape.context]
            if all(c.count(c[0]) == len(run) for c in context):  # the common case: one context
                first = tuple(c[0] for c in context)
                known = self._known(key, run, [first], {first: len(run)})
                if known[first] is None:
                    self._reference(run)
                else:
                    self._columns(columns, len(run), [first], known)
                continue
            contexts = list(zip(*context, strict=True))
            known = self._known(key, run, contexts, Counter(contexts))
            # Runs of rows whose templates have the same fields (None: the reference way).
            fields = {
                c: None if t is None else tuple(x.fields for x in t) for c, t in known.items()
            }
            start = 0
            for shape, part in groupby(map(fields.__getitem__, contexts)):
                end = start + sum(1 for _ in part)
                if shape is None:
                    self._reference(run[start:end])
                else:
                    cut = columns if end - start == len(run) else [c[start:end] for c in columns]
                    self._columns(cut, end - start, contexts[start:end], known)
                start = end

    def _reference(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            entry = self.shape.to_entry(row)
            record = entry.record()
            for writer in self.writers:
                writer.emit(writer.encode(entry, record))

    def _plain(self, columns: list[tuple[Any, ...]]) -> bool:
        """Whether every non-empty variable value of a run can go into a template."""
        for column in self.shape.variables:
            values = columns[column]
            if values[0] is None:  # then empty in every row of the run, as the key says
                if values.count(None) != len(values):
                    return False
                continue
            if column in self.shape.ints:
                if set(map(type, values)) != {int}:
                    return False
                continue
            if set(map(type, values)) != {str} or not all(values):
                return False
            joined = "".join(values)  # bytes.isalnum: ASCII only, and far faster than str's
            if not (joined.isascii() and joined.encode("ascii").isalnum()):
                return False
        return True

    def _known(
        self,
        key: int,
        run: list[Sequence[Any]],
        contexts: list[tuple[Any, ...]],
        counts: dict[tuple[Any, ...], int],
    ) -> dict[tuple[Any, ...], tuple[_Template, ...] | None]:
        """The templates of the run's contexts (None: written the reference way)."""
        known: dict[tuple[Any, ...], tuple[_Template, ...] | None] = {}
        for context, count in counts.items():
            found = self._templates.get((key, context), _MISSING)
            if found is _MISSING:
                kept = len(self._templates)
                if kept >= _MOST_TEMPLATES or (count < 2 and kept >= _EAGER_TEMPLATES):
                    known[context] = None
                    continue
                row = run[contexts.index(context)]
                found = self._templates[(key, context)] = self._derive(row)
            known[context] = found  # type: ignore[assignment]
        return known

    def _placeholder(self, column: int) -> str:
        return f"{self._token}c{column}x"

    def _derive(self, row: Sequence[Any]) -> tuple[_Template, ...] | None:
        """Every writer's template for rows like `row`, or None if one does not hold."""
        made = list(row)
        columns = [c for c in self.shape.variables if row[c] is not None]
        for column in columns:
            made[column] = self._placeholder(column)
        sample = self.shape.to_entry(made)
        real = self.shape.to_entry(row)
        sample_record, real_record = sample.record(), real.record()
        single = [(value,) for value in row]
        templates = []
        for writer in self.writers:
            template = self._cut(writer.encode(sample, sample_record).decode(), columns)
            if _render(template, single, 1).encode() != writer.encode(real, real_record):
                return None
            templates.append(template)
        return tuple(templates)

    def _cut(self, text: str, columns: Sequence[int]) -> _Template:
        spans: list[tuple[int, int, int, str]] = []
        for column in columns:
            mark = self._placeholder(column)
            forms = [(mark, "raw"), (mark.upper(), "upper")]
            if column in self.shape.ints:
                forms = [(f'"{mark}"', "str"), (mark, "str")]
            for form, how in forms:
                at = text.find(form)
                while at >= 0:
                    spans.append((at, at + len(form), column, how))
                    at = text.find(form, at + len(form))
        consts, fields, done = [], [], 0
        for start, end, column, how in sorted(spans):
            if start < done:
                continue  # the bare placeholder inside a quoted one
            consts.append(text[done:start])
            fields.append((column, how))
            done = end
        consts.append(text[done:])
        return _Template(tuple(consts), tuple(fields))

    def _columns(
        self,
        columns: list[tuple[Any, ...]],
        n: int,
        contexts: list[tuple[Any, ...]],
        known: dict[tuple[Any, ...], tuple[_Template, ...] | None],
    ) -> None:
        """Write `n` rows (as columns) whose templates all have the same fields; `contexts`:
        each row's context, or just one when all rows share it."""
        distinct = set(contexts)
        values: dict[tuple[int, str], Sequence[Any]] = {}
        for index, writer in enumerate(self.writers):
            by_context = {c: known[c][index] for c in distinct}  # type: ignore[index]
            template = by_context[contexts[0]]
            if len(distinct) == 1:
                text = _render(template, columns, n, values=values)
            else:
                consts = {c: t.consts for c, t in by_context.items()}
                per_row = list(map(consts.__getitem__, contexts))
                text = _render(template, columns, n, per_row, set(consts.values()), values)
            writer.emit(text.encode())


def _render(
    template: _Template,
    columns: Sequence[Sequence[Any]],
    n: int,
    per_row: list[tuple[str, ...]] | None = None,
    variants: Iterable[tuple[str, ...]] = (),
    values: dict[tuple[int, str], Sequence[Any]] | None = None,
) -> str:
    """The template filled in for `n` rows, given as columns. Where rows differ in context,
    `per_row` holds each row's constant pieces and `variants` the distinct ones (all of
    templates with the same fields as `template`). `values`: column values already turned
    into text, shared between the writers of a run."""
    variants = list(variants)
    values = {} if values is None else values
    step = 2 * len(template.fields) + 1
    parts: list[Any] = [None] * (n * step)
    for slot, const in enumerate(template.consts):
        if all(v[slot] == const for v in variants):
            parts[2 * slot :: step] = [const] * n
        else:
            parts[2 * slot :: step] = list(map(itemgetter(slot), per_row))  # type: ignore[arg-type]
        if slot < len(template.fields):
            field = template.fields[slot]
            text = values.get(field)
            if text is None:
                column, how = field
                if how == "upper":
                    text = list(map(str.upper, columns[column]))
                elif how == "str":
                    text = list(map(str, columns[column]))
                else:
                    text = columns[column]
                values[field] = text
            parts[2 * slot + 1 :: step] = text
    return "".join(parts)

"""Exported list files: JSON lines, a header naming the list and its version, then one
line per live entry. `hotline lists export` writes them; `hotline match` reads them.

    {"format": "hotline-hash-list", "format_version": 1, "list": "iwf-hashes", "version": 7,
     "pdq_max_distance": 31, "max_distances": {"vpdq": 24}, "entries": 2,
     "exported_at": "2026-11-25T18:00:00+00:00"}
    {"id": 1, "category": "A", "md5": "…", "pdq": "…", "pdq_quality": 100}
    {"id": 2, "category": "C", "sha256": "…"}
    {"id": 3, "category": "A", "md5": "…", "vpdq": [{"frame": 0, "quality": 90, "pdq": "…",
     "timestamp": 0.0}, …]}

`vpdq` is a video's vPDQ, one object a frame; `hotline match` matches a video against it as
a whole (see `hotline.matching.video`). `max_distances` holds the list's maximum distance
for each other distance type it sets (vPDQ frames, plug-ins), applied by `hotline match` as
by the API; a file without it matches at the defaults. A plug-in signal type's hash is a key
named after it (`"NAME": "…"` for a plug-in called NAME), checked by that plug-in when read.

Signed releases (`hotline lists release`) write this same format as `entries.jsonl`, with
`added_at`, `jurisdictions` and `metadata` on each entry, which matching does not need.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from hotline.errors import InvalidInput
from hotline.matching import validation
from hotline.matching.model import HASH_TYPES, VPDQ, ListEntry, ListInfo, vpdq_of, vpdq_records

FORMAT = "hotline-hash-list"
FORMAT_VERSION = 1
# Fields a signed release's entries.jsonl adds to each entry (hotline.lists).
RELEASE_FIELDS = ("added_at", "jurisdictions", "metadata")


class ListFileError(Exception):
    """A list file that cannot be used; the message names the line."""


def write(out: IO[str], info: ListInfo, entries: Iterable[ListEntry], at: datetime) -> int:
    """Write the header and every entry; returns how many entries were written."""
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "list": info.name,
        "version": info.version,
        "description": info.description,
        "pdq_max_distance": info.pdq_max_distance,
        "max_distances": dict(info.max_distances),
        "entries": info.entries,
        "exported_at": at.isoformat(),
    }
    out.write(json.dumps(header) + "\n")
    written = 0
    for entry in entries:
        record: dict[str, Any] = {"id": entry.id, "category": entry.category, **entry.hashes()}
        if entry.pdq_quality is not None:
            record["pdq_quality"] = entry.pdq_quality
        if entry.vpdq:
            record[VPDQ] = vpdq_records(entry.vpdq)
        record.update(sorted(entry.signals.items()))
        out.write(json.dumps(record) + "\n")
        written += 1
    return written


def read(path: Path) -> tuple[ListInfo, list[ListEntry]]:
    """Read and check a whole list file; ListFileError on the first problem."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise ListFileError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        lines = iter(enumerate(handle, start=1))
        header = _header(_json(next(lines, (1, ""))))
        entries: list[ListEntry] = []
        seen: set[int] = set()
        for number, line in lines:
            if not line.strip():
                continue
            entries.append(_entry(number, _json((number, line)), seen))
    if header["entries"] != len(entries):
        raise ListFileError(
            f"the header says {header['entries']} entries but the file has {len(entries)}"
        )
    info = ListInfo(
        id=0,
        name=header["list"],
        description=str(header.get("description", "")),
        pdq_max_distance=header["pdq_max_distance"],
        version=header["version"],
        entries=len(entries),
        max_distances=tuple(sorted(header.get("max_distances", {}).items())),
    )
    return info, entries


def _json(numbered: tuple[int, str]) -> Any:
    number, line = numbered
    try:
        return json.loads(line)
    except ValueError as exc:
        raise ListFileError(f"line {number}: not JSON") from exc


def _header(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ListFileError(f"line 1: not a {FORMAT} file (no header)")
    if data.get("format_version") != FORMAT_VERSION:
        raise ListFileError(
            f"line 1: format_version {data.get('format_version')!r} is not supported"
        )
    try:
        validation.name(data.get("list"), "list")
        validation.pdq_max_distance(_int(data.get("pdq_max_distance")))
        _distances(data.get("max_distances", {}))
        _int(data.get("version"))
        _int(data.get("entries"))
    except (InvalidInput, ValueError) as exc:
        raise ListFileError(f"line 1: bad header ({exc})") from exc
    return data


def _distances(value: Any) -> None:
    """`max_distances` (absent from files written before it existed): {type: whole number}.
    Checked for shape only: a type this installation does not know is never searched."""
    if not isinstance(value, dict):
        raise ValueError("max_distances must be an object")
    for name, distance in value.items():
        if not name or _int(distance) > 256:
            raise ValueError(f"max_distances.{name} must be a whole number up to 256")


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("expected a whole number")
    return value


def _entry(number: int, data: Any, seen: set[int]) -> ListEntry:
    if not isinstance(data, dict):
        raise ListFileError(f"line {number}: not a JSON object")
    record = dict(data)
    for extra in RELEASE_FIELDS:  # carried by release files; not needed to match
        record.pop(extra, None)
    entry_id = record.pop("id", None)
    if isinstance(entry_id, bool) or not isinstance(entry_id, int) or entry_id <= 0:
        raise ListFileError(f"line {number}: id must be a positive whole number")
    if entry_id in seen:
        raise ListFileError(f"line {number}: id {entry_id} appears twice")
    seen.add(entry_id)
    try:
        new = validation.entry(record)
    except InvalidInput as exc:
        details = "; ".join(f"{f.field}: {f.message}" for f in exc.fields)
        raise ListFileError(f"line {number}: {details}") from exc
    hashes = {k: getattr(new, k) for k in HASH_TYPES}
    frames = vpdq_of(new.vpdq)
    return ListEntry(
        entry_id,
        new.category,
        pdq_quality=new.pdq_quality,
        vpdq=frames,
        signals=new.signals,
        **hashes,
    )

"""A member's local copy of a list: apply a signed delta to an `entries.jsonl` copy.

The copy is the `entries.jsonl` of a full release (or a copy made by this module); its header
names the list and the version it is at. A delta applies only to a copy of the same list at
exactly the delta's `since`: anything else is refused and the copy is left as it was. The new
copy is written beside the old one and renamed over it, so a failure leaves the old copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hotline.lists.formats import DELTA_FORMAT
from hotline.matching import list_files


class DeltaError(Exception):
    """The delta does not fit this copy, or a file is malformed; nothing was changed."""


@dataclass(frozen=True, slots=True)
class Applied:
    list: str
    since: int
    version: int
    added: int
    withdrawn: int
    entries: int


def _lines(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeltaError(f"cannot read {path}: {exc.strerror}") from exc
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise DeltaError(f"{path.name} line {number}: not JSON") from exc
        if not isinstance(record, dict):
            raise DeltaError(f"{path.name} line {number}: not a JSON object")
        out.append(record)
    if not out:
        raise DeltaError(f"{path.name} is empty")
    return out


def _check_copy(path: Path) -> None:
    """A hash list copy is checked line by line (what the offline matcher reads); a URL or
    keyword list copy by its header and count."""
    lines = _lines(path)
    if lines[0].get("format") == list_files.FORMAT:
        try:
            list_files.read(path)
        except list_files.ListFileError as exc:
            raise DeltaError(f"{path.name}: {exc}") from exc
    elif lines[0].get("entries") != len(lines) - 1:
        raise DeltaError(f"{path.name}: the header's entry count does not match its lines")


def apply(copy: Path, delta_file: Path) -> Applied:
    """Apply `delta_file` (a verified delta.jsonl) to the copy at `copy`, in place."""
    copy_lines = _lines(copy)
    header, records = copy_lines[0], copy_lines[1:]
    _check_copy(copy)
    delta_lines = _lines(delta_file)
    dheader = delta_lines[0]
    if dheader.get("format") != DELTA_FORMAT:
        raise DeltaError(f"{delta_file.name} is not a {DELTA_FORMAT} file")
    if dheader.get("list") != header.get("list"):
        raise DeltaError(
            f"the delta is for list {dheader.get('list')!r}, the copy is {header.get('list')!r}"
        )
    if dheader.get("since") != header.get("version"):
        raise DeltaError(
            f"the delta starts at version {dheader.get('since')}, the copy is at "
            f"{header.get('version')}: fetch the delta since {header.get('version')}"
        )
    entries = {r["id"]: r for r in records}
    added = withdrawn = 0
    for number, change in enumerate(delta_lines[1:], start=2):
        op = change.pop("op", None)
        entry_id = change.get("id")
        if op == "add" and isinstance(entry_id, int):
            entries[entry_id] = change
            added += 1
        elif op == "withdraw" and isinstance(entry_id, int):
            if entries.pop(entry_id, None) is not None:
                withdrawn += 1
        else:
            raise DeltaError(f"{delta_file.name} line {number}: not an add or withdraw")
    header = {
        **header,
        "version": dheader["version"],
        "entries": len(entries),
        "exported_at": datetime.now(UTC).isoformat(),
    }
    partial = copy.with_name(copy.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8") as out:
            out.write(json.dumps(header) + "\n")
            for entry_id in sorted(entries):
                out.write(json.dumps(entries[entry_id]) + "\n")
        _check_copy(partial)  # the result must itself be a valid copy
        partial.replace(copy)
    except (OSError, DeltaError) as exc:
        partial.unlink(missing_ok=True)
        raise DeltaError(f"could not write the updated copy: {exc}") from exc
    return Applied(
        header["list"], dheader["since"], dheader["version"], added, withdrawn, len(entries)
    )

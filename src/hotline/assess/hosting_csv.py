"""A host resolver over a CSV file of IP ranges that the hotline keeps itself.

Format (docs/hosting.md): a header row, then one range per row, given either as `cidr` or as
`start` and `end` (inclusive), with optional `asn`, `organisation`, `country` and
`abuse_email` (several separated by `;`). Rows starting with `#` and blank rows are skipped.

The whole file is checked on load and every problem is reported with its line number.
Ranges may nest (a reseller's /24 inside its provider's /16: the most specific range wins),
but a range may not repeat another or partly overlap it: which one answered would then
depend on the order of the file. Lookups are a binary search over the sorted ranges.
"""

from __future__ import annotations

import bisect
import csv
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotline.assess.hosting import (
    MAX_ASN,
    HostInfo,
    clean_country,
    clean_email,
    network_for,
    parse_address,
    unique_emails,
)
from hotline.netaddr import IPAddress

COLUMNS = ("start", "end", "cidr", "asn", "organisation", "country", "abuse_email")
MAX_PROBLEMS = 50  # reported at once; a wholly wrong file need not list every row


class CsvRangeError(ValueError):
    """The file has problems; `problems` is [(line, message)], each also in the text."""

    def __init__(self, path: str, problems: list[tuple[int, str]]) -> None:
        self.path = path
        self.problems = problems
        lines = [f"{path} line {line}: {message}" for line, message in problems]
        super().__init__("\n".join(lines))


@dataclass(frozen=True, slots=True)
class _Range:
    first: int
    last: int
    line: int
    asn: int | None
    organisation: str | None
    country: str | None
    abuse_emails: tuple[str, ...]


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[int, str]] = []

    def add(self, line: int, message: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append((line, message))


def _parse_row(row: dict[str, str], line: int, problems: _Problems) -> tuple[int, _Range] | None:
    """One row as (ip version, range), or None after recording its problems."""
    before = len(problems.items)
    cidr, start, end = row.get("cidr", ""), row.get("start", ""), row.get("end", "")
    first = last = None
    if cidr and (start or end):
        problems.add(line, "give either cidr or start and end, not both")
    elif cidr:
        try:
            net = ipaddress.ip_network(cidr, strict=True)
            first, last = net.network_address, net.broadcast_address
        except ValueError as exc:
            problems.add(line, f"bad cidr {cidr!r}: {exc}")
    elif start and end:
        try:
            first, last = parse_address(start), parse_address(end)
        except ValueError:
            problems.add(line, f"bad IP address in start {start!r} or end {end!r}")
        else:
            if first.version != last.version:
                problems.add(line, f"start {first} and end {last} are different IP versions")
            elif int(first) > int(last):
                problems.add(line, f"start {first} is after end {last}")
    else:
        problems.add(line, "no range: give cidr, or start and end")

    asn = None
    raw_asn = row.get("asn", "")
    if raw_asn:
        digits = raw_asn.upper().removeprefix("AS")
        if digits.isdigit() and 0 < int(digits) <= MAX_ASN:
            asn = int(digits)
        else:
            problems.add(line, f"bad asn {raw_asn!r}: a number from 1 to {MAX_ASN}")
    country = None
    raw_country = row.get("country", "")
    if raw_country:
        country = clean_country(raw_country)
        if country is None:
            problems.add(line, f"unknown country {raw_country!r}: use ISO 3166-1 alpha-2")
    emails: list[str] = []
    for part in row.get("abuse_email", "").split(";"):
        if part.strip():
            email = clean_email(part)
            if email is None:
                problems.add(line, f"bad abuse_email {part.strip()!r}")
            else:
                emails.append(email)

    if len(problems.items) > before or first is None or last is None:
        return None
    entry = _Range(
        int(first),
        int(last),
        line,
        asn,
        row.get("organisation") or None,
        country,
        unique_emails(emails),
    )
    return first.version, entry


def _check_nesting(ranges: list[_Range], problems: _Problems) -> list[int]:
    """Sorted ranges (start up, end down) must nest or be apart. Returns each range's
    parent index (-1 for none), which lookups climb to find the innermost match."""
    parents: list[int] = []
    stack: list[int] = []
    for index, entry in enumerate(ranges):
        while stack and ranges[stack[-1]].last < entry.first:
            stack.pop()
        if stack:
            outer = ranges[stack[-1]]
            if (outer.first, outer.last) == (entry.first, entry.last):
                problems.add(entry.line, f"the same range as line {outer.line}")
            elif entry.last > outer.last:
                problems.add(entry.line, f"overlaps line {outer.line} without nesting in it")
        parents.append(stack[-1] if stack else -1)
        stack.append(index)
    return parents


class _Table:
    """Ranges of one IP version, sorted, with their nesting."""

    def __init__(self, ranges: list[_Range], problems: _Problems) -> None:
        self.ranges = sorted(ranges, key=lambda r: (r.first, -r.last))
        self.starts = [r.first for r in self.ranges]
        self.parents = _check_nesting(self.ranges, problems)

    def find(self, value: int) -> _Range | None:
        index = bisect.bisect_right(self.starts, value) - 1
        # The innermost range holding `value` is this one or one of its ancestors.
        while index >= 0 and self.ranges[index].last < value:
            index = self.parents[index]
        return self.ranges[index] if index >= 0 else None


class CsvRangeResolver:
    """Looks addresses up in a validated CSV of ranges (IPv4 and IPv6)."""

    def __init__(self, path: str | Path, name: str = "csv") -> None:
        self.path = str(path)
        self.name = name
        problems = _Problems()
        by_version: dict[int, list[_Range]] = {4: [], 6: []}
        try:
            with open(path, encoding="utf-8-sig", newline="") as handle:
                self._read(csv.reader(handle), by_version, problems)
        except UnicodeDecodeError as exc:
            raise CsvRangeError(self.path, [(1, f"not UTF-8 text: {exc.reason}")]) from exc
        except csv.Error as exc:
            raise CsvRangeError(self.path, [(1, f"not a CSV file: {exc}")]) from exc
        self._tables = {v: _Table(r, problems) for v, r in by_version.items()}
        if problems.items:
            raise CsvRangeError(self.path, sorted(problems.items))
        self.count = sum(len(r) for r in by_version.values())

    def _read(self, reader: Any, by_version: dict[int, list[_Range]], problems: _Problems) -> None:
        header: list[str] | None = None
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells) or cells[0].lstrip().startswith("#"):
                continue
            cells = [cell.strip() for cell in cells]
            if header is None:
                header = [cell.lower() for cell in cells]
                unknown = [c for c in header if c not in COLUMNS]
                if unknown or len(set(header)) != len(header):
                    problems.add(line, f"bad header {cells}: columns are {', '.join(COLUMNS)}")
                    return
                if "cidr" not in header and not {"start", "end"} <= set(header):
                    problems.add(line, "the header needs a cidr column or start and end columns")
                    return
                continue
            if len(cells) != len(header):
                problems.add(line, f"{len(cells)} fields where the header has {len(header)}")
                continue
            parsed = _parse_row(dict(zip(header, cells, strict=True)), line, problems)
            if parsed is not None:
                by_version[parsed[0]].append(parsed[1])
        if header is None:
            problems.add(1, "the file is empty: it needs a header row")

    def lookup(self, ip: IPAddress | str) -> HostInfo | None:
        address = parse_address(ip)
        entry = self._tables[address.version].find(int(address))
        if entry is None:
            return None
        kind = type(address)
        first, last = kind(entry.first), kind(entry.last)
        net = network_for(address, first, last)
        return HostInfo(
            ip=str(address),
            source=self.name,
            asn=entry.asn,
            organisation=entry.organisation,
            network=str(net) if net else None,
            country=entry.country,
            abuse_emails=entry.abuse_emails,
            details={"file": Path(self.path).name, "line": entry.line, "range": f"{first}-{last}"},
        )

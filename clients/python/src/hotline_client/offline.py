"""Match offline against a verified release: no network, nothing leaves the machine.

    release = verify_release("releases/iwf-hashes/v7", Keyring.load("keyring.json"))
    matcher = OfflineMatcher.from_release(release)
    matcher.match_hash("pdq", "f8f8…")           # -> [Match(...), ...]
    matcher.match_video([("f8f8…", 100), ...])   # (pdq, quality) per frame

It reads the release's `entries.jsonl` (format `hotline-hash-list`: a header with the list's
name, version and distances, then one entry a line) and answers as the match API does for
the same list: digests exactly; PDQ within the list's `pdq_max_distance`; a video's frames
under the one video rule (`hotline_client.vpdq`, the server's and HMA's defaults unless a
`VideoRule` is given) within the list's vPDQ frame distance. Hits nearest first.

A linear scan, with no dependency beyond the standard library: fine for the lists a member
keeps on a laptop or a job runner (100,000 PDQ entries: 7 s to load, 43 ms a query, on a
shared 2-core machine; bench/bench_client_offline.py, docs/benchmarks.md); the server's
index answers in well under a millisecond and is for more.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotline_client import vpdq
from hotline_client.api import Match
from hotline_client.release import ReleaseError, VerifiedRelease

LIST_FORMAT = "hotline-hash-list"
ENTRIES = "entries.jsonl"
PDQ_MAX_DISTANCE = 31
_HEX = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}


@dataclass(slots=True)
class _Entry:
    id: int
    category: str
    hashes: dict[str, str]
    frames: list[str] = field(default_factory=list)  # a video's good frames


def _hex(kind: str, value: object) -> str:
    text = str(value).strip().lower()
    if len(text) != _HEX[kind] or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"{kind} must be {_HEX[kind]} hex digits")
    return text


class OfflineMatcher:
    def __init__(
        self,
        name: str,
        version: int,
        entries: Iterable[_Entry],
        *,
        pdq_max_distance: int = PDQ_MAX_DISTANCE,
        vpdq_frame_distance: int | None = None,
        rule: vpdq.VideoRule = vpdq.DEFAULT_RULE,
    ) -> None:
        self.name = name
        self.version = version
        self.pdq_max_distance = pdq_max_distance
        self.vpdq_frame_distance = (
            pdq_max_distance if vpdq_frame_distance is None else vpdq_frame_distance
        )
        self.rule = rule
        self._entries = list(entries)
        self._exact: dict[tuple[str, str], list[_Entry]] = {}
        self._pdq: list[tuple[int, _Entry]] = []
        for entry in self._entries:
            for kind, value in entry.hashes.items():
                if kind == "pdq":
                    self._pdq.append((int(value, 16), entry))
                else:
                    self._exact.setdefault((kind, value), []).append(entry)
        self._videos = [e for e in self._entries if e.frames]

    def __len__(self) -> int:
        return len(self._entries)

    @classmethod
    def from_release(
        cls, release: VerifiedRelease, *, rule: vpdq.VideoRule = vpdq.DEFAULT_RULE
    ) -> OfflineMatcher:
        """The full release's entries; a delta holds changes, not a list to match."""
        if release.kind != "full":
            raise ReleaseError(f"a {release.kind} release has no entries to match against")
        return cls.from_file(release.path(ENTRIES), rule=rule)

    @classmethod
    def from_file(
        cls, path: str | Path, *, rule: vpdq.VideoRule = vpdq.DEFAULT_RULE
    ) -> OfflineMatcher:
        """An `entries.jsonl` (or `hotline lists export` file); ReleaseError names a bad line.
        Prefer `from_release`, which only reads what was verified."""
        path = Path(path)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ReleaseError(f"cannot read {path}: {exc.strerror}") from exc
        header = _json(lines[0] if lines else "", 1)
        if header.get("format") != LIST_FORMAT:
            raise ReleaseError(f"{path.name} is not a {LIST_FORMAT} file")
        entries = [
            _entry(_json(line, number), number)
            for number, line in enumerate(lines[1:], start=2)
            if line.strip()
        ]
        distances = header.get("max_distances") or {}
        pdq_max = header.get("pdq_max_distance", PDQ_MAX_DISTANCE)
        frame = distances.get("vpdq") if isinstance(distances, dict) else None
        return cls(
            str(header.get("list", "")),
            int(header.get("version", 0)),
            entries,
            pdq_max_distance=int(pdq_max),
            vpdq_frame_distance=int(frame) if isinstance(frame, int) else None,
            rule=rule,
        )

    def match_hash(self, kind: str, value: str) -> list[Match]:
        """md5, sha1, sha256 or pdq; ValueError for another kind or a malformed value."""
        kind = kind.strip().lower()
        if kind not in _HEX:
            raise ValueError(f"unknown hash type {kind!r}: md5, sha1, sha256 or pdq")
        value = _hex(kind, value)
        if kind != "pdq":
            return self._sorted(self._hit(e, 0, kind) for e in self._exact.get((kind, value), []))
        query = int(value, 16)
        return self._sorted(
            self._hit(entry, d, "pdq")
            for code, entry in self._pdq
            if (d := (code ^ query).bit_count()) <= self.pdq_max_distance
        )

    def match_video(self, frames: Sequence[tuple[str, int]]) -> list[Match]:
        """A video's vPDQ as (pdq hex, quality) per frame, against the listed videos."""
        query = vpdq.good_frames(frames)
        found = []
        for entry in self._videos:
            query_share, compare_share = vpdq.shares(query, entry.frames, self.vpdq_frame_distance)
            if self.rule.matches(query_share, compare_share):
                found.append(self._hit(entry, vpdq.distance(query_share), "vpdq"))
        return self._sorted(found)

    def _hit(self, entry: _Entry, distance: int, signal: str) -> Match:
        return Match(self.name, entry.id, entry.category, distance, signal)

    @staticmethod
    def _sorted(hits: Iterable[Match]) -> list[Match]:
        return sorted(hits, key=lambda h: (h.distance, h.entry_id, h.signal))


def _json(line: str, number: int) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise ReleaseError(f"line {number} is not JSON") from exc
    if not isinstance(value, dict):
        raise ReleaseError(f"line {number} is not a JSON object")
    return value


def _entry(record: dict[str, Any], number: int) -> _Entry:
    try:
        entry_id = record["id"]
        if not isinstance(entry_id, int) or isinstance(entry_id, bool):
            raise ValueError("id is not an integer")
        hashes = {k: _hex(k, record[k]) for k in _HEX if record.get(k)}
        frames = vpdq.good_frames(
            (_hex("pdq", f["pdq"]), int(f["quality"])) for f in record.get("vpdq") or []
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ReleaseError(f"line {number}: {exc}") from exc
    return _Entry(entry_id, str(record.get("category", "")), hashes, frames)

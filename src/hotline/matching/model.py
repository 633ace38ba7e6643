"""The matching domain's plain objects: no HTTP, no ORM."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hotline.hashing.signals import ENTRY_FIELD_NAMES
from hotline.hashing.vpdq import VpdqFrame, parse_vpdq_lines

# The hash types a list entry can hold and a member can ask about one at a time. A list entry
# may also carry a video's vPDQ (a PDQ hash per frame), matched as a whole video, never as a
# single hash: see `hotline.matching.video`.
EXACT_TYPES = ("md5", "sha1", "sha256")
HASH_TYPES = (*EXACT_TYPES, "pdq")
VPDQ = "vpdq"
LIST_KINDS = ("hash", "url", "keyword")
# Keys an entry record already uses (list files, releases, deltas): a plug-in signal type's
# hashes travel under its own name, so the registry refuses a plug-in with one of these names.
RECORD_FIELDS = frozenset({*HASH_TYPES, VPDQ, *ENTRY_FIELD_NAMES})


class _NoSignals(Mapping[str, str]):
    """The empty, immutable (and so hashable) default of an entry's `signals`: millions of
    entries carry none, and share this one object rather than an empty dict each."""

    def __getitem__(self, key: str) -> str:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"


NO_SIGNALS: Mapping[str, str] = _NoSignals()


def vpdq_records(frames: Sequence[VpdqFrame]) -> list[dict[str, Any]]:
    """Frames as list files and releases write them: `{frame, quality, pdq, timestamp}`."""
    return [
        {"frame": f.frame, "quality": f.quality, "pdq": f.pdq, "timestamp": f.timestamp}
        for f in frames
    ]


def vpdq_of(text: str | None) -> tuple[VpdqFrame, ...]:
    """The frames of a vPDQ in Meta's text format, as stored (validated on the way in)."""
    return tuple(parse_vpdq_lines(text)) if text else ()


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class KeyCalls:
    """A key's answered calls (match API and HMA-compatible lookups) from `member_key_calls`:
    today (UTC), the last 7 UTC days (today included) and in all."""

    today: int = 0
    last_7_days: int = 0
    total: int = 0


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What may be shown about a key: never the key, nor its hash."""

    id: int
    member: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    calls: KeyCalls = KeyCalls()


Distances = tuple[tuple[str, int], ...]


def distances_of(text: str | None) -> Distances:
    """A list's stored `max_distances` (a JSON object {signal type: whole number}, checked
    when written) as sorted pairs: hashable, so a `ListInfo` stays comparable."""
    if not text or text == "{}":
        return ()
    found = json.loads(text)
    if not isinstance(found, dict):
        return ()
    return tuple(
        sorted(
            (str(k), v)
            for k, v in found.items()
            if isinstance(v, int) and not isinstance(v, bool) and v >= 0
        )
    )


@dataclass(frozen=True, slots=True)
class ListInfo:
    id: int
    name: str
    description: str
    pdq_max_distance: int
    version: int
    entries: int = 0  # live entries (filled in where it is cheap to know)
    updated_at: datetime | None = None
    kind: str = "hash"  # hash, url or keyword (only hash lists are matched)
    # Maximum distances of the other distance signal types (vpdq frames, plug-ins) this list
    # sets, by name; a type not named keeps its default (see `max_distance`).
    max_distances: Distances = ()

    def max_distance(self, signal: str, default: int) -> int:
        """The radius this list matches `signal` within: PDQ's is `pdq_max_distance`; vPDQ
        frames and plug-ins take the list's own setting, else `default` (for vPDQ the
        list's PDQ distance, for a plug-in its `max_distance`)."""
        if signal == "pdq":
            return self.pdq_max_distance
        for name, distance in self.max_distances:
            if name == signal:
                return distance
        return default

    def distances(self) -> dict[str, int]:
        """Every distance the list sets: `pdq` and the overrides, by name."""
        return {"pdq": self.pdq_max_distance, **dict(self.max_distances)}


@dataclass(frozen=True, slots=True)
class NewEntry:
    """A validated entry about to be added to a list. `shared` holds what a release shares
    besides the hashes (derived jurisdiction categories, chosen grade fields); `media_id` the
    graded item it came from; `source` the provenance of an imported entry. `vpdq`: a
    video's frames in Meta's text format (`frame,quality,pdq,timestamp` a line), validated.
    `signals`: hashes of plug-in signal types by name, each in its canonical form."""

    category: str
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    shared: Mapping[str, Any] | None = None
    media_id: int | None = None
    source: str | None = None
    vpdq: str | None = None
    signals: Mapping[str, str] = NO_SIGNALS


@dataclass(frozen=True, slots=True)
class ListEntry:
    """An entry as stored; `withdrawn` entries are removed from indexes when seen. `vpdq`:
    a video's frames (empty for anything else); `signals`: plug-in signal types' hashes by
    name (read with the entry, left empty for a withdrawn one)."""

    id: int
    category: str
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    withdrawn: bool = False
    changed_in: int = 0
    vpdq: tuple[VpdqFrame, ...] = ()
    signals: Mapping[str, str] = NO_SIGNALS

    def hashes(self) -> dict[str, str]:
        found = {"md5": self.md5, "sha1": self.sha1, "sha256": self.sha256, "pdq": self.pdq}
        return {k: v for k, v in found.items() if v is not None}


@dataclass(frozen=True, slots=True)
class HashQuery:
    """One hash to look up; `value` is already validated and lower-case. A `vpdq` query is
    a whole video: `frames` holds its frames (and `value` their text form)."""

    type: str
    value: str
    frames: tuple[VpdqFrame, ...] = ()


@dataclass(frozen=True, slots=True)
class Hit:
    list: str
    entry_id: int
    category: str
    distance: int
    # Which hash matched: md5, sha1, sha256 or pdq (distance in bits), vpdq (a video's
    # frames: distance = 100 minus the share of the query's frames found, in %),
    # or a plug-in signal type's name (the distance its `compare` gives; 0 for exact kinds).
    signal: str

    def to_json(self) -> dict[str, object]:
        return {
            "list": self.list,
            "entry_id": self.entry_id,
            "category": self.category,
            "distance": self.distance,
            "signal": self.signal,
        }


@dataclass(frozen=True, slots=True)
class ListVersion:
    name: str
    version: int

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "version": self.version}


@dataclass(slots=True)
class MatchAnswer:
    """Hits per query, in query order, and the version of each list searched."""

    hits: list[list[Hit]]
    versions: list[ListVersion] = field(default_factory=list)

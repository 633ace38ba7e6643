"""Whole-video matching against list entries that carry a vPDQ (a PDQ hash per frame).

A video matches an entry under the one rule of `hotline_client.vpdq` (docs/matching.md,
"Video matching"), as python-threatexchange's vPDQ matcher decides: frames under the quality
threshold (50) are left out and repeated frame hashes counted once; the share of the query's
frames within the list's vPDQ frame distance (31 by default) of some frame of the entry must
reach the rule's `query_percent` (80 by default), and the share of the entry's frames within
that distance of some frame of the query its `compare_percent` (0 by default, as HMA; both
set per deployment by `HOTLINE_VPDQ_QUERY_PERCENT`/`HOTLINE_VPDQ_COMPARE_PERCENT`). A hit's
distance is 100 minus the query share, rounded: 0 when every frame of the query matched.

Every distinct good frame of every entry goes into one `PDQIndex` under a frame key of its
own, so a query costs one batched range search, not a comparison with each video.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hotline_client import vpdq as rule
from hotline_client.vpdq import DEFAULT_RULE, VideoRule

from hotline.config import Settings
from hotline.hashing.vpdq import VpdqFrame
from hotline.index import PDQIndex

QUALITY_THRESHOLD = rule.QUALITY_THRESHOLD


def rule_from(settings: Settings) -> VideoRule:
    """The deployment's video rule (`HOTLINE_VPDQ_QUERY_PERCENT`, `..._COMPARE_PERCENT`)."""
    return VideoRule(settings.vpdq_query_percent, settings.vpdq_compare_percent)


def good_frames(frames: Iterable[VpdqFrame]) -> list[str]:
    """The distinct PDQ hashes of frames at or over the quality threshold, in frame order."""
    return rule.good_frames((f.pdq, f.quality) for f in frames)


@dataclass(frozen=True, slots=True)
class VideoMatch:
    entry_id: int
    query_percent: float  # share of the query's good frames that matched the entry
    entry_percent: float  # share of the entry's good frames that matched the query

    @property
    def distance(self) -> int:
        return rule.distance(self.query_percent)


class VideoIndex:
    """The vPDQ entries of one list. Writers are serialised by the caller (one refresh at a
    time); searches may run meanwhile: a frame key is known before its hash is searchable
    and forgotten only after the hash is gone."""

    def __init__(self) -> None:
        self._frames = PDQIndex()
        self._owner: dict[int, int] = {}  # frame key -> entry id
        self._keys: dict[int, tuple[int, ...]] = {}  # entry id -> its frame keys
        self._next_key = 1

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, entries: Iterable[tuple[int, Sequence[VpdqFrame]]]) -> None:
        """Add (entry id, frames); an entry already held, or without a good frame, is left."""
        keys: list[int] = []
        codes: list[str] = []
        for entry_id, frames in entries:
            if entry_id in self._keys:
                continue
            hashes = good_frames(frames)
            if not hashes:  # nothing Meta's matcher would compare: it can never match
                continue
            mine = tuple(range(self._next_key, self._next_key + len(hashes)))
            self._next_key += len(hashes)
            for key in mine:
                self._owner[key] = entry_id
            self._keys[entry_id] = mine
            keys.extend(mine)
            codes.extend(hashes)
        if keys:
            self._frames.add(keys, codes)

    def remove(self, entry_ids: Iterable[int]) -> None:
        gone = [(i, self._keys[i]) for i in entry_ids if i in self._keys]
        if not gone:
            return
        self._frames.remove([k for _, keys in gone for k in keys], missing_ok=True)
        for entry_id, keys in gone:
            del self._keys[entry_id]
            for key in keys:
                self._owner.pop(key, None)

    def search(
        self, frames: Sequence[VpdqFrame], radius: int, video_rule: VideoRule = DEFAULT_RULE
    ) -> list[VideoMatch]:
        """The entries this video matches under `video_rule`, best first (then by id)."""
        query = good_frames(frames)
        if not query or not self._keys:
            return []
        query_hits: dict[int, set[int]] = defaultdict(set)  # entry -> query frames matched
        entry_hits: dict[int, set[int]] = defaultdict(set)  # entry -> its frame keys matched
        for position, matches in enumerate(self._frames.search_batch(query, radius=radius)):
            for match in matches:
                entry_id = self._owner.get(match.id)
                if entry_id is None:  # removed while this search ran
                    continue
                query_hits[entry_id].add(position)
                entry_hits[entry_id].add(match.id)
        found = []
        for entry_id, positions in query_hits.items():
            keys = self._keys.get(entry_id)
            if not keys:
                continue
            result = VideoMatch(
                entry_id,
                100.0 * len(positions) / len(query),
                100.0 * len(entry_hits[entry_id]) / len(keys),
            )
            if video_rule.matches(result.query_percent, result.entry_percent):
                found.append(result)
        found.sort(key=lambda m: (m.distance, m.entry_id))
        return found

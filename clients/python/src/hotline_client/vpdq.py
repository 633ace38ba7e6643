"""The one rule for matching a video (vPDQ: a PDQ hash per frame) against a listed video.

Every hotline path calls this module: the match API and `hotline match` (through
`hotline.matching.video`), this client's offline matcher, and the python-threatexchange
plug-in, whose vPDQ signals HMA matches with threatexchange's own `VPDQIndex` under the
same defaults.

The rule, as python-threatexchange's vPDQ extension states it (`vpdq_util`,
`match_VPDQ_hash_brute`, `VPDQIndex.query`):

1. frames under quality 50 are left out, and a PDQ hash repeated within a video counts once;
2. a frame matches when some frame of the other video is within the PDQ distance (31,
   or a list's own vPDQ frame distance);
3. `query share` = percent of the query's frames that match some frame of the listed video;
   `compare share` = percent of the listed video's frames that match some frame of the query;
4. the video matches when query share >= `query_percent` (default 80) **and** compare share
   >= `compare_percent` (default 0: threatexchange's `VPDQ_INDEX_MATCH_THRESHOLD_PERCENT`).

So by default a query matches when 80 % of its own frames are found in a listed video, the
question HMA asks; raising `compare_percent` also demands that much of the listed video be
found in the query (80/80 was hotline's old rule). A hit's distance is 100 minus the query
share, rounded: 0 when every frame of the query was found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

QUALITY_THRESHOLD = 50  # threatexchange's VPDQ_QUALITY_THRESHOLD
FRAME_DISTANCE = 31  # threatexchange's VPDQ_DISTANCE_THRESHOLD
QUERY_PERCENT = 80.0  # threatexchange's VPDQ_QUERY_MATCH_THRESHOLD_PERCENT
COMPARE_PERCENT = 0.0  # threatexchange's VPDQ_INDEX_MATCH_THRESHOLD_PERCENT


@dataclass(frozen=True, slots=True)
class VideoRule:
    """The two shares a video match needs, in percent (0 to 100)."""

    query_percent: float = QUERY_PERCENT
    compare_percent: float = COMPARE_PERCENT

    def __post_init__(self) -> None:
        for name in ("query_percent", "compare_percent"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (0 <= value <= 100)
            ):
                raise ValueError(f"{name} must be a number from 0 to 100, not {value!r}")
        if self.query_percent == 0 and self.compare_percent == 0:
            raise ValueError("query_percent and compare_percent cannot both be 0")

    def matches(self, query_share: float, compare_share: float) -> bool:
        # A video with no frame in common matches nothing, whatever the thresholds.
        if query_share <= 0 and compare_share <= 0:
            return False
        return query_share >= self.query_percent and compare_share >= self.compare_percent

    def to_json(self) -> dict[str, float]:
        return {"query_percent": self.query_percent, "compare_percent": self.compare_percent}


DEFAULT_RULE = VideoRule()


def distance(query_share: float) -> int:
    """A video hit's distance: 100 minus the query share, rounded."""
    return round(100 - query_share)


def good_frames(frames: Iterable[tuple[str, int]]) -> list[str]:
    """The distinct PDQ hashes (lower-case hex) of (pdq, quality) frames at or over the
    quality threshold, in frame order: what both sides of a comparison count."""
    return list(
        dict.fromkeys(pdq.lower() for pdq, quality in frames if quality >= QUALITY_THRESHOLD)
    )


def shares(
    query: Sequence[str], compared: Sequence[str], frame_distance: int = FRAME_DISTANCE
) -> tuple[float, float]:
    """(query share, compare share) of two lists of good frames, by brute force (as
    threatexchange's `match_VPDQ_hash_brute`); (0, 0) when either side has no frame."""
    if not query or not compared:
        return 0.0, 0.0
    a = [int(h, 16) for h in query]
    b = [int(h, 16) for h in compared]

    def found(xs: list[int], ys: list[int]) -> int:
        return sum(1 for x in xs if any((x ^ y).bit_count() <= frame_distance for y in ys))

    return 100.0 * found(a, b) / len(a), 100.0 * found(b, a) / len(b)

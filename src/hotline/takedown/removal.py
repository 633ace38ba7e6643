"""Is the content gone? The decision from one re-check of a URL, free of HTTP and the ORM.

A URL counts as removed when it answers 404 or 410, when it stays unreachable for N checks in
a row (one failed check is a network blip, not a removal), or when it answers but neither the
page nor anything it refers to carries any of the media recorded for the URL (by exact hash,
or PDQ within the match distance) nor any other known material (`hotline.known`: a page that
swapped its images for other graded or listed ones is not a removal). Anything we cannot
judge (a 403, a redirect loop, media we could not fetch) is inconclusive: never a removal,
because a false "removed" stops the clock and the reminders while the content is still up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from hotline.assess.capture import MediaItem, PageCapture
from hotline.assess.fetch_errors import FetchErrorCode

PDQ_MATCH_DISTANCE = 31  # Meta's radius, as hotline.hashing.signals; inclusive
PDQ_MIN_QUALITY = 50  # below this a PDQ says too little to match on (hotline.hashing.pdq)
GONE_STATUSES = frozenset({404, 410})
# The server could not be reached at all; 5xx counts too (the site is down, not answering).
UNREACHABLE_CODES = frozenset(
    {
        FetchErrorCode.DNS_FAILED.value,
        FetchErrorCode.CONNECT_FAILED.value,
        FetchErrorCode.TIMEOUT.value,
        FetchErrorCode.TLS_ERROR.value,
        FetchErrorCode.PROTOCOL_ERROR.value,
    }
)


class CheckOutcome(StrEnum):
    present = "present"  # still carries recorded media (or nothing to compare with)
    gone = "gone"  # 404 or 410
    unreachable = "unreachable"  # DNS failure, refused, timeout, 5xx
    media_gone = "media_gone"  # answers, but carries none of the recorded media
    inconclusive = "inconclusive"  # an answer we cannot judge


class RemovalReason(StrEnum):
    gone = "gone"
    unreachable = "unreachable"
    media_gone = "media_gone"
    manual = "manual"  # a takedown officer recorded it
    partner_reported = "partner_reported"  # the partner hotline we forwarded to said so


@dataclass(frozen=True)
class Fingerprint:
    """Hashes of one media item: recorded for the URL, or seen on a re-check."""

    sha256: str
    md5: str
    pdq: str | None = None
    pdq_quality: int | None = None

    def matches(self, other: Fingerprint) -> bool:
        if self.sha256 == other.sha256 or self.md5 == other.md5:
            return True
        if not (self.pdq and other.pdq):
            return False
        if (self.pdq_quality or 0) < PDQ_MIN_QUALITY or (other.pdq_quality or 0) < PDQ_MIN_QUALITY:
            return False
        return (int(self.pdq, 16) ^ int(other.pdq, 16)).bit_count() <= PDQ_MATCH_DISTANCE


@dataclass(frozen=True)
class Observation:
    """What one re-check saw, reduced to what the decision needs."""

    status: int | None  # HTTP status of the page; None when no answer came
    error_code: str | None  # a FetchErrorCode value when the page fetch failed
    seen: tuple[Fingerprint, ...] = ()  # the page itself and every media item fetched
    unseen: int = 0  # media the page refers to that could not be fetched (not 404/410)


@dataclass(frozen=True)
class Decision:
    outcome: CheckOutcome
    removal: RemovalReason | None  # set when this check counts the content as removed
    unreachable_streak: int  # consecutive unreachable checks, this one included
    detail: str  # for the case page


def _item_fingerprint(item: MediaItem) -> Fingerprint | None:
    evidence = item.evidence
    if evidence is None or evidence.sha256 is None or evidence.md5 is None:
        return None
    if evidence.status is None or not 200 <= evidence.status < 300:
        return None
    pdq = item.hashes.pdq if item.hashes is not None else None
    return Fingerprint(
        evidence.sha256, evidence.md5, pdq.hex if pdq else None, pdq.quality if pdq else None
    )


def observe(capture: PageCapture) -> Observation:
    """Reduce a capture to an observation. Exact digests come from the fetch evidence, so an
    item that answered but could not be hashed as an image is still compared byte for byte."""
    page = capture.page
    seen: list[Fingerprint] = []
    unseen = capture.dropped  # referred to, but beyond the per-page item cap
    if page.sha256 and page.md5 and page.status is not None and 200 <= page.status < 300:
        seen.append(Fingerprint(page.sha256, page.md5))
    for item in capture.items:
        fingerprint = _item_fingerprint(item)
        if fingerprint is not None:
            seen.append(fingerprint)
        elif item.evidence is None or item.evidence.status not in GONE_STATUSES:
            unseen += 1
    return Observation(page.status, page.error_code, tuple(seen), unseen)


def _matched(observation: Observation, recorded: Sequence[Fingerprint]) -> int:
    return sum(1 for r in recorded if any(r.matches(s) for s in observation.seen))


def needs_known_lookup(observation: Observation, recorded: Sequence[Fingerprint]) -> bool:
    """Whether the decision turns on known material: the page answered, media was recorded
    and none of it is there, and something was seen to look up."""
    status = observation.status
    return (
        status is not None
        and 200 <= status < 300
        and bool(recorded)
        and bool(observation.seen)
        and not _matched(observation, recorded)
    )


def decide(
    observation: Observation,
    recorded: Sequence[Fingerprint],
    unreachable_streak: int,
    unreachable_checks: int,
    known_seen: int = 0,
) -> Decision:
    """The outcome of one check. `unreachable_streak` is the count before this check;
    `unreachable_checks` how many in a row count as removal; `known_seen` how many of the
    items seen are known material other than "not illegal" (asked only when
    `needs_known_lookup`)."""
    status, code = observation.status, observation.error_code
    if code in UNREACHABLE_CODES or (status is not None and 500 <= status < 600):
        streak = unreachable_streak + 1
        what = f"HTTP {status}" if status is not None else code
        detail = f"unreachable ({what}), {streak} of {unreachable_checks} in a row"
        removal = RemovalReason.unreachable if streak >= unreachable_checks else None
        return Decision(CheckOutcome.unreachable, removal, streak, detail)
    if status in GONE_STATUSES:
        return Decision(CheckOutcome.gone, RemovalReason.gone, 0, f"HTTP {status}")
    if status is None or not 200 <= status < 300:
        what = f"HTTP {status}" if status is not None else f"fetch failed ({code})"
        return Decision(CheckOutcome.inconclusive, None, 0, f"{what}: cannot tell")
    if not recorded:
        return Decision(
            CheckOutcome.present, None, 0, "answers; no media recorded for this address to compare"
        )
    matched = _matched(observation, recorded)
    if matched:
        return Decision(
            CheckOutcome.present,
            None,
            0,
            f"{matched} of {len(recorded)} recorded media still there",
        )
    if known_seen:
        return Decision(
            CheckOutcome.present,
            None,
            0,
            f"no recorded media, but {known_seen} item(s) of other known material",
        )
    if observation.unseen:
        return Decision(
            CheckOutcome.inconclusive,
            None,
            0,
            f"no recorded media seen, but {observation.unseen} item(s) could not be fetched",
        )
    return Decision(
        CheckOutcome.media_gone, RemovalReason.media_gone, 0, "answers without any recorded media"
    )

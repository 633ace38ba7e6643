"""The one step that marks a batch's new items known, through `hotline.known.lookup`: graded
media and the live entries of every hash list (ours and imported), by exact digest or by PDQ
within the usual distance.

Known material is graded by inheritance and never displayed: a known item keeps no bytes and
never reaches a grader.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from hotline.known import KnownHashes, KnownMatch, lookup


@dataclass(frozen=True, slots=True)
class Hashes:
    md5: str | None
    sha1: str | None
    sha256: str | None
    pdq: str | None
    pdq_quality: int | None


@dataclass(frozen=True, slots=True)
class Known:
    source: str  # "media:12" (a graded item) or "list:NAME#44" (entry 44 of list NAME)
    category: str | None


def _known(match: KnownMatch) -> Known:
    if match.source == "grade":
        return Known(f"media:{match.media_id}", match.category)
    return Known(f"list:{match.list_name}#{match.entry_id}", match.category)


class HasHashes(Protocol):
    """What `match` reads of an item: `Hashes`, or a batch's `store.NewItem` as it is (a
    million-row import then makes no object a row for the lookup beyond `KnownHashes`)."""

    @property
    def md5(self) -> str | None: ...
    @property
    def sha1(self) -> str | None: ...
    @property
    def sha256(self) -> str | None: ...
    @property
    def pdq(self) -> str | None: ...
    @property
    def pdq_quality(self) -> int | None: ...


def match(session: Session, items: Sequence[HasHashes]) -> list[Known | None]:
    """For each item, the known material it matches (the best, as `lookup` ranks), or None."""
    if not items:
        return []
    found = lookup(
        session,
        [KnownHashes(i.sha256, i.md5, i.sha1, i.pdq, i.pdq_quality) for i in items],
    )
    return [_known(hit) if hit is not None else None for hit in found]

"""The one step that marks a batch's new items known: graded media or hash-list entries.

Known material is graded by inheritance and never displayed: a known item keeps no bytes and
never reaches a grader. Until `hotline.known` (one lookup over graded media and every hash
list, with PDQ through the index) is in the tree, this matches exact digests only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.grading.service import FINAL
from hotline.grading.tables import MediaItemRow
from hotline.matching.tables import HashListEntryRow

_IN_CHUNK = 500  # values a query's IN list takes at once


@dataclass(frozen=True, slots=True)
class Hashes:
    md5: str | None
    sha1: str | None
    sha256: str | None
    pdq: str | None
    pdq_quality: int | None


@dataclass(frozen=True, slots=True)
class Known:
    source: str  # "media:12" or "list:3#entry 44"
    category: str | None


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i : i + _IN_CHUNK] for i in range(0, len(values), _IN_CHUNK)]


def match(session: Session, items: Sequence[Hashes]) -> list[Known | None]:
    """For each item, the known material it matches (graded media first), or None."""
    found: dict[tuple[str, str], Known] = {}
    for kind in ("sha256", "sha1", "md5"):
        values = sorted({v for item in items if (v := getattr(item, kind))})
        for chunk in _chunks(values):
            column = getattr(MediaItemRow, kind)
            for media_id, value, grade in session.execute(
                select(MediaItemRow.id, column, MediaItemRow.final_grade)
                .where(column.in_(chunk), MediaItemRow.status.in_([s.value for s in FINAL]))
                .order_by(MediaItemRow.id.desc())
            ):
                category = json.loads(grade).get("category") if grade else None
                found[(kind, value)] = Known(f"media:{media_id}", category)
            entry_column = getattr(HashListEntryRow, kind)
            for entry_id, list_id, value, category in session.execute(
                select(
                    HashListEntryRow.id,
                    HashListEntryRow.list_id,
                    entry_column,
                    HashListEntryRow.category,
                )
                .where(entry_column.in_(chunk), HashListEntryRow.withdrawn_at.is_(None))
                .order_by(HashListEntryRow.id.desc())
            ):
                found.setdefault((kind, value), Known(f"list:{list_id}#{entry_id}", category))
    out: list[Known | None] = []
    for item in items:
        hit = next(
            (
                found[(kind, v)]
                for kind in ("sha256", "sha1", "md5")
                if (v := getattr(item, kind)) and (kind, v) in found
            ),
            None,
        )
        out.append(hit)
    return out

"""The one step that marks a batch's new items known: graded media or hash-list entries.

Known material is graded by inheritance and never displayed: a known item keeps no bytes and
never reaches a grader. Until `hotline.known` (one lookup over graded media and every hash
list, with PDQ through the index) is in the tree, this matches exact digests only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hotline.grading.service import FINAL
from hotline.taskforce import bulk_sql

EXACT = ("sha256", "sha1", "md5")  # strongest first


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


_FINAL = tuple(s.value for s in FINAL)
# One statement a store for all three digests; constant text, values bound (bulk_sql).
_MEDIA_SQL = (
    "SELECT id, sha256, sha1, md5, final_grade FROM media_items "
    "WHERE (sha256 IN ({in}) OR sha1 IN ({in}) OR md5 IN ({in})) AND status IN ({p}, {p}, {p}) "
    "ORDER BY id DESC"
)
_ENTRY_SQL = (
    "SELECT id, list_id, sha256, sha1, md5, category FROM hash_list_entries "
    "WHERE (sha256 IN ({in}) OR sha1 IN ({in}) OR md5 IN ({in})) AND withdrawn_at IS NULL "
    "ORDER BY id DESC"
)


def match(session: Session, items: Sequence[Hashes]) -> list[Known | None]:
    """For each item, the known material it matches (graded media first), or None."""
    values = sorted({v for item in items for k in EXACT if (v := getattr(item, k))})
    found: dict[str, Known] = {}
    if values:
        for media_id, *digests, grade in bulk_sql.select_in(session, _MEDIA_SQL, _FINAL, values):
            category = json.loads(grade).get("category") if grade else None
            for digest in digests:
                if digest:
                    found[digest] = Known(f"media:{media_id}", category)
        for entry_id, list_id, *digests, category in bulk_sql.select_in(
            session, _ENTRY_SQL, (), values
        ):
            for digest in digests:
                if digest:
                    found.setdefault(digest, Known(f"list:{list_id}#{entry_id}", category))
    return [
        next((found[v] for k in EXACT if (v := getattr(item, k)) and v in found), None)
        for item in items
    ]

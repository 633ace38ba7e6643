"""What an item matched becomes what it inherits: grading's `Inherited`, for
`grading.service.register_media`."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from hotline.errors import N_, InvalidInput, NotFound
from hotline.grading.model import Category, Grade, parse_grade
from hotline.grading.service import Inherited
from hotline.grading.tables import MediaItemRow
from hotline.known.model import KnownMatch
from hotline.matching.tables import HashListEntryRow


def inherited(session: Session, match: KnownMatch) -> Inherited:
    """A graded item passes on its final grade (and, if it took its own from a list, that
    provenance); a list entry passes on its label, and a grade when the label is a UK category
    and the entry shares enough fields to make a complete one (else the grade stays None)."""
    if match.source == "grade" and match.media_id is not None:
        row = session.get(MediaItemRow, match.media_id)
        if row is None:
            raise NotFound(N_("the known media item is gone"))
        grade = _grade(json.loads(row.final_grade)) if row.final_grade else None
        return Inherited(
            match.category,
            grade,
            media_id=row.id,
            list_name=row.inherited_list,
            list_source=row.inherited_list_source,
            entry_id=row.inherited_entry,
        )
    entry = session.get(HashListEntryRow, match.entry_id) if match.entry_id else None
    shared = json.loads(entry.shared) if entry is not None and entry.shared else {}
    metadata = shared.get("metadata") if isinstance(shared, dict) else None
    fields = dict(metadata) if isinstance(metadata, dict) else {}
    grade = (
        _grade({**fields, "category": match.category})
        if match.category in {c.value for c in Category}
        else None
    )
    return Inherited(
        match.category,
        grade,
        list_name=match.list_name,
        list_source=match.list_source,
        entry_id=match.entry_id,
    )


def _grade(fields: dict[str, object]) -> Grade | None:
    try:
        return parse_grade(fields)
    except InvalidInput:
        return None

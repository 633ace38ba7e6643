"""Hash list entries from verified grades: every item that N graders agreed on (or a senior
resolved) as illegal, in one of the list's categories, joins the list once, carrying the
derived jurisdiction categories and the grade fields the list chose to share, and its hashes
of plug-in signal types (from `media_signals`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.grading import service
from hotline.grading.jurisdictions import derive_all
from hotline.grading.model import Grade
from hotline.grading.tables import MediaSignalRow
from hotline.lists import store as lists_store
from hotline.lists.model import ListConfig
from hotline.matching import store as match_store
from hotline.matching import validation
from hotline.matching.model import NewEntry
from hotline.matching.tables import HashListEntryRow


@dataclass(frozen=True, slots=True)
class SyncResult:
    added: int
    version: int
    already: int  # verified items already on the list


def shared_fields(grade: Grade, config: ListConfig) -> dict[str, object]:
    out: dict[str, object] = {}
    if config.jurisdictions:
        out["jurisdictions"] = derive_all(grade)
    fields = grade.as_fields()
    metadata = {f: fields[f] for f in config.fields if fields.get(f) not in (None, [], False)}
    if metadata:
        out["metadata"] = metadata
    return out


_IN_CHUNK = 5_000  # ids a query: well under either database's limit on parameters


def media_signals(session: Session, media_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """The plug-in signals of these media items, by item, for the signal types entries can
    carry (a type whose plug-in is gone, or whose stored value it no longer accepts, is
    left out: an entry holds only hashes that can be searched). A query per 5,000 items."""
    usable = {s.name: s for s in validation.list_signal_types()}
    found: dict[int, dict[str, str]] = {}
    if not usable:
        return found
    for start in range(0, len(media_ids), _IN_CHUNK):
        rows = session.execute(
            select(MediaSignalRow.media_id, MediaSignalRow.signal_type, MediaSignalRow.value)
            .where(MediaSignalRow.media_id.in_(media_ids[start : start + _IN_CHUNK]))
            .where(MediaSignalRow.signal_type.in_(sorted(usable)))
        ).all()
        for media_id, name, value in rows:
            try:
                found.setdefault(media_id, {})[name] = validation.signal_value(usable[name], value)
            except ValueError:
                continue
    return found


def sync(session: Session, list_name: str) -> SyncResult:
    """Add the verified items not yet on the list, as one new version (none if nothing new).
    An item withdrawn from the list is not added back: it was withdrawn for a reason."""
    info = match_store.get_list(session, list_name, lock=True)
    config = lists_store.get_config(session, list_name)
    on_list = set(
        session.execute(
            select(HashListEntryRow.media_id).where(
                HashListEntryRow.list_id == info.id, HashListEntryRow.media_id.is_not(None)
            )
        ).scalars()
    )
    chosen = []
    already = 0
    for item in service.ready_for_hash_list(session):
        grade = item.final_grade
        if grade is None or grade.category.value not in config.categories:
            continue
        if item.id in on_list:
            already += 1
            continue
        chosen.append((item, grade))
    signals = media_signals(session, [item.id for item, _ in chosen])
    new: list[NewEntry] = []
    for item, grade in chosen:
        new.append(
            NewEntry(
                category=grade.category.value,
                md5=item.md5,
                sha1=item.sha1,
                sha256=item.sha256,
                pdq=item.pdq,
                pdq_quality=item.pdq_quality,
                vpdq=item.vpdq,
                shared=shared_fields(grade, config),
                media_id=item.id,
                signals=signals.get(item.id, {}),
            )
        )
    if not new:
        return SyncResult(0, info.version, already)
    updated = match_store.add_entries(session, list_name, new)
    return SyncResult(len(new), updated.version, already)

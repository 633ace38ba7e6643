"""Media awaiting grades, independent grading, senior resolution and agreement statistics.

Known material is matched by hash and inherits its grade: it never reaches a grader's screen.
A grader sees nobody else's grade of an item until their own is in, and grades it once.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, and_, delete, exists, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import N_, Conflict, Forbidden, NotFound
from hotline.grading import media_signals
from hotline.grading.agreement import cohens_kappa
from hotline.grading.consensus import Decision, Outcome, decide
from hotline.grading.jurisdictions import derive_all
from hotline.grading.model import AgeBand, Child, ChildSex, Grade, parse_grade
from hotline.grading.tables import GradeChildRow, GradeRow, MediaItemRow
from hotline.hashing import MediaHashes
from hotline.jobs import events
from hotline.security.tables import UserRow

DEFAULT_PDQ_DISTANCE = 31
MIN_PDQ_QUALITY = 50


class MediaStatus(StrEnum):
    awaiting_grades = "awaiting_grades"
    known_match = "known_match"  # inherited an agreed grade by hash; never shown
    agreed = "agreed"  # N graders agreed: ready for the hash list
    disagreement = "disagreement"  # waiting for a senior analyst
    resolved = "resolved"  # a senior decided: ready for the hash list


FINAL = (MediaStatus.agreed, MediaStatus.resolved, MediaStatus.known_match)


@dataclass(frozen=True)
class MediaHashesIn:
    md5: str
    sha1: str
    sha256: str
    pdq: str | None
    pdq_quality: int | None
    vpdq: str | None = None  # videos: Meta's text format, a line a frame
    # Plug-in signal types' hashes by name (stored in media_signals), already validated.
    signals: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, hashes: MediaHashes, signals: Mapping[str, str] | None = None) -> MediaHashesIn:
        pdq = hashes.pdq
        return cls(
            hashes.digests.md5,
            hashes.digests.sha1,
            hashes.digests.sha256,
            pdq.hex if pdq else None,
            pdq.quality if pdq else None,
            "\n".join(frame.to_line() for frame in hashes.vpdq) or None,
            dict(signals or {}),
        )


@dataclass(frozen=True)
class MediaItem:
    id: int
    url_id: int | None
    source_url: str
    kind: str
    status: MediaStatus
    stored: bool
    pdq: str | None
    pdq_quality: int | None
    sha256: str
    final_grade: Grade | None
    inherited_from: int | None
    qa_sampled: bool
    created_at: datetime
    md5: str = ""
    sha1: str = ""
    vpdq: str | None = None
    # Inherited from a hash list's entry: the list, its provenance, the entry, its label.
    inherited_list: str | None = None
    inherited_list_source: str | None = None
    inherited_entry: int | None = None
    inherited_category: str | None = None


@dataclass(frozen=True)
class Inherited:
    """Known material an item about to be recorded inherits its grade from (what
    `hotline.known` found): a finally graded item (`media_id`), or a hash list's entry
    (`list_name`, the list's `list_source`, `entry_id`). `grade`: the grade it takes, None
    when a list's label is not a complete grade (`category` keeps the label)."""

    category: str
    grade: Grade | None
    media_id: int | None = None
    list_name: str | None = None
    list_source: str | None = None
    entry_id: int | None = None


@dataclass(frozen=True)
class GradeView:
    grader: str
    grade: Grade
    is_resolution: bool
    at: datetime
    derived: dict[str, str]


def _grade_from_json(text: str | None) -> Grade | None:
    return parse_grade(json.loads(text)) if text else None


def _grade_json(grade: Grade) -> str:
    fields = grade.as_fields()
    fields.pop("child_present")
    return json.dumps(fields, sort_keys=True)


def _item(row: MediaItemRow) -> MediaItem:
    return MediaItem(
        id=row.id,
        url_id=row.url_id,
        source_url=row.source_url,
        kind=row.kind,
        status=MediaStatus(row.status),
        stored=row.stored,
        pdq=row.pdq,
        pdq_quality=row.pdq_quality,
        sha256=row.sha256,
        final_grade=_grade_from_json(row.final_grade),
        inherited_from=row.inherited_from,
        qa_sampled=row.qa_sampled,
        created_at=row.created_at,
        md5=row.md5,
        sha1=row.sha1,
        vpdq=row.vpdq,
        inherited_list=row.inherited_list,
        inherited_list_source=row.inherited_list_source,
        inherited_entry=row.inherited_entry,
        inherited_category=row.inherited_category,
    )


@dataclass(frozen=True)
class MediaIn:
    """One fetched item to record (`register_media_many`); `inherited`: what
    `hotline.known.lookup` found for it, None for an item that waits for graders."""

    url_id: int | None
    source_url: str
    kind: str
    hashes: MediaHashesIn
    byte_count: int
    stored: bool
    purge_after: datetime | None
    inherited: Inherited | None = None


def register_media(
    session: Session,
    *,
    url_id: int | None,
    source_url: str,
    kind: str,
    hashes: MediaHashesIn,
    byte_count: int,
    stored: bool,
    purge_after: datetime | None,
    inherited: Inherited | None = None,
) -> MediaItem:
    """Record a fetched item; a known one (`inherited`: what `hotline.known.lookup` found)
    takes its grade and is final at once. Without it the item waits for graders: grading
    does not look for known material itself. One item of `register_media_many`."""
    item = MediaIn(url_id, source_url, kind, hashes, byte_count, stored, purge_after, inherited)
    return register_media_many(session, [item])[0]


def register_media_many(session: Session, items: Sequence[MediaIn]) -> list[MediaItem]:
    """Record several fetched items (a page's) in the caller's transaction, in order: one
    multi-row INSERT for the items and one for their plug-in signals, instead of an ORM flush
    and a statement an item. The rules are `register_media`'s (which calls this)."""
    if not items:
        return []
    now = utcnow()
    rows = [_media_values(item, now) for item in items]
    session.flush()  # what the caller added first (the page's URL) precedes its media
    table = cast(Table, MediaItemRow.__table__)  # core: no ORM objects to build
    key = [table.c[name] for name in _ROW_KEY]
    # One multi-row INSERT. RETURNING's order is not the rows' (SQLAlchemy would fall back
    # to a statement a row on SQLite to keep it), so each id goes back to its row by what
    # the row holds; rows alike in all of that are alike in every respect a caller sees.
    waiting: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for position, values in enumerate(rows):
        waiting[tuple(values[name] for name in _ROW_KEY)].append(position)
    ids = [0] * len(rows)
    for media_id, *held in session.execute(insert(table).returning(table.c.id, *key), rows):
        ids[waiting[tuple(held)].pop(0)] = media_id
    media_signals.record_many(
        session,
        [(media_id, item.hashes.signals) for media_id, item in zip(ids, items, strict=True)],
        now,
    )
    return [_item_of(media_id, values) for media_id, values in zip(ids, rows, strict=True)]


# What tells a page's rows apart (the same bytes at the same address on the same page, with
# the same inheritance, are the same item).
_ROW_KEY = (
    "url_id",
    "source_url",
    "sha256",
    "status",
    "stored",
    "inherited_from",
    "inherited_entry",
)


def _media_values(item: MediaIn, now: datetime) -> dict[str, Any]:
    known, hashes = item.inherited, item.hashes
    return {
        "url_id": item.url_id,
        "source_url": item.source_url,
        "kind": item.kind,
        "md5": hashes.md5,
        "sha1": hashes.sha1,
        "sha256": hashes.sha256,
        "pdq": hashes.pdq,
        "pdq_quality": hashes.pdq_quality,
        "vpdq": hashes.vpdq,
        "byte_count": item.byte_count,
        "status": (MediaStatus.known_match if known else MediaStatus.awaiting_grades).value,
        "stored": item.stored and known is None,  # known material is never kept to be shown
        "purge_after": item.purge_after if known is None else None,
        "inherited_from": known.media_id if known else None,
        "final_grade": _grade_json(known.grade) if known and known.grade else None,
        "inherited_list": known.list_name if known else None,
        "inherited_list_source": known.list_source if known else None,
        "inherited_entry": known.entry_id if known else None,
        "inherited_category": known.category if known else None,
        "qa_sampled": False,
        "decided_at": now if known else None,
        "created_at": now,
    }


def _item_of(media_id: int, values: Mapping[str, Any]) -> MediaItem:
    return MediaItem(
        id=media_id,
        url_id=values["url_id"],
        source_url=values["source_url"],
        kind=values["kind"],
        status=MediaStatus(values["status"]),
        stored=values["stored"],
        pdq=values["pdq"],
        pdq_quality=values["pdq_quality"],
        sha256=values["sha256"],
        final_grade=_grade_from_json(values["final_grade"]),
        inherited_from=values["inherited_from"],
        qa_sampled=values["qa_sampled"],
        created_at=values["created_at"],
        md5=values["md5"],
        sha1=values["sha1"],
        vpdq=values["vpdq"],
        inherited_list=values["inherited_list"],
        inherited_list_source=values["inherited_list_source"],
        inherited_entry=values["inherited_entry"],
        inherited_category=values["inherited_category"],
    )


def get_item(session: Session, media_id: int) -> MediaItem:
    row = session.get(MediaItemRow, media_id)
    if row is None:
        raise NotFound(N_("no media item with that id"))
    return _item(row)


def items_for_url(session: Session, url_id: int) -> list[MediaItem]:
    rows = session.execute(
        select(MediaItemRow).where(MediaItemRow.url_id == url_id).order_by(MediaItemRow.id)
    ).scalars()
    return [_item(r) for r in rows]


def to_grade(session: Session, grader_id: int, limit: int = 24) -> list[MediaItem]:
    """Items waiting for grades that this grader has not graded yet, oldest first."""
    mine = exists().where(
        and_(GradeRow.media_id == MediaItemRow.id, GradeRow.grader_id == grader_id)
    )
    rows = session.execute(
        select(MediaItemRow)
        .where(MediaItemRow.status == MediaStatus.awaiting_grades.value, ~mine)
        .order_by(MediaItemRow.id)
        .limit(limit)
    ).scalars()
    return [_item(r) for r in rows]


def count_to_grade(session: Session, grader_id: int, *, limit: int | None = None) -> int:
    """How many items wait for this grader's grade; with `limit`, counting stops there (a
    bounded cost, however long the backlog)."""
    mine = exists().where(
        and_(GradeRow.media_id == MediaItemRow.id, GradeRow.grader_id == grader_id)
    )
    found = select(MediaItemRow.id).where(
        MediaItemRow.status == MediaStatus.awaiting_grades.value, ~mine
    )
    if limit is not None:
        found = found.limit(limit)
    return session.execute(select(func.count()).select_from(found.subquery())).scalar_one()


def has_graded(session: Session, media_id: int, grader_id: int) -> bool:
    return (
        session.execute(
            select(func.count())
            .select_from(GradeRow)
            .where(GradeRow.media_id == media_id, GradeRow.grader_id == grader_id)
        ).scalar_one()
        > 0
    )


def grades_visible_to(
    session: Session, media_id: int, viewer_id: int, *, senior: bool
) -> list[GradeView]:
    """Other graders' grades, only once the viewer's own is in (seniors see all)."""
    if not senior and not has_graded(session, media_id, viewer_id):
        return []
    rows = session.execute(
        select(GradeRow, UserRow.username)
        .join(UserRow, UserRow.id == GradeRow.grader_id)
        .where(GradeRow.media_id == media_id)
        .order_by(GradeRow.id)
    ).all()
    views = []
    for row, username in rows:
        grade = parse_grade(json.loads(row.fields))
        views.append(
            GradeView(username, grade, row.is_resolution, row.created_at, derive_all(grade))
        )
    return views


def _lock_item(session: Session, media_id: int) -> MediaItemRow:
    row = session.execute(
        select(MediaItemRow).where(MediaItemRow.id == media_id).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(N_("no media item with that id"))
    return row


def submit_grade(
    session: Session,
    media_id: int,
    grader_id: int,
    grade: Grade,
    *,
    required: int,
    qa_share: float,
) -> Decision:
    """Record one independent grade and decide the item when enough are in."""
    row = _lock_item(session, media_id)
    if row.status != MediaStatus.awaiting_grades.value:
        raise Conflict(N_("this item is no longer waiting for grades"))
    try:
        with session.begin_nested():
            session.add(
                GradeRow(
                    media_id=media_id,
                    grader_id=grader_id,
                    is_resolution=False,
                    fields=_grade_json(grade),
                    category=grade.category.value,
                    created_at=utcnow(),
                )
            )
    except IntegrityError as exc:
        raise Conflict(N_("you have already graded this item")) from exc
    grades = [
        parse_grade(json.loads(text))
        for text in session.execute(
            select(GradeRow.fields).where(GradeRow.media_id == media_id).order_by(GradeRow.id)
        ).scalars()
    ]
    decision = decide(media_id, grades, required=required, qa_share=qa_share)
    if decision.outcome is Outcome.agreed and decision.final is not None:
        row.status = MediaStatus.agreed.value
        row.final_grade = _grade_json(decision.final)
        row.qa_sampled = decision.sampled_for_qa
        row.decided_at = utcnow()
        _verified(session, media_id, decision.final)
    elif decision.outcome is Outcome.disagreement:
        row.status = MediaStatus.disagreement.value
    session.flush()
    return decision


def record_children(
    session: Session, media_id: int, grader_id: int, children: Sequence[Child]
) -> None:
    """The children one grader recorded in their grade of an item (grade_children)."""
    if not children:
        return
    grade_id = session.execute(
        select(GradeRow.id).where(GradeRow.media_id == media_id, GradeRow.grader_id == grader_id)
    ).scalar_one()
    session.add_all(
        GradeChildRow(
            grade_id=grade_id,
            position=n,
            age_band=child.age_band.value,
            sex=child.sex.value if child.sex else None,
        )
        for n, child in enumerate(children, 1)
    )
    session.flush()


def children_of(session: Session, media_id: int) -> dict[int, list[Child]]:
    """Each grader's recorded children of an item, by grader id."""
    rows = session.execute(
        select(GradeRow.grader_id, GradeChildRow.age_band, GradeChildRow.sex)
        .join(GradeChildRow, GradeChildRow.grade_id == GradeRow.id)
        .where(GradeRow.media_id == media_id)
        .order_by(GradeRow.id, GradeChildRow.position)
    ).all()
    out: dict[int, list[Child]] = {}
    for grader_id, band, sex in rows:
        out.setdefault(grader_id, []).append(Child(AgeBand(band), ChildSex(sex) if sex else None))
    return out


def withdraw_grade(session: Session, media_id: int, grader_id: int) -> bool:
    """Take back a grader's grade of an item still waiting for grades (an undo moments after
    it was given); False when there is none to take back or the item is already decided."""
    row = _lock_item(session, media_id)
    if row.status != MediaStatus.awaiting_grades.value:
        return False
    grade_id = session.execute(
        select(GradeRow.id).where(GradeRow.media_id == media_id, GradeRow.grader_id == grader_id)
    ).scalar_one_or_none()
    if grade_id is None:
        return False
    session.execute(delete(GradeChildRow).where(GradeChildRow.grade_id == grade_id))
    session.execute(delete(GradeRow).where(GradeRow.id == grade_id))
    session.flush()
    return True


def disagreements(session: Session, limit: int = 100) -> list[MediaItem]:
    rows = session.execute(
        select(MediaItemRow)
        .where(MediaItemRow.status == MediaStatus.disagreement.value)
        .order_by(MediaItemRow.id)
        .limit(limit)
    ).scalars()
    return [_item(r) for r in rows]


def resolve(session: Session, media_id: int, senior_id: int, grade: Grade) -> None:
    """A senior analyst's grade decides a disagreement."""
    row = _lock_item(session, media_id)
    if row.status != MediaStatus.disagreement.value:
        raise Conflict(N_("only items in disagreement are resolved by a senior"))
    if has_graded(session, media_id, senior_id):
        raise Forbidden(N_("you graded this item yourself; another senior must resolve it"))
    session.add(
        GradeRow(
            media_id=media_id,
            grader_id=senior_id,
            is_resolution=True,
            fields=_grade_json(grade),
            category=grade.category.value,
            created_at=utcnow(),
        )
    )
    row.status = MediaStatus.resolved.value
    row.final_grade = _grade_json(grade)
    row.decided_at = utcnow()
    _verified(session, media_id, grade)
    session.flush()


def correct(session: Session, media_id: int, senior_id: int, grade: Grade) -> None:
    """A senior's QA review found an item's final grade wrong: their grade replaces it, as a
    resolution, so the lists and the known-material index take the change."""
    row = _lock_item(session, media_id)
    final = (MediaStatus.agreed.value, MediaStatus.resolved.value)
    if row.status not in final or row.final_grade is None:
        raise Conflict(N_("only an item with a final grade by people is corrected"))
    try:
        with session.begin_nested():
            session.add(
                GradeRow(
                    media_id=media_id,
                    grader_id=senior_id,
                    is_resolution=True,
                    fields=_grade_json(grade),
                    category=grade.category.value,
                    created_at=utcnow(),
                )
            )
    except IntegrityError as exc:
        raise Conflict(N_("you have already graded this item")) from exc
    row.status = MediaStatus.resolved.value
    row.final_grade = _grade_json(grade)
    row.decided_at = utcnow()
    _verified(session, media_id, grade)
    session.flush()


def _verified(session: Session, media_id: int, grade: Grade) -> None:
    """A final grade by people (agreed or resolved): the hash lists react ("grade.verified")."""
    events.emit(session, "grade.verified", {"media_id": media_id, "category": grade.category.value})


def qa_sample(session: Session, limit: int = 100) -> list[MediaItem]:
    rows = session.execute(
        select(MediaItemRow)
        .where(MediaItemRow.qa_sampled.is_(True))
        .order_by(MediaItemRow.decided_at.desc())
        .limit(limit)
    ).scalars()
    return [_item(r) for r in rows]


@dataclass(frozen=True)
class GraderAgreement:
    grader: str
    graded: int
    kappa: float | None


def grader_agreement(session: Session) -> list[GraderAgreement]:
    """Cohen's kappa of each grader's categories against the final categories."""
    rows = session.execute(
        select(UserRow.username, GradeRow.category, MediaItemRow.final_grade)
        .join(GradeRow, GradeRow.grader_id == UserRow.id)
        .join(MediaItemRow, MediaItemRow.id == GradeRow.media_id)
        .where(MediaItemRow.final_grade.is_not(None), GradeRow.is_resolution.is_(False))
    ).all()
    pairs: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for username, category, final in rows:
        final_category: Any = json.loads(final or "{}").get("category")
        pairs[username][0].append(category)
        pairs[username][1].append(final_category)
    return [
        GraderAgreement(name, len(mine), cohens_kappa(mine, final))
        for name, (mine, final) in sorted(pairs.items())
    ]


def ready_for_hash_list(session: Session) -> list[MediaItem]:
    """Finally graded illegal items (agreed or resolved by people, not inherited copies)."""
    rows = session.execute(
        select(MediaItemRow)
        .where(MediaItemRow.status.in_([MediaStatus.agreed.value, MediaStatus.resolved.value]))
        .order_by(MediaItemRow.id)
    ).scalars()
    items = [_item(r) for r in rows]
    return [i for i in items if i.final_grade and i.final_grade.category.value != "not_illegal"]

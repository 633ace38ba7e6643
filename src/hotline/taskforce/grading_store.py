"""Rows behind taskforce grading: claiming clusters with a lease, the page's view of one, the
members' grade states, the graders' decisions, and propagation of a final grade.

No permission checks and no audit here: `taskforce.grading` (the actions) does both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import N_, Conflict, NotFound
from hotline.grading import service
from hotline.grading.consensus import sampled
from hotline.grading.media_store import MediaStore, MediaUnavailable
from hotline.grading.tables import GradeRow, MediaItemRow
from hotline.jobs import events
from hotline.taskforce.model import ClusterState, GradeState, ItemStatus
from hotline.taskforce.tables import CaseItemRow, CaseSetRow, ClusterRow, DecisionRow

QA_SALT = "taskforce-propagated"
MIN_QUALITY = 50  # a split-out item's PDQ stands for its cluster only from this quality
MAX_MEMBERS_SHOWN = 60  # members on one page's strip
# A decision's seconds: since the grader's previous decision, when that was this recent.
DECISION_GAP = timedelta(minutes=10)


@dataclass(frozen=True)
class Member:
    item_id: int
    member: str  # the path it was first seen at
    kind: str
    distance: int
    state: GradeState | None
    copies: int
    stored: bool
    media_id: int | None


@dataclass(frozen=True)
class Cluster:
    id: int
    case_set_id: int
    case_set: str
    state: ClusterState
    version: int
    size: int
    viewable: bool
    media_id: int | None
    graded_by: int | None
    claimed_by: int | None
    claim_expires_at: datetime | None
    representative: Member
    members: list[Member]  # near-duplicates (the representative not among them)
    more_members: int  # beyond those shown


def _member(row: CaseItemRow) -> Member:
    return Member(
        row.id,
        row.member,
        row.kind,
        row.cluster_distance or 0,
        GradeState(row.grade_state) if row.grade_state else None,
        row.copies,
        row.stored,
        row.media_id,
    )


def _claimable(user_id: int, now: datetime) -> Any:
    return or_(
        ClusterRow.claimed_by.is_(None),
        ClusterRow.claim_expires_at <= now,
        ClusterRow.claimed_by == user_id,
    )


def get(session: Session, cluster_id: int) -> Cluster:
    row = session.get(ClusterRow, cluster_id)
    if row is None:
        raise NotFound(N_("no cluster with that id"))
    name = session.execute(
        select(CaseSetRow.name).where(CaseSetRow.id == row.case_set_id)
    ).scalar_one()
    items = list(
        session.execute(
            select(CaseItemRow)
            .where(CaseItemRow.cluster_id == cluster_id)
            .order_by(CaseItemRow.cluster_distance, CaseItemRow.id)
            .limit(MAX_MEMBERS_SHOWN + 1)
        ).scalars()
    )
    rep = session.get(CaseItemRow, row.representative_id)
    assert rep is not None
    members = [_member(i) for i in items if i.id != row.representative_id]
    return Cluster(
        row.id,
        row.case_set_id,
        name,
        ClusterState(row.state),
        row.version,
        row.size,
        row.viewable,
        row.media_id,
        row.graded_by,
        row.claimed_by,
        row.claim_expires_at,
        _member(rep),
        members[:MAX_MEMBERS_SHOWN],
        max(0, row.size - 1 - MAX_MEMBERS_SHOWN),
    )


def claim(session: Session, cluster_id: int, user_id: int, lease: timedelta) -> None:
    """Claim (or renew my claim on) one cluster; Conflict when another grader holds it."""
    now = utcnow()
    result = session.execute(
        update(ClusterRow)
        .where(ClusterRow.id == cluster_id, _claimable(user_id, now))
        .values(claimed_by=user_id, claim_expires_at=now + lease)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return
    if session.get(ClusterRow, cluster_id) is None:
        raise NotFound(N_("no cluster with that id"))
    raise Conflict(N_("another grader is working on this cluster"))


def release(session: Session, cluster_id: int, user_id: int) -> None:
    result = session.execute(
        update(ClusterRow)
        .where(ClusterRow.id == cluster_id, ClusterRow.claimed_by == user_id)
        .values(claimed_by=None, claim_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(N_("you do not hold a claim on this cluster"))


def _pending_members(cluster_id: Any) -> Any:
    return exists().where(
        CaseItemRow.cluster_id == cluster_id,
        CaseItemRow.grade_state == GradeState.suggested.value,
    )


def candidates(
    session: Session, user_id: int, case_set_id: int | None, limit: int = 5
) -> list[int]:
    """Clusters this grader may take next, best first: one they hold; one whose
    representative they graded with members still to decide; one waiting for another
    grader's verification that they have not graded; an open one. Only clusters whose
    representative's bytes are kept (a grader must be able to see it)."""
    now = utcnow()
    base: list[Any] = [ClusterRow.viewable.is_(True)]
    if case_set_id is not None:
        base.append(ClusterRow.case_set_id == case_set_id)
    claimable = _claimable(user_id, now)
    mine = exists().where(GradeRow.media_id == ClusterRow.media_id, GradeRow.grader_id == user_id)
    queries = [
        select(ClusterRow.id).where(
            *base,
            ClusterRow.claimed_by == user_id,
            ClusterRow.claim_expires_at > now,
            or_(ClusterRow.state != ClusterState.final.value, _pending_members(ClusterRow.id)),
        ),
        select(ClusterRow.id).where(
            *base,
            claimable,
            ClusterRow.id.in_(
                select(CaseItemRow.cluster_id).where(
                    CaseItemRow.grade_state == GradeState.suggested.value
                )
            ),
            mine,
        ),
        select(ClusterRow.id)
        .join(MediaItemRow, MediaItemRow.id == ClusterRow.media_id)
        .where(
            *base,
            claimable,
            ClusterRow.state == ClusterState.verifying.value,
            MediaItemRow.status == service.MediaStatus.awaiting_grades.value,
            ~mine,
        ),
        select(ClusterRow.id).where(*base, claimable, ClusterRow.state == ClusterState.open.value),
    ]
    found: list[int] = []
    for query in queries:
        found += [i for i in session.execute(query.order_by(ClusterRow.id).limit(limit)).scalars()]
        if len(found) >= limit:
            break
    return list(dict.fromkeys(found))[:limit]


def hold(session: Session, cluster_id: int, user_id: int, version: int | None) -> ClusterRow:
    """The cluster, locked, when this grader holds a live claim on it and it is still at
    `version` (the one the page was drawn at); Conflict otherwise."""
    row = session.execute(
        select(ClusterRow).where(ClusterRow.id == cluster_id).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(N_("no cluster with that id"))
    if row.claimed_by != user_id:
        raise Conflict(
            N_("you do not hold this cluster: another grader may have it; claim it first")
        )
    if row.claim_expires_at is None or row.claim_expires_at <= utcnow():
        raise Conflict(N_("your claim on this cluster has lapsed; claim it again"))
    if version is not None and row.version != version:
        raise Conflict(
            N_("this cluster changed since the page was drawn; nothing was recorded, reload it")
        )
    return row


def bump(row: ClusterRow) -> None:
    row.version += 1
    row.updated_at = utcnow()


def materialise(
    session: Session,
    row: ClusterRow,
    *,
    taskforce_media: MediaStore | None,
    media: MediaStore | None,
) -> int:
    """The representative's media_items row, made once (source `taskforce:SET/ITEM`, no
    URL): grading's N-person verification, QA sample, reveal tickets, viewing cap, lists and
    known-material index then work on it unchanged. Its bytes are sealed into the grading
    store too when there is one, so a senior's review shows it."""
    if row.media_id is not None:
        return row.media_id
    item = session.get(CaseItemRow, row.representative_id)
    assert item is not None and item.md5 and item.sha1 and item.sha256
    name = session.execute(
        select(CaseSetRow.name).where(CaseSetRow.id == row.case_set_id)
    ).scalar_one()
    data: bytes | None = None
    if taskforce_media is not None and item.stored:
        try:
            data = taskforce_media.get(item.id)
        except MediaUnavailable:
            data = None
    registered = service.register_media(
        session,
        url_id=None,
        source_url=f"taskforce:{name}/{item.id}",
        kind=item.kind,
        hashes=service.MediaHashesIn(item.md5, item.sha1, item.sha256, item.pdq, item.pdq_quality),
        byte_count=item.byte_count or 0,
        stored=data is not None and media is not None,
        purge_after=None,
    )
    if data is not None and media is not None:
        media.put(registered.id, data)
    row.media_id = registered.id
    item.media_id = registered.id
    item.grade_state = GradeState.representative.value
    session.flush()
    return registered.id


def member_row(session: Session, row: ClusterRow, item_id: int) -> CaseItemRow:
    item = session.get(CaseItemRow, item_id)
    if item is None or item.cluster_id != row.id or item.id == row.representative_id:
        raise NotFound(N_("no such member in this cluster"))
    return item


def has_suggestions(session: Session, cluster_id: int) -> bool:
    return bool(session.execute(select(_pending_members(cluster_id))).scalar())


def suggest(session: Session, cluster_id: int) -> int:
    """Offer the representative's grade to every member not yet reached."""
    result = session.execute(
        update(CaseItemRow)
        .where(CaseItemRow.cluster_id == cluster_id, CaseItemRow.grade_state.is_(None))
        .values(grade_state=GradeState.suggested.value)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def unsuggest(session: Session, cluster_id: int) -> None:
    session.execute(
        update(CaseItemRow)
        .where(
            CaseItemRow.cluster_id == cluster_id,
            CaseItemRow.grade_state == GradeState.suggested.value,
        )
        .values(grade_state=None)
        .execution_options(synchronize_session=False)
    )


def split_out(session: Session, row: ClusterRow, item: CaseItemRow) -> ClusterRow:
    """The member becomes a cluster of its own (its id: the item's), to be graded alone."""
    now = utcnow()
    new = ClusterRow(
        id=item.id,
        case_set_id=row.case_set_id,
        representative_id=item.id,
        pdq=item.pdq if (item.pdq_quality or 0) >= MIN_QUALITY else None,
        size=1,
        viewable=item.stored,
        state=ClusterState.open.value,
        split_from=row.id,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(new)
    item.cluster_id = item.id
    item.cluster_distance = 0
    item.grade_state = None
    row.size -= 1
    session.flush()
    return new


def unsplit(session: Session, row: ClusterRow, item: CaseItemRow, detail: dict[str, Any]) -> None:
    """Undo a split: the member's own cluster goes (only while nobody has touched it)."""
    own = session.execute(
        select(ClusterRow).where(ClusterRow.id == item.id).with_for_update()
    ).scalar_one_or_none()
    if own is None or own.media_id is not None or own.version != 1:
        raise Conflict(N_("the member's own cluster has been worked on since; it stays split out"))
    if own.claimed_by is not None and (own.claim_expires_at or utcnow()) > utcnow():
        raise Conflict(N_("another grader holds the member's own cluster; it stays split out"))
    session.delete(own)
    item.cluster_id = row.id
    item.cluster_distance = int(detail.get("distance", 0))
    item.grade_state = detail.get("state")
    row.size += 1
    session.flush()


def record_decision(
    session: Session,
    row: ClusterRow,
    item_id: int,
    user_id: int,
    kind: str,
    detail: dict[str, Any],
    category: str | None = None,
) -> None:
    now = utcnow()
    last = session.execute(
        select(func.max(DecisionRow.created_at)).where(DecisionRow.user_id == user_id)
    ).scalar_one_or_none()
    seconds = None
    if last is not None and now - last <= DECISION_GAP:
        seconds = max(0, int((now - last).total_seconds()))
    session.add(
        DecisionRow(
            case_set_id=row.case_set_id,
            cluster_id=row.id,
            item_id=item_id,
            user_id=user_id,
            kind=kind,
            category=category,
            detail=json.dumps(detail, sort_keys=True),
            seconds=seconds,
            created_at=now,
        )
    )
    session.flush()


def last_decision(session: Session, cluster_id: int, user_id: int) -> DecisionRow | None:
    return session.execute(
        select(DecisionRow)
        .where(
            DecisionRow.cluster_id == cluster_id,
            DecisionRow.user_id == user_id,
            DecisionRow.undone_at.is_(None),
        )
        .order_by(DecisionRow.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def propagate(session: Session, cluster_id: int, *, qa_share: float) -> int:
    """When the representative's grade is final: the cluster is final, and every confirmed
    member takes that grade as a media_items row of its own (`agreed`, inherited from the
    representative; a share drawn for QA), written in one statement. Idempotent: members
    already propagated are skipped. Returns how many members were propagated."""
    row = session.execute(
        select(ClusterRow).where(ClusterRow.id == cluster_id).with_for_update()
    ).scalar_one_or_none()
    if row is None or row.media_id is None:
        return 0
    rep = session.get(MediaItemRow, row.media_id)
    final = (service.MediaStatus.agreed.value, service.MediaStatus.resolved.value)
    if rep is None or rep.status not in final or rep.final_grade is None:
        return 0
    if row.state != ClusterState.final.value:
        row.state = ClusterState.final.value
        bump(row)
    members = list(
        session.execute(
            select(CaseItemRow).where(
                CaseItemRow.cluster_id == cluster_id,
                CaseItemRow.grade_state == GradeState.confirmed.value,
                CaseItemRow.media_id.is_(None),
            )
        ).scalars()
    )
    if not members:
        session.flush()
        return 0
    name = session.execute(
        select(CaseSetRow.name).where(CaseSetRow.id == row.case_set_id)
    ).scalar_one()
    now = utcnow()
    values = [
        {
            "url_id": None,
            "source_url": f"taskforce:{name}/{item.id}",
            "kind": item.kind,
            "md5": item.md5 or "",
            "sha1": item.sha1 or "",
            "sha256": item.sha256 or "",
            "pdq": item.pdq,
            "pdq_quality": item.pdq_quality,
            "vpdq": None,
            "byte_count": item.byte_count or 0,
            "status": rep.status,
            "stored": False,  # its bytes stay in the case set's store, shown to nobody
            "purge_after": None,
            "inherited_from": rep.id,
            "final_grade": rep.final_grade,
            "qa_sampled": sampled(item.id, qa_share, QA_SALT),
            "decided_at": now,
            "created_at": now,
        }
        for item in members
    ]
    ids = session.execute(
        insert(MediaItemRow).returning(MediaItemRow.id, sort_by_parameter_order=True), values
    ).scalars()
    for item, media_id in zip(members, ids, strict=True):
        item.media_id = media_id
        item.grade_state = GradeState.propagated.value
    session.flush()
    category = json.loads(rep.final_grade).get("category")
    events.emit(session, "grade.verified", {"media_id": members[0].media_id, "category": category})
    return len(members)


def cluster_for_media(session: Session, media_id: int) -> int | None:
    return session.execute(
        select(ClusterRow.id).where(ClusterRow.media_id == media_id)
    ).scalar_one_or_none()


def item_for_view(session: Session, item_id: int) -> CaseItemRow:
    """An item whose thumbnail may be shown: in a cluster, hashed (never known material)."""
    item = session.get(CaseItemRow, item_id)
    if item is None or item.cluster_id is None:
        raise NotFound(N_("no such item"))
    if item.status != ItemStatus.hashed.value:
        raise NotFound(N_("no such item"))
    return item

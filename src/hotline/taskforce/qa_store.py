"""Rows behind the QA review of propagated members: the members drawn for QA still to review,
one such member as the review page shows it, and the recorded reviews.

No permission checks and no audit here: `taskforce.qa` (the actions) does both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Row, Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from hotline.db.base import utcnow
from hotline.errors import N_, Conflict, NotFound
from hotline.grading.model import Grade, parse_grade
from hotline.grading.tables import MediaItemRow
from hotline.security.tables import UserRow
from hotline.taskforce.model import GradeState
from hotline.taskforce.tables import CaseItemRow, CaseSetRow, QaReviewRow


@dataclass(frozen=True)
class Review:
    outcome: str  # QaOutcome's value
    reviewer: str
    given_category: str
    corrected: Grade | None
    at: datetime


@dataclass(frozen=True)
class SampledMember:
    """A propagated member drawn for QA, with the grade it inherited (or, once a review
    disagreed, the corrected one) and who confirmed it."""

    item_id: int
    case_set_id: int
    case_set: str
    cluster_id: int
    media_id: int
    distance: int
    grade: Grade
    grader_id: int | None  # who confirmed it (the cluster's grader)
    grader: str | None
    review: Review | None


def _sampled() -> Select[CaseItemRow, MediaItemRow, str, str]:
    """Members drawn for QA that a reviewer can see: propagated (read through the
    grade_state index: the graded few, never the whole set), their media row sampled and
    final, their bytes kept."""
    grader = aliased(UserRow)
    return (
        select(CaseItemRow, MediaItemRow, CaseSetRow.name, grader.username)
        .join(MediaItemRow, MediaItemRow.id == CaseItemRow.media_id)
        .join(CaseSetRow, CaseSetRow.id == CaseItemRow.case_set_id)
        .outerjoin(grader, grader.id == CaseItemRow.decided_by)
        .where(
            CaseItemRow.grade_state == GradeState.propagated.value,
            CaseItemRow.stored.is_(True),
            MediaItemRow.qa_sampled.is_(True),
            MediaItemRow.final_grade.is_not(None),
        )
    )


def _member(row: Row[CaseItemRow, MediaItemRow, str, str]) -> SampledMember:
    item, media, case_set, grader = row  # grader: None when nobody confirmed it (outer join)
    assert item.cluster_id is not None and media.final_grade is not None
    return SampledMember(
        item_id=item.id,
        case_set_id=item.case_set_id,
        case_set=case_set,
        cluster_id=item.cluster_id,
        media_id=media.id,
        distance=item.cluster_distance or 0,
        grade=parse_grade(json.loads(media.final_grade)),
        grader_id=item.decided_by,
        grader=grader,
        review=None,
    )


def to_review(
    session: Session, case_set_id: int | None = None, *, limit: int = 50
) -> list[SampledMember]:
    """Members drawn for QA with no review yet, oldest first."""
    query = _sampled().where(
        ~select(QaReviewRow.id).where(QaReviewRow.item_id == CaseItemRow.id).exists()
    )
    if case_set_id is not None:
        query = query.where(CaseItemRow.case_set_id == case_set_id)
    return [_member(r) for r in session.execute(query.order_by(CaseItemRow.id).limit(limit))]


def sampled_member(session: Session, item_id: int) -> SampledMember:
    """One member drawn for QA, with its review if it has one; NotFound for any other item
    (not sampled, not propagated, known material, not kept)."""
    row = session.execute(_sampled().where(CaseItemRow.id == item_id)).one_or_none()
    if row is None:
        raise NotFound(N_("no member drawn for QA with that id"))
    member = _member(row)
    reviewer = aliased(UserRow)
    found = session.execute(
        select(QaReviewRow, reviewer.username)
        .join(reviewer, reviewer.id == QaReviewRow.reviewer_id)
        .where(QaReviewRow.item_id == item_id)
    ).one_or_none()
    if found is None:
        return member
    review, name = found
    corrected = parse_grade(json.loads(review.corrected_grade)) if review.corrected_grade else None
    return replace(
        member,
        review=Review(review.outcome, name, review.given_category, corrected, review.created_at),
    )


def record(
    session: Session,
    member: SampledMember,
    reviewer_id: int,
    outcome: str,
    corrected_json: str | None,
) -> None:
    """Write the review; Conflict when the member already has one (another senior's, at the
    same moment: the unique item id decides)."""
    try:
        with session.begin_nested():
            session.add(
                QaReviewRow(
                    case_set_id=member.case_set_id,
                    cluster_id=member.cluster_id,
                    item_id=member.item_id,
                    media_id=member.media_id,
                    grader_id=member.grader_id,
                    reviewer_id=reviewer_id,
                    outcome=outcome,
                    given_category=member.grade.category.value,
                    corrected_grade=corrected_json,
                    created_at=utcnow(),
                )
            )
    except IntegrityError as exc:
        raise Conflict(N_("this member's QA review is already recorded")) from exc

"""QA review of propagated members (docs/taskforce.md, "QA review"): a senior analyst sees a
member drawn for QA (`HOTLINE_TASKFORCE_QA_SHARE`), blurred, revealed on demand, and records
whether the grade it inherited from its representative is right: agree, or disagree with the
corrected grade. A disagreement replaces the member's final grade (through
`grading.actions.correct_grade`, so the lists and the known-material index follow) and
counts against the grader who confirmed the member: each grader's QA error rate is their
disagreements over their reviewed members (`throughput`).

Each use case runs in the caller's transaction and does all of it there: the one permission
check (`Action.grade_resolve`: the senior analysts who resolve disagreements and review the
QA sample), validation, the writes and the audit entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from hotline.errors import N_, Conflict, FieldError, Forbidden, InvalidInput
from hotline.grading import actions as grading_actions
from hotline.grading import wellbeing
from hotline.grading.model import parse_grade
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed
from hotline.taskforce import qa_store
from hotline.taskforce.qa_store import SampledMember

OBJECT = "taskforce_item"


class QaOutcome(StrEnum):
    agree = "agree"
    disagree = "disagree"


@dataclass(frozen=True)
class QaView:
    member: SampledMember
    exposure: wellbeing.Exposure
    blur: int
    ticket: str | None  # the member's full view, after a reveal


def _permit(actor: Actor, resource: object = None) -> None:
    if not allowed(actor, Action.grade_resolve, resource):
        raise Forbidden(N_("only a senior analyst reviews the QA sample"))


def _exposure(
    session: Session, actor: Actor, viewing: grading_actions.Viewing
) -> wellbeing.Exposure:
    return wellbeing.exposure(
        session,
        actor.id,
        cap_minutes=viewing.cap_minutes,
        break_every_minutes=viewing.break_every_minutes,
    )


def open_queue(
    session: Session, actor: Actor, case_set_id: int | None = None
) -> list[SampledMember]:
    """Members drawn for QA still waiting for a review (no media shown). Audited as
    `taskforce.qa_queue`."""
    _permit(actor)
    members = qa_store.to_review(session, case_set_id)
    audit.record(
        session,
        actor.username,
        "taskforce.qa_queue",
        "taskforce_case_set",
        case_set_id if case_set_id is not None else "*",
        {"shown": len(members)},
    )
    return members


def open_member(
    session: Session,
    actor: Actor,
    item_id: int,
    viewing: grading_actions.Viewing,
    *,
    revealed: bool = False,
) -> QaView:
    """One member drawn for QA as the review page shows it: a blurred thumbnail (its page
    charged to the viewing time, not past the cap); after a reveal, a ticket for the full
    item. Audited as `taskforce.qa_view`."""
    _permit(actor, item_id)
    member = qa_store.sampled_member(session, item_id)
    exposure = _exposure(session, actor, viewing)
    if not revealed and not exposure.capped:
        wellbeing.charge(session, actor.id, "thumbnails", viewing.thumbnail_page_seconds)
    blur = wellbeing.blur_strength(session, actor.id, viewing.default_blur)
    ticket = None
    if revealed and not exposure.capped:
        ticket = grading_actions.issue_ticket(viewing, actor, member.media_id)
    audit.record(
        session, actor.username, "taskforce.qa_view", OBJECT, item_id, {"revealed": revealed}
    )
    return QaView(member, exposure, blur, ticket)


def reveal(session: Session, actor: Actor, item_id: int, viewing: grading_actions.Viewing) -> None:
    """The reviewer reveals the member: charged to the viewing time, refused at the cap.
    Audited as `media.reveal`, as on the grading pages."""
    _permit(actor, item_id)
    member = qa_store.sampled_member(session, item_id)
    if _exposure(session, actor, viewing).capped:
        raise grading_actions.DailyCapReached(
            N_("you have reached today's viewing limit; media display is off until tomorrow")
        )
    wellbeing.charge(session, actor.id, "reveal", viewing.reveal_seconds, member.media_id)
    audit.record(
        session, actor.username, "media.reveal", "media", member.media_id, {"qa_item": item_id}
    )


def open_member_media(
    session: Session,
    actor: Actor,
    item_id: int,
    viewing: grading_actions.Viewing,
    *,
    full_ticket: str | None = None,
) -> int:
    """The member's image is about to be sent: blurred (refused at the cap), or in full with
    the ticket its reveal gave this reviewer. Returns the blur strength (0: full). Audited as
    `media.thumbnail` or `media.full`."""
    _permit(actor, item_id)
    member = qa_store.sampled_member(session, item_id)
    if full_ticket is not None:
        if not grading_actions.ticket_ok(viewing, actor, member.media_id, full_ticket):
            raise Forbidden(N_("reveal the member on its review page first"))
        audit.record(session, actor.username, "media.full", "media", member.media_id, {})
        return 0
    if _exposure(session, actor, viewing).capped:
        raise grading_actions.DailyCapReached(N_("today's viewing limit is reached"))
    audit.record(session, actor.username, "media.thumbnail", OBJECT, item_id, {"qa": True})
    return wellbeing.blur_strength(session, actor.id, viewing.default_blur)


def review(
    session: Session,
    actor: Actor,
    item_id: int,
    outcome: object,
    fields: Mapping[str, object] | None = None,
) -> SampledMember:
    """Record the QA review of a member drawn for QA: `agree` (its grade stands) or
    `disagree` with the corrected grade in `fields`, which becomes the member's final grade
    and counts against the grader who confirmed it. Once a member; never by the grader who
    confirmed it. Audited as `taskforce.qa_review` (and `media.grade_corrected`)."""
    _permit(actor, item_id)
    try:
        decided = QaOutcome(str(outcome or ""))
    except ValueError:
        raise InvalidInput(
            N_("choose whether you agree with the member's grade"),
            fields=[FieldError("outcome", N_("agree or disagree"))],
        ) from None
    member = qa_store.sampled_member(session, item_id)
    if member.review is not None:
        raise Conflict(N_("this member's QA review is already recorded"))
    if member.grader_id is not None and member.grader_id == actor.id:
        raise Forbidden(N_("you confirmed this member yourself; another senior reviews it"))
    corrected = None
    if decided is QaOutcome.disagree:
        corrected = parse_grade(fields or {})
        if corrected == member.grade:
            raise InvalidInput(
                N_("the corrected grade is the grade the member has; record agree instead"),
                fields=[FieldError("category", N_("differs from the member's grade"))],
            )
    qa_store.record(
        session,
        member,
        actor.id,
        decided.value,
        json.dumps(corrected.as_fields(), sort_keys=True) if corrected else None,
    )
    if corrected is not None:
        grading_actions.correct_grade(
            session, actor, member.media_id, corrected, via="taskforce.qa"
        )
    audit.record(
        session,
        actor.username,
        "taskforce.qa_review",
        OBJECT,
        item_id,
        {
            "outcome": decided.value,
            "cluster": member.cluster_id,
            "grader": member.grader_id,
            "given": member.grade.category.value,
            "corrected": corrected.category.value if corrected else None,
        },
    )
    return qa_store.sampled_member(session, item_id)

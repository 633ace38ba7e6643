"""The staff home's counts: what each person needs today, each shown only to those the one
permission check lets do the work it counts (`hotline.security.permissions.allowed`).

One function, `counts_for`, computes them all for one actor in one read: each is a COUNT over
an indexed predicate (the queue's partial index of open items, media by status, takedown cases
by state, one person's viewing records of one day) and stops at CAP, so the home costs the
same however long a backlog grows; a capped count shows as "1000+". It lives in `stats`, the
last tier, because it reads every capability (docs/architecture.md)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.assess import queue
from hotline.db.base import utcnow
from hotline.grading import service as grading
from hotline.grading import wellbeing
from hotline.grading.tables import MediaItemRow
from hotline.intake.tables import ReportedUrlRow
from hotline.security.permissions import Action, Actor, allowed
from hotline.takedown.cases import CaseState
from hotline.takedown.tables import TakedownCaseRow

CAP = 1000  # counting stops here


def N_(message: str) -> str:
    """Mark a message for extraction; the home page translates it."""
    return message


@dataclass(frozen=True)
class Count:
    label: str  # a catalog message id
    value: int
    href: str

    @property
    def shown(self) -> str:
        return f"{CAP}+" if self.value >= CAP else str(self.value)


def _bounded(session: Session, query) -> int:  # type: ignore[no-untyped-def]
    return int(
        session.execute(select(func.count()).select_from(query.limit(CAP).subquery())).scalar_one()
    )


def counts_for(session: Session, actor: Actor) -> list[Count]:
    """The counts this actor's roles need today, in the order the home shows them."""
    found: list[Count] = []
    if allowed(actor, Action.queue_view):
        found.append(
            Count(N_("Reports waiting"), queue.waiting_count(session, limit=CAP), "/staff/queue")
        )
    if allowed(actor, Action.report_assess):
        mine = select(ReportedUrlRow.id).where(
            queue._OPEN_ITEMS,
            ReportedUrlRow.claimed_by == actor.id,
            ReportedUrlRow.claim_expires_at > utcnow(),
        )
        found.append(Count(N_("Claimed by me"), _bounded(session, mine), "/staff/queue"))
    if allowed(actor, Action.image_grade):
        to_grade = grading.count_to_grade(session, actor.id, limit=CAP)
        found.append(Count(N_("Images to grade"), to_grade, "/staff/grading"))
    if allowed(actor, Action.grade_resolve):
        split = select(MediaItemRow.id).where(
            MediaItemRow.status == grading.MediaStatus.disagreement.value
        )
        found.append(
            Count(N_("Disagreements"), _bounded(session, split), "/staff/grading/disagreements")
        )
    if allowed(actor, Action.takedown_manage):
        needing = select(TakedownCaseRow.id).where(
            TakedownCaseRow.state.in_([CaseState.proposed.value, CaseState.escalated.value])
        )
        flagged = select(TakedownCaseRow.id).where(TakedownCaseRow.flagged.is_(True))
        found.append(
            Count(
                N_("Takedown cases needing action"), _bounded(session, needing), "/staff/takedown"
            )
        )
        found.append(Count(N_("Flagged notices"), _bounded(session, flagged), "/staff/takedown"))
    if allowed(actor, Action.image_grade) or allowed(actor, Action.taskforce_grade):
        seen = wellbeing.exposure(session, actor.id, cap_minutes=0, break_every_minutes=0)
        found.append(
            Count(N_("My viewing time today (minutes)"), seen.minutes_today, "/staff/wellbeing")
        )
    return found

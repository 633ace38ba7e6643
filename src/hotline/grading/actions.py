"""Grading's decisions as use cases: an analyst's independent grade, a senior's resolution,
and an analyst's own wellbeing settings (docs/architecture.md, "Actions").

Each runs in the caller's transaction and does all of it there: the one permission check,
the grade's validation (`model.parse_grade`), the writes and decision (`service`, which also
records the `grade.verified` event when the item becomes final) and the audit entry. The
grading page calls these; so may a CLI, an API or the demo. In src, nothing else calls
`service.submit_grade` or `service.resolve` (tests/foundation/test_actions_layer.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from hotline.errors import Forbidden
from hotline.grading import service, wellbeing
from hotline.grading.consensus import Decision
from hotline.grading.model import parse_grade
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed


def submit_grade(
    session: Session,
    actor: Actor,
    media_id: int,
    fields: Mapping[str, object],
    *,
    required: int,
    qa_share: float,
) -> Decision:
    """Record the actor's independent grade of an item; decide it once `required` graders
    agree (then `grade.verified`), or send it to a senior when they disagree."""
    if not allowed(actor, Action.image_grade, media_id):
        raise Forbidden("your role does not allow grading")
    grade = parse_grade(fields)
    decision = service.submit_grade(
        session, media_id, actor.id, grade, required=required, qa_share=qa_share
    )
    audit.record(
        session,
        actor.username,
        "media.grade",
        "media",
        media_id,
        {"category": grade.category.value, "outcome": decision.outcome.value},
    )
    return decision


def resolve(session: Session, actor: Actor, media_id: int, fields: Mapping[str, object]) -> None:
    """A senior analyst's grade decides a disagreement (then `grade.verified`)."""
    if not allowed(actor, Action.grade_resolve, media_id):
        raise Forbidden("only a senior analyst resolves disagreements")
    grade = parse_grade(fields)
    service.resolve(session, media_id, actor.id, grade)
    audit.record(
        session,
        actor.username,
        "media.resolve",
        "media",
        media_id,
        {"category": grade.category.value},
    )


def take_break(session: Session, actor: Actor) -> None:
    """The actor starts a break now (the break prompt counts from here)."""
    if not allowed(actor, Action.staff_home):
        raise Forbidden("staff only")
    wellbeing.take_break(session, actor.id)
    audit.record(session, actor.username, "wellbeing.break", "user", actor.id, {})


def set_blur(session: Session, actor: Actor, value: str | int) -> int:
    """The actor's own blur strength (never off); InvalidInput when out of range."""
    if not allowed(actor, Action.staff_home):
        raise Forbidden("staff only")
    strength = wellbeing.set_blur_strength(session, actor.id, value)
    audit.record(
        session, actor.username, "wellbeing.blur", "user", actor.id, {"blur_strength": strength}
    )
    return strength

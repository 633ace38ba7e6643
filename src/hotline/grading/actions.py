"""Grading's use cases: an analyst's independent grade, a senior's resolution, an analyst's
own wellbeing settings, every view of media (the list, an item, a reveal, a thumbnail, the
full item, the review page) and the retention purge (docs/architecture.md, "Actions").

Each runs in the caller's transaction and does all of it there: the one permission check,
the grade's validation (`model.parse_grade`), the writes and decision (`service`, which also
records the `grade.verified` event when the item becomes final) and the audit entry. A view
charges the analyst's viewing time where it shows media and stops at the daily cap. The
grading pages and `hotline media purge` call these; so may an API or the demo. In src, nothing
else calls `service.submit_grade` or `service.resolve` (tests/foundation/test_actions_layer.py).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.errors import N_, Forbidden
from hotline.grading import service, thumbnails, wellbeing
from hotline.grading.consensus import Decision
from hotline.grading.media_store import MediaStore, MediaUnavailable
from hotline.grading.model import Child, Grade, parse_grade
from hotline.hashing import HashingError
from hotline.security import audit
from hotline.security.crypto import derive_key, hmac_hex
from hotline.security.permissions import Action, Actor, allowed

TICKET_SECONDS = 120


class DailyCapReached(Forbidden):
    code = "daily_cap_reached"


@dataclass(frozen=True)
class Viewing:
    """The hotline's rules for showing media (settings): the daily cap and breaks, what a
    page of thumbnails and a reveal cost, the default blur, and the key of reveal tickets."""

    cap_minutes: int
    break_every_minutes: int
    thumbnail_page_seconds: int
    reveal_seconds: int
    default_blur: int
    ticket_key: bytes

    @classmethod
    def of(cls, settings: Settings) -> Viewing:
        return cls(
            cap_minutes=settings.daily_view_cap_minutes,
            break_every_minutes=settings.break_every_minutes,
            thumbnail_page_seconds=settings.thumbnail_page_seconds,
            reveal_seconds=settings.reveal_seconds,
            default_blur=settings.default_blur,
            ticket_key=derive_key(settings.secret, "media-ticket"),
        )


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
        raise Forbidden(N_("your role does not allow grading"))
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


def submit_taskforce_grade(
    session: Session,
    actor: Actor,
    media_id: int,
    grade: Grade,
    children: Sequence[Child],
    *,
    required: int,
    qa_share: float,
) -> Decision:
    """A taskforce grader's independent grade of a cluster's representative (its media row),
    already validated by `model.grade_with_children`, with the children it records: the same
    N-person verification as `submit_grade`. `hotline.taskforce.grading` calls it."""
    if not allowed(actor, Action.taskforce_cluster_grade, media_id):
        raise Forbidden(N_("your role does not allow grading taskforce case sets"))
    decision = service.submit_grade(
        session, media_id, actor.id, grade, required=required, qa_share=qa_share
    )
    service.record_children(session, media_id, actor.id, children)
    audit.record(
        session,
        actor.username,
        "media.grade",
        "media",
        media_id,
        {
            "category": grade.category.value,
            "outcome": decision.outcome.value,
            "children": len(children),
            "via": "taskforce",
        },
    )
    return decision


def withdraw_taskforce_grade(session: Session, actor: Actor, media_id: int) -> bool:
    """A taskforce grader takes back their own grade of a representative still waiting for
    grades (undo); False when there is none or the item is already decided."""
    if not allowed(actor, Action.taskforce_cluster_grade, media_id):
        raise Forbidden(N_("your role does not allow grading taskforce case sets"))
    withdrawn = service.withdraw_grade(session, media_id, actor.id)
    if withdrawn:
        audit.record(
            session,
            actor.username,
            "media.grade_withdrawn",
            "media",
            media_id,
            {"via": "taskforce"},
        )
    return withdrawn


def resolve(session: Session, actor: Actor, media_id: int, fields: Mapping[str, object]) -> None:
    """A senior analyst's grade decides a disagreement (then `grade.verified`)."""
    if not allowed(actor, Action.grade_resolve, media_id):
        raise Forbidden(N_("only a senior analyst resolves disagreements"))
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


def correct_grade(session: Session, actor: Actor, media_id: int, grade: Grade, *, via: str) -> None:
    """A senior's QA review replaces an item's final grade (then `grade.verified`);
    `hotline.taskforce.qa` calls it with the grade it has validated. Audited as
    `media.grade_corrected`."""
    if not allowed(actor, Action.grade_resolve, media_id):
        raise Forbidden(N_("only a senior analyst corrects a final grade"))
    service.correct(session, media_id, actor.id, grade)
    audit.record(
        session,
        actor.username,
        "media.grade_corrected",
        "media",
        media_id,
        {"category": grade.category.value, "via": via},
    )


def take_break(session: Session, actor: Actor) -> None:
    """The actor starts a break now (the break prompt counts from here)."""
    if not allowed(actor, Action.staff_home):
        raise Forbidden(N_("staff only"))
    wellbeing.take_break(session, actor.id)
    audit.record(session, actor.username, "wellbeing.break", "user", actor.id, {})


def set_blur(session: Session, actor: Actor, value: str | int) -> int:
    """The actor's own blur strength (never off); InvalidInput when out of range."""
    if not allowed(actor, Action.staff_home):
        raise Forbidden(N_("staff only"))
    strength = wellbeing.set_blur_strength(session, actor.id, value)
    audit.record(
        session, actor.username, "wellbeing.blur", "user", actor.id, {"blur_strength": strength}
    )
    return strength


# -- views -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradingList:
    items: list[service.MediaItem]
    total: int  # stops at the count limit the caller gave
    exposure: wellbeing.Exposure


@dataclass(frozen=True)
class ItemView:
    item: service.MediaItem
    graded: bool  # the actor has graded it
    others: list[service.GradeView]
    exposure: wellbeing.Exposure
    senior: bool  # the actor resolves disagreements
    ticket: str | None  # for the full item, once revealed and under the cap


@dataclass(frozen=True)
class Review:
    disagreements: list[service.MediaItem]
    sample: list[service.MediaItem]
    agreement: list[service.GraderAgreement]


@dataclass(frozen=True)
class Wellbeing:
    exposure: wellbeing.Exposure
    blur: int


def _grader(actor: Actor, media_id: int | None = None) -> None:
    if not allowed(actor, Action.image_grade, media_id):
        raise Forbidden(N_("your role does not allow grading"))


def _exposure(session: Session, actor: Actor, viewing: Viewing) -> wellbeing.Exposure:
    return wellbeing.exposure(
        session,
        actor.id,
        cap_minutes=viewing.cap_minutes,
        break_every_minutes=viewing.break_every_minutes,
    )


def _never_shown(item: service.MediaItem) -> None:
    if item.status is service.MediaStatus.known_match:
        raise Forbidden(N_("this item matched known material and is never displayed"))


def open_grading_list(
    session: Session, actor: Actor, viewing: Viewing, *, count_limit: int | None = None
) -> GradingList:
    """The items waiting for the actor's grade, as blurred thumbnails: a page of them is
    charged to the viewing time (not past the cap). Audited as `grading.list.view`."""
    _grader(actor)
    items = service.to_grade(session, actor.id)
    total = service.count_to_grade(session, actor.id, limit=count_limit)
    exposure = _exposure(session, actor, viewing)
    if items and not exposure.capped:
        wellbeing.charge(session, actor.id, "thumbnails", viewing.thumbnail_page_seconds)
    audit.record(session, actor.username, "grading.list.view", "media", "*", {"shown": len(items)})
    return GradingList(items, total, exposure)


def next_to_grade(session: Session, actor: Actor) -> int | None:
    """The oldest item still waiting for the actor's grade: where the page goes after a grade
    (an id only; opening it is audited as usual)."""
    _grader(actor)
    waiting = service.to_grade(session, actor.id, limit=1)
    return waiting[0].id if waiting else None


def next_disagreement(session: Session, actor: Actor) -> int | None:
    """The oldest disagreement still waiting for a senior: where the page goes after one is
    resolved."""
    if not allowed(actor, Action.grade_resolve):
        raise Forbidden(N_("only a senior analyst reviews disagreements"))
    waiting = service.disagreements(session, limit=1)
    return waiting[0].id if waiting else None


def _ticket(viewing: Viewing, actor: Actor, media_id: int, expires: int) -> str:
    return f"{expires}.{hmac_hex(viewing.ticket_key, f'{actor.id}:{media_id}:{expires}')}"


def issue_ticket(viewing: Viewing, actor: Actor, media_id: int) -> str:
    """A short-lived ticket for the full item, bound to the actor and the item: for callers
    that have just charged and audited a reveal themselves (taskforce grading)."""
    return _ticket(viewing, actor, media_id, int(time.time()) + TICKET_SECONDS)


def ticket_ok(viewing: Viewing, actor: Actor, media_id: int, ticket: str) -> bool:
    """Is this a live reveal ticket for this actor and item?"""
    expires_text, _, mac = ticket.partition(".")
    if not expires_text.isdigit() or int(expires_text) < time.time():
        return False
    expected = _ticket(viewing, actor, media_id, int(expires_text)).partition(".")[2]
    return hmac.compare_digest(mac, expected)


def open_item(
    session: Session, actor: Actor, media_id: int, viewing: Viewing, *, revealed: bool = False
) -> ItemView:
    """One item with the grades the actor may see; once revealed (and under the cap), a
    short-lived ticket for the full item, bound to the actor and the item. Audited as
    `media.view`."""
    _grader(actor, media_id)
    senior = allowed(actor, Action.grade_resolve, media_id)
    item = service.get_item(session, media_id)
    graded = service.has_graded(session, media_id, actor.id)
    others = service.grades_visible_to(session, media_id, actor.id, senior=senior)
    exposure = _exposure(session, actor, viewing)
    audit.record(session, actor.username, "media.view", "media", media_id, {"revealed": revealed})
    ticket = None
    if revealed and not exposure.capped:
        ticket = _ticket(viewing, actor, media_id, int(time.time()) + TICKET_SECONDS)
    return ItemView(item, graded, others, exposure, senior, ticket)


def reveal(session: Session, actor: Actor, media_id: int, viewing: Viewing) -> None:
    """The actor reveals one item: charged to the viewing time, refused at the cap and for
    known material. Audited as `media.reveal`."""
    _grader(actor, media_id)
    _never_shown(service.get_item(session, media_id))
    if _exposure(session, actor, viewing).capped:
        raise DailyCapReached(
            N_("you have reached today's viewing limit; media display is off until tomorrow")
        )
    wellbeing.charge(session, actor.id, "reveal", viewing.reveal_seconds, media_id)
    audit.record(session, actor.username, "media.reveal", "media", media_id, {})


def open_review(session: Session, actor: Actor) -> Review:
    """The senior's review: disagreements to resolve, a QA sample, each grader's agreement.
    Audited as `grading.review.view`."""
    if not allowed(actor, Action.grade_resolve):
        raise Forbidden(N_("only a senior analyst reviews disagreements"))
    items = service.disagreements(session)
    sample = service.qa_sample(session, limit=50)
    agreement = service.grader_agreement(session)
    audit.record(
        session,
        actor.username,
        "grading.review.view",
        "media",
        "*",
        {"disagreements": len(items)},
    )
    return Review(items, sample, agreement)


def open_thumbnail(
    session: Session, actor: Actor, media_id: int, viewing: Viewing
) -> tuple[service.MediaItem, int]:
    """An item's thumbnail is about to be shown: refused at the cap; the item and the
    actor's blur strength for `thumbnail_png`. Audited as `media.thumbnail`."""
    _grader(actor, media_id)
    item = service.get_item(session, media_id)
    if _exposure(session, actor, viewing).capped:
        raise DailyCapReached(N_("today's viewing limit is reached"))
    blur = wellbeing.blur_strength(session, actor.id, viewing.default_blur)
    audit.record(session, actor.username, "media.thumbnail", "media", media_id, {})
    return item, blur


def open_full_media(
    session: Session, actor: Actor, media_id: int, ticket: str, viewing: Viewing
) -> service.MediaItem:
    """The full item, only with the ticket its reveal gave this actor. Audited as
    `media.full`."""
    _grader(actor, media_id)
    if not ticket_ok(viewing, actor, media_id, ticket):
        raise Forbidden(N_("reveal the item on its grading page first"))
    item = service.get_item(session, media_id)
    audit.record(session, actor.username, "media.full", "media", media_id, {})
    return item


def media_bytes(store: MediaStore | None, item: service.MediaItem) -> bytes:
    """The stored item, decrypted; Forbidden for known material and what is not stored."""
    _never_shown(item)
    if store is None or not item.stored:
        raise Forbidden(N_("this item's media is not stored (hash-only mode or purged)"))
    try:
        return store.get(item.id)
    except MediaUnavailable as exc:
        raise Forbidden(str(exc)) from exc


def thumbnail_png(store: MediaStore | None, item: service.MediaItem, blur: int) -> bytes:
    """A small, greyscale, blurred PNG of the item (a video's poster frame); a placeholder
    when it cannot be decoded."""
    data = media_bytes(store, item)
    try:
        if item.kind == "video":
            poster = thumbnails.video_poster(data)
            return (
                thumbnails.blurred_thumbnail(poster, blur) if poster else thumbnails.placeholder()
            )
        return thumbnails.blurred_thumbnail(data, blur)
    except HashingError:
        return thumbnails.placeholder()


def open_wellbeing(session: Session, actor: Actor, viewing: Viewing) -> Wellbeing:
    """The actor's own viewing time today and blur strength. Audited as `wellbeing.view`."""
    if not allowed(actor, Action.staff_home):
        raise Forbidden(N_("staff only"))
    exposure = _exposure(session, actor, viewing)
    blur = wellbeing.blur_strength(session, actor.id, viewing.default_blur)
    audit.record(session, actor.username, "wellbeing.view", "user", actor.id, {})
    return Wellbeing(exposure, blur)


# -- retention ---------------------------------------------------------------------------------


def purge_media(
    session: Session, actor: Actor, store: MediaStore, *, now: datetime | None = None
) -> int:
    """Delete stored media past its retention period (the rows stay, marked not stored);
    safe to run at any time and more than once. Audited as `media.purged` with the count."""
    if not allowed(actor, Action.media_purge):
        raise Forbidden(N_("your role does not allow purging stored media"))
    purged = store.purge_expired(session, now or utcnow())
    audit.record(session, actor.username, "media.purged", "media", "*", {"count": purged})
    return purged

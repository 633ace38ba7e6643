"""Taskforce grading's use cases (docs/taskforce.md, "Grading a case set"): claim a cluster
with a lease, see it, reveal its representative, grade the representative, confirm or split
out each near-duplicate member, undo the last decision, release.

Each runs in the caller's transaction and does all of it there: the one permission check
(`Action.taskforce_cluster_grade`), validation, the writes and the audit entry. Decisions on
a cluster need the grader's live claim and the version the page was drawn at: a decision on a
cluster that another grader holds, or that changed since, is a Conflict and writes nothing.

The representative is graded as a media_items row (`grading_store.materialise`), through
`grading.actions.submit_taskforce_grade`: N-person verification, the QA sample, the
`grade.verified` event, the lists and the known-material index work on it as on any graded
item. When its grade is final, confirmed members take it (`grading_store.propagate`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.errors import N_, Conflict, FieldError, Forbidden, InvalidInput
from hotline.grading import actions as grading_actions
from hotline.grading import service, wellbeing
from hotline.grading.consensus import Decision, Outcome
from hotline.grading.media_store import MediaStore, MediaUnavailable
from hotline.grading.model import grade_with_children
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed
from hotline.taskforce import grading_store as rows
from hotline.taskforce.model import ClusterState, GradeState, ItemStatus
from hotline.taskforce.tables import CaseItemRow, ClusterRow

OBJECT = "taskforce_cluster"


@dataclass(frozen=True)
class Rules:
    """What grading takes from the settings: verification, QA shares, the claim's lease."""

    required: int
    qa_share: float  # of agreed representatives (as grading's)
    member_qa_share: float  # of propagated members
    lease: timedelta

    @classmethod
    def of(cls, settings: Settings) -> Rules:
        return cls(
            required=settings.graders_required,
            qa_share=settings.qa_sample_share,
            member_qa_share=settings.taskforce_qa_share,
            lease=timedelta(minutes=settings.claim_minutes),
        )


@dataclass(frozen=True)
class Stores:
    taskforce: MediaStore | None  # the case sets' sealed bytes, by item id
    media: MediaStore | None  # grading's, by media id (None: hash-only)


@dataclass(frozen=True)
class ClusterView:
    cluster: rows.Cluster
    graded: bool  # the actor has graded the representative
    decides_members: bool  # the actor may confirm or split members now
    exposure: wellbeing.Exposure
    blur: int
    ticket: str | None  # the representative's full view, after a reveal


def _permit(actor: Actor, resource: object = None) -> None:
    if not allowed(actor, Action.taskforce_cluster_grade, resource):
        raise Forbidden(N_("your role does not allow grading taskforce case sets"))


def _exposure(
    session: Session, actor: Actor, viewing: grading_actions.Viewing
) -> wellbeing.Exposure:
    return wellbeing.exposure(
        session,
        actor.id,
        cap_minutes=viewing.cap_minutes,
        break_every_minutes=viewing.break_every_minutes,
    )


def _graded(session: Session, media_id: int | None, actor: Actor) -> bool:
    return media_id is not None and service.has_graded(session, media_id, actor.id)


def _version(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise InvalidInput(
            N_("the page's cluster version is missing; reload the page"),
            fields=[FieldError("version", N_("a whole number"))],
        ) from None


# -- claims ------------------------------------------------------------------------------------


def claim_next(
    session: Session,
    actor: Actor,
    rules: Rules,
    stores: Stores,
    case_set_id: int | None = None,
    *,
    viewing: grading_actions.Viewing | None = None,
) -> int | None:
    """Claim the next cluster for the actor (see `grading_store.candidates`); None when none
    is free. With `viewing`, its page of thumbnails is charged to the viewing time now, once
    a cluster (not at each reload the keys cause). Audited as `taskforce.cluster_claim`."""
    _permit(actor)
    for cluster_id in rows.candidates(session, actor.id, case_set_id):
        try:
            rows.claim(session, cluster_id, actor.id, rules.lease)
        except Conflict:
            continue  # taken between our look and our update: try the next
        _prepare(session, cluster_id, actor, stores, viewing)
        audit.record(session, actor.username, "taskforce.cluster_claim", OBJECT, cluster_id, {})
        return cluster_id
    return None


def claim(
    session: Session,
    actor: Actor,
    cluster_id: int,
    rules: Rules,
    stores: Stores,
    *,
    viewing: grading_actions.Viewing | None = None,
) -> None:
    """Claim (or renew) one cluster; Conflict when another grader holds it. Audited."""
    _permit(actor, cluster_id)
    rows.claim(session, cluster_id, actor.id, rules.lease)
    _prepare(session, cluster_id, actor, stores, viewing)
    audit.record(session, actor.username, "taskforce.cluster_claim", OBJECT, cluster_id, {})


def _prepare(
    session: Session,
    cluster_id: int,
    actor: Actor,
    stores: Stores,
    viewing: grading_actions.Viewing | None,
) -> None:
    row = rows.hold(session, cluster_id, actor.id, None)
    if not row.viewable:
        raise Conflict(
            N_("this cluster's representative was not kept (hash-only); it cannot be shown")
        )
    rows.materialise(session, row, taskforce_media=stores.taskforce, media=stores.media)
    if viewing is not None and not _exposure(session, actor, viewing).capped:
        wellbeing.charge(session, actor.id, "thumbnails", viewing.thumbnail_page_seconds)


def release(session: Session, actor: Actor, cluster_id: int) -> None:
    """Let the cluster go back to the queue. Audited as `taskforce.cluster_release`."""
    _permit(actor, cluster_id)
    rows.release(session, cluster_id, actor.id)
    audit.record(session, actor.username, "taskforce.cluster_release", OBJECT, cluster_id, {})


def finish(session: Session, actor: Actor, cluster_id: int) -> None:
    """The grader is done with a cluster they hold (the page's "next"): released, unless
    they graded its representative and members still wait for their confirm or split.
    Not holding it (a lapsed claim another took) is fine: there is nothing to release."""
    _permit(actor, cluster_id)
    cluster = rows.get(session, cluster_id)
    if cluster.claimed_by != actor.id:
        return
    if _graded(session, cluster.media_id, actor) and rows.has_suggestions(session, cluster_id):
        raise Conflict(N_("decide every member first: confirm it (same grade) or split it out"))
    rows.release(session, cluster_id, actor.id)
    audit.record(session, actor.username, "taskforce.cluster_release", OBJECT, cluster_id, {})


# -- the page's view, reveals and thumbnails ----------------------------------------------------


def open_cluster(
    session: Session,
    actor: Actor,
    cluster_id: int,
    viewing: grading_actions.Viewing,
    *,
    revealed: bool = False,
) -> ClusterView:
    """The cluster the actor holds, as the page shows it (blurred thumbnails, charged once at
    the claim); after a reveal, a ticket for the full item. Audited as
    `taskforce.cluster_view`."""
    _permit(actor, cluster_id)
    cluster = rows.get(session, cluster_id)
    if cluster.claimed_by != actor.id:
        raise Conflict(N_("claim this cluster before working on it; another grader may hold it"))
    graded = _graded(session, cluster.media_id, actor)
    exposure = _exposure(session, actor, viewing)  # its thumbnails were charged at the claim
    blur = wellbeing.blur_strength(session, actor.id, viewing.default_blur)
    ticket = None
    if revealed and cluster.media_id is not None and not exposure.capped:
        ticket = grading_actions.issue_ticket(viewing, actor, cluster.media_id)
    audit.record(
        session,
        actor.username,
        "taskforce.cluster_view",
        OBJECT,
        cluster_id,
        {"revealed": revealed},
    )
    return ClusterView(cluster, graded, graded, exposure, blur, ticket)


def reveal(
    session: Session, actor: Actor, cluster_id: int, viewing: grading_actions.Viewing
) -> int:
    """The actor reveals the representative they hold: charged to the viewing time, refused
    at the cap. Audited as `media.reveal`. Returns its media id."""
    _permit(actor, cluster_id)
    row = rows.hold(session, cluster_id, actor.id, None)
    if row.media_id is None:
        raise Conflict(N_("claim this cluster before revealing it"))
    if _exposure(session, actor, viewing).capped:
        raise grading_actions.DailyCapReached(
            N_("you have reached today's viewing limit; media display is off until tomorrow")
        )
    wellbeing.charge(session, actor.id, "reveal", viewing.reveal_seconds, row.media_id)
    audit.record(
        session, actor.username, "media.reveal", "media", row.media_id, {"cluster": cluster_id}
    )
    return row.media_id


def open_item_media(
    session: Session,
    actor: Actor,
    item_id: int,
    viewing: grading_actions.Viewing,
    *,
    full_ticket: str | None = None,
) -> tuple[int, int]:
    """An item of a cluster the actor holds is about to be shown: a blurred thumbnail
    (refused at the cap), or with `full_ticket` the representative in full (only with the
    ticket its reveal gave this actor). Known material is never shown. Returns the item id
    and the blur strength. Audited as `media.thumbnail` or `media.full`."""
    _permit(actor, item_id)
    item = rows.item_for_view(session, item_id)
    cluster = rows.get(session, item.cluster_id or 0)
    if cluster.claimed_by != actor.id:
        raise Forbidden(N_("claim the item's cluster to see it"))
    if full_ticket is not None:
        if item.media_id is None or item.id != cluster.representative.item_id:
            raise Forbidden(N_("only a cluster's representative is revealed"))
        if not grading_actions.ticket_ok(viewing, actor, item.media_id, full_ticket):
            raise Forbidden(N_("reveal the representative on its grading page first"))
        audit.record(session, actor.username, "media.full", "media", item.media_id, {})
        return item.id, 0
    if _exposure(session, actor, viewing).capped:
        raise grading_actions.DailyCapReached(N_("today's viewing limit is reached"))
    blur = wellbeing.blur_strength(session, actor.id, viewing.default_blur)
    audit.record(session, actor.username, "media.thumbnail", "taskforce_item", item.id, {})
    return item.id, blur


def item_bytes(store: MediaStore | None, item_id: int) -> bytes:
    if store is None:
        raise Forbidden(N_("this case set keeps no media (hash-only)"))
    try:
        return store.get(item_id)
    except MediaUnavailable as exc:
        raise Forbidden(str(exc)) from exc


# -- decisions ---------------------------------------------------------------------------------


def grade(
    session: Session,
    actor: Actor,
    cluster_id: int,
    version: object,
    fields: Mapping[str, object],
    rules: Rules,
) -> Decision:
    """The actor's independent grade of the representative of a cluster they hold, at the
    version their page showed. The first grade offers it to every near-duplicate member as a
    suggestion; once the grade is final (N graders agree), confirmed members take it.
    Audited as `taskforce.cluster_grade` (and grading's `media.grade`)."""
    _permit(actor, cluster_id)
    grade_, children = grade_with_children(fields)
    row = rows.hold(session, cluster_id, actor.id, _version(version))
    if row.media_id is None:
        raise Conflict(N_("claim this cluster before grading it"))
    if row.state == ClusterState.final.value:
        raise Conflict(N_("this cluster's grade is already final"))
    decision = grading_actions.submit_taskforce_grade(
        session,
        actor,
        row.media_id,
        grade_,
        children,
        required=rules.required,
        qa_share=rules.qa_share,
    )
    first = row.state == ClusterState.open.value
    suggested = 0
    if first:
        row.state = ClusterState.verifying.value
        row.graded_by = actor.id
        suggested = rows.suggest(session, row.id)
    rows.bump(row)
    rows.record_decision(
        session,
        row,
        row.representative_id,
        actor.id,
        "grade",
        {"first": first},
        grade_.category.value,
    )
    propagated = 0
    if decision.outcome is Outcome.agreed:
        propagated = rows.propagate(session, row.id, qa_share=rules.member_qa_share)
    audit.record(
        session,
        actor.username,
        "taskforce.cluster_grade",
        OBJECT,
        cluster_id,
        {
            "category": grade_.category.value,
            "outcome": decision.outcome.value,
            "suggested": suggested,
            "propagated": propagated,
        },
    )
    return decision


def _member_decision(
    session: Session, actor: Actor, cluster_id: int, version: object, item_id: int
) -> tuple[ClusterRow, CaseItemRow]:
    row = rows.hold(session, cluster_id, actor.id, _version(version))
    if not _graded(session, row.media_id, actor):
        raise Conflict(N_("grade the representative before deciding its members"))
    item = rows.member_row(session, row, item_id)
    if item.status != ItemStatus.hashed.value:
        raise Conflict(N_("this member cannot be graded"))
    return row, item


def confirm(
    session: Session, actor: Actor, cluster_id: int, version: object, item_id: int, rules: Rules
) -> None:
    """The member shows the same as its representative: it takes the representative's final
    grade (at once when that is already final). Audited as `taskforce.member_confirm`."""
    _permit(actor, cluster_id)
    row, item = _member_decision(session, actor, cluster_id, version, item_id)
    if item.grade_state != GradeState.suggested.value:
        raise Conflict(N_("this member has no suggestion to confirm (already decided)"))
    item.grade_state = GradeState.confirmed.value
    item.decided_by = actor.id
    item.decided_at = utcnow()
    rows.bump(row)
    rows.record_decision(session, row, item.id, actor.id, "confirm", {"state": "suggested"})
    propagated = rows.propagate(session, row.id, qa_share=rules.member_qa_share)
    audit.record(
        session,
        actor.username,
        "taskforce.member_confirm",
        OBJECT,
        cluster_id,
        {"item": item.id, "propagated": propagated},
    )


def split(session: Session, actor: Actor, cluster_id: int, version: object, item_id: int) -> int:
    """The member differs in what matters: it becomes a cluster of its own, graded alone.
    Returns the new cluster's id. Audited as `taskforce.member_split`."""
    _permit(actor, cluster_id)
    row, item = _member_decision(session, actor, cluster_id, version, item_id)
    if item.grade_state not in (GradeState.suggested.value, GradeState.confirmed.value):
        raise Conflict(N_("this member is already decided"))
    detail = {"state": item.grade_state, "distance": item.cluster_distance or 0}
    new = rows.split_out(session, row, item)
    item.decided_by = actor.id
    item.decided_at = utcnow()
    rows.bump(row)
    rows.record_decision(session, row, item.id, actor.id, "split", detail)
    audit.record(
        session,
        actor.username,
        "taskforce.member_split",
        OBJECT,
        cluster_id,
        {"item": item.id, "new_cluster": new.id},
    )
    return new.id


def undo(session: Session, actor: Actor, cluster_id: int, version: object) -> str:
    """Take back the actor's last decision on the cluster they hold: a confirmation (not yet
    propagated), a split (while nobody has touched the new cluster), or their grade (while
    the representative still waits for grades). Returns what was undone. Audited as
    `taskforce.undo`."""
    _permit(actor, cluster_id)
    row = rows.hold(session, cluster_id, actor.id, _version(version))
    last = rows.last_decision(session, cluster_id, actor.id)
    if last is None:
        raise Conflict(N_("nothing of yours to undo on this cluster"))
    detail = json.loads(last.detail)
    if last.kind == "confirm":
        item = rows.member_row(session, row, last.item_id)
        if item.grade_state != GradeState.confirmed.value:
            raise Conflict(N_("this member already has its final grade; ask a senior analyst"))
        item.grade_state = detail.get("state", GradeState.suggested.value)
        item.decided_by = None
        item.decided_at = None
    elif last.kind == "split":
        split_item = session.get(CaseItemRow, last.item_id)
        assert split_item is not None
        rows.unsplit(session, row, split_item, detail)
    else:  # a grade
        if row.media_id is None or not grading_actions.withdraw_taskforce_grade(
            session, actor, row.media_id
        ):
            raise Conflict(N_("the grade is already decided (agreed or sent to a senior)"))
        if detail.get("first"):
            row.state = ClusterState.open.value
            row.graded_by = None
            rows.unsuggest(session, row.id)
    last.undone_at = utcnow()
    rows.bump(row)
    audit.record(
        session,
        actor.username,
        "taskforce.undo",
        OBJECT,
        cluster_id,
        {"undone": last.kind, "item": last.item_id},
    )
    return last.kind

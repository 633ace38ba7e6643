"""Members' feedback on list entries, and the staff review of it (docs/lists.md, "Feedback").

A member says an entry is a false positive or confirms it (`submit`, called by
`POST /api/v1/lists/{name}/entries/{id}/feedback` once the key was admitted for the list).
One feedback per member and entry: a repeat while it is open replaces its verdict and note
(the member changed its mind before anyone looked); once decided it is final, and a repeat is a
409. Staff review the open ones (`open_queue`, a view, audited) and decide (`decide`): upholding
a false positive withdraws the entry through `actions.withdraw_entries`, so it leaves in the
next release's delta; rejecting keeps it; upholding a confirmation only records it.

Each function is an action (docs/architecture.md): permission, validation, writes and the audit
entry in the caller's transaction. The audit entries carry the verdict and the note's length,
never the note (a member's free text stays in its row).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import N_, Conflict, FieldError, Forbidden, InvalidInput, NotFound
from hotline.lists import actions
from hotline.lists.feedback_tables import MemberFeedbackRow
from hotline.matching import keys
from hotline.matching import store as match_store
from hotline.matching.tables import HashListEntryRow, HashListRow, MemberRow
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed

VERDICTS = ("false_positive", "confirmed")
DECISIONS = ("uphold", "reject")
STATES = ("open", "upheld", "rejected")
MAX_NOTE = 2000  # characters: room for a reason, not for a document
WITHDRAWAL_REASON = "reported as a false positive by a member; upheld on review"
_OBJECT = "hash_list_entry"


@dataclass(frozen=True, slots=True)
class Feedback:
    id: int
    list: str
    entry_id: int
    member: str
    verdict: str
    note: str | None
    state: str
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    category: str = ""
    entry_withdrawn: bool = False

    def to_json(self) -> dict[str, Any]:
        """What the member who sent it is answered (staff see more on the review page)."""
        return {
            "id": self.id,
            "list": self.list,
            "entry": self.entry_id,
            "verdict": self.verdict,
            "note": self.note,
            "state": self.state,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def parse_body(data: Any) -> tuple[str, str | None]:
    """(verdict, note) from a JSON body, or InvalidInput naming every problem at once."""
    if not isinstance(data, Mapping):
        raise InvalidInput(N_('send a JSON object: {"verdict": …, "note": …}'))
    problems: list[FieldError] = []
    unknown = sorted(str(k) for k in data if k not in ("verdict", "note"))
    problems += [FieldError(k, N_("not a field of feedback")) for k in unknown]
    verdict = data.get("verdict")
    if verdict not in VERDICTS:
        problems.append(FieldError("verdict", N_("one of: %(items)s", items=", ".join(VERDICTS))))
    note = data.get("note")
    if note is not None and not isinstance(note, str):
        problems.append(FieldError("note", N_("must be text or null")))
    elif isinstance(note, str):
        note = note.strip() or None
        if note is not None and len(note) > MAX_NOTE:
            problems.append(
                FieldError("note", N_("at most %(max_note)s characters", max_note=MAX_NOTE))
            )
    if problems:
        raise InvalidInput(N_("the feedback has problems; nothing was stored"), fields=problems)
    return str(verdict), note


def _entry(session: Session, list_name: str, entry_id: int) -> tuple[int, HashListEntryRow]:
    """The list's id and the entry's row, held until commit (one feedback at a time per
    entry, so a member's repeat can never race its first into a duplicate)."""
    info = match_store.get_list(session, list_name)
    row = session.execute(
        select(HashListEntryRow)
        .where(HashListEntryRow.id == entry_id, HashListEntryRow.list_id == info.id)
        .with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(
            N_(
                "list '%(list_name)s' has no entry %(entry_id)s",
                list_name=list_name,
                entry_id=entry_id,
            )
        )
    return info.id, row


def _view(row: MemberFeedbackRow, list_name: str, member: str, entry: HashListEntryRow) -> Feedback:
    return Feedback(
        row.id,
        list_name,
        row.entry_id,
        member,
        row.verdict,
        row.note,
        row.state,
        row.created_at,
        row.updated_at,
        row.decided_at,
        row.decided_by,
        entry.category,
        entry.withdrawn_at is not None,
    )


def submit(
    session: Session,
    key: match_store.StoredKey,
    list_name: str,
    entry_id: int,
    verdict: str,
    note: str | None,
) -> tuple[Feedback, bool]:
    """Store a member's feedback on one entry: (the feedback, whether it is new). The key was
    admitted by the API; its scope is checked again here, so no other caller can skip it."""
    keys.searchable_lists(key.scopes, [list_name])
    verdict, note = parse_body({"verdict": verdict, "note": note})
    list_id, entry = _entry(session, list_name, entry_id)
    if entry.withdrawn_at is not None:
        raise Conflict(
            N_(
                "entry %(entry_id)s was withdrawn from '%(list_name)s' in version "
                "%(withdrawn_in)s; it is no longer on the list",
                entry_id=entry_id,
                list_name=list_name,
                withdrawn_in=entry.withdrawn_in,
            )
        )
    member_id = session.execute(
        select(MemberRow.id).where(MemberRow.name == key.member)
    ).scalar_one()
    row = session.execute(
        select(MemberFeedbackRow).where(
            MemberFeedbackRow.member_id == member_id, MemberFeedbackRow.entry_id == entry_id
        )
    ).scalar_one_or_none()
    now = utcnow()
    created = row is None
    if row is None:
        row = MemberFeedbackRow(
            list_id=list_id,
            entry_id=entry_id,
            member_id=member_id,
            key_prefix=key.prefix,
            verdict=verdict,
            note=note,
            state="open",
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    elif row.state != "open":
        raise Conflict(
            N_(
                "your feedback on entry %(entry_id)s was already reviewed (%(state)s); "
                "it cannot be changed",
                entry_id=entry_id,
                state=row.state,
            )
        )
    else:
        row.verdict, row.note, row.key_prefix, row.updated_at = verdict, note, key.prefix, now
    session.flush()
    audit.record(
        session,
        f"member:{key.member}",
        "hash_list.feedback_received" if created else "hash_list.feedback_updated",
        _OBJECT,
        entry_id,
        {
            "list": list_name,
            "feedback": row.id,
            "verdict": verdict,
            "note_chars": len(note or ""),
            "key": key.prefix,
        },
    )
    return _view(row, list_name, key.member, entry), created


def _permit(actor: Actor) -> None:
    if not allowed(actor, Action.lists_manage):
        raise Forbidden(N_("your role does not allow reviewing members' feedback"))


def open_queue(
    session: Session, actor: Actor, state: str = "open", limit: int = 200
) -> list[Feedback]:
    """The feedback in `state` (open: oldest first, the review queue; decided: newest
    first), audited as a view."""
    _permit(actor)
    if state not in STATES:
        raise InvalidInput(
            N_("unknown state"),
            fields=[FieldError("state", N_("one of: %(items)s", items=", ".join(STATES)))],
        )
    order = (
        MemberFeedbackRow.created_at.asc()
        if state == "open"
        else MemberFeedbackRow.decided_at.desc()
    )
    rows = session.execute(
        select(MemberFeedbackRow, HashListRow.name, MemberRow.name, HashListEntryRow)
        .join(HashListRow, HashListRow.id == MemberFeedbackRow.list_id)
        .join(MemberRow, MemberRow.id == MemberFeedbackRow.member_id)
        .join(HashListEntryRow, HashListEntryRow.id == MemberFeedbackRow.entry_id)
        .where(MemberFeedbackRow.state == state)
        .order_by(order, MemberFeedbackRow.id)
        .limit(limit)
    ).all()
    found = [_view(fb, list_name, member, entry) for fb, list_name, member, entry in rows]
    audit.record(
        session,
        actor.username,
        "hash_list.feedback_viewed",
        "member_feedback",
        state,
        {"shown": len(found)},
    )
    return found


def decide(session: Session, actor: Actor, feedback_id: int, decision: str) -> Feedback:
    """Uphold or reject one open feedback. Upholding a false positive withdraws the entry (one
    new list version; it leaves in the next delta), unless it was withdrawn meanwhile."""
    _permit(actor)
    if decision not in DECISIONS:
        raise InvalidInput(
            N_("unknown decision"),
            fields=[FieldError("decision", N_("one of: %(items)s", items=", ".join(DECISIONS)))],
        )
    found = session.execute(
        select(MemberFeedbackRow, HashListRow.name, MemberRow.name)
        .join(HashListRow, HashListRow.id == MemberFeedbackRow.list_id)
        .join(MemberRow, MemberRow.id == MemberFeedbackRow.member_id)
        .where(MemberFeedbackRow.id == feedback_id)
        .with_for_update(of=MemberFeedbackRow)
    ).first()
    if found is None:
        raise NotFound(N_("there is no feedback %(feedback_id)s", feedback_id=feedback_id))
    row, list_name, member = found
    if row.state != "open":
        raise Conflict(
            N_(
                "feedback %(feedback_id)s was already decided (%(state)s)",
                feedback_id=feedback_id,
                state=row.state,
            )
        )
    withdrawn = 0
    entry = session.get(HashListEntryRow, row.entry_id)
    assert entry is not None  # a foreign key holds it
    if decision == "uphold" and row.verdict == "false_positive" and entry.withdrawn_at is None:
        withdrawn, _ = actions.withdraw_entries(
            session, actor, list_name, [row.entry_id], WITHDRAWAL_REASON
        )
        session.refresh(entry)
    row.state = "upheld" if decision == "uphold" else "rejected"
    row.decided_at, row.decided_by = utcnow(), actor.username
    session.flush()
    audit.record(
        session,
        actor.username,
        "hash_list.feedback_decided",
        _OBJECT,
        row.entry_id,
        {
            "list": list_name,
            "feedback": row.id,
            "member": member,
            "verdict": row.verdict,
            "decision": decision,
            "withdrawn": withdrawn,
        },
    )
    return _view(row, list_name, member, entry)

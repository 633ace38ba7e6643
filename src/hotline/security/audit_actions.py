"""Reading the audit log as a use case: the staff audit page's view, which is itself audited
(docs/architecture.md, "Actions").

`open_audit_log` checks `audit.view`, appends its own `audit.view` entry, loads a page of the
log and verifies the chain onwards from the last point a walk found intact. It takes the
Database rather than the caller's transaction because each step needs its own: the view entry
commits first (so the page shows it), and the walk reads in a plain read transaction, so
audited writes elsewhere never wait for it (appends lock only the head row). The full walk
against signed checkpoints is `hotline audit verify`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.db.engine import Database
from hotline.errors import N_, Forbidden
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed


@dataclass(frozen=True)
class AuditLog:
    entries: list[audit.AuditEntry]  # newest first
    result: audit.VerifyResult  # of this visit's walk
    older: int | None  # where the next (older) page starts, if there is one


def open_audit_log(
    db: Database, actor: Actor, before: int | None, *, page_size: int, walk_limit: int
) -> AuditLog:
    """The `page_size` entries before seq `before` (the newest without), and a walk of at
    most `walk_limit` rows from the last verified point; an intact walk moves that point on,
    so the next visit goes on from where this one stopped."""
    if not allowed(actor, Action.audit_view):
        raise Forbidden(N_("your role does not allow reading the audit log"))
    with db.write() as session:
        audit.record(session, actor.username, "audit.view", "audit_log", "*", {"before": before})
    with db.read() as session:
        entries = audit.page(session, before, page_size)
        start = audit.last_verified(session)
        result = audit.verify(session, start=start, limit=walk_limit)
    if result.ok and result.rows_checked:
        with db.write() as session:
            audit.mark_verified(session, result.last_seq, result.head_hash)
    older = entries[-1].seq if len(entries) == page_size and entries[-1].seq > 1 else None
    return AuditLog(entries, result, older)

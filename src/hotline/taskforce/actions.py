"""Case-set use cases, written once for the CLI, the pages and jobs (docs/architecture.md,
"Actions"): each checks the permission through `allowed`, validates, writes and audits in the
caller's transaction, and never commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hotline.errors import Forbidden
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed
from hotline.taskforce import store
from hotline.taskforce.model import case_set_name


def _permit(actor: Actor) -> None:
    if not allowed(actor, Action.taskforce_grade):
        raise Forbidden("your role does not allow working taskforce case sets")


def start_import(
    session: Session, actor: Actor, name: str, sources: list[str], *, hash_only: bool
) -> store.CaseSet:
    """The case set NAME, created on its first import (`hash_only` then fixes whether it
    keeps media); audited with the sources given."""
    _permit(actor)
    name = case_set_name(name)
    row = store.find(session, name, lock=True)
    created = row is None
    if row is None:
        row = store.create(session, name, hash_only=hash_only, by=actor.username)
    audit.record(
        session,
        actor.username,
        "taskforce.import_started",
        "case_set",
        row.id,
        {"name": name, "created": created, "hash_only": row.hash_only, "sources": sources},
    )
    return store.get(session, row.id)


def finish_import(
    session: Session, actor: Actor, case_set_id: int, summary: dict[str, Any]
) -> store.CaseSet:
    """Audit what one import run did (per source: imported, resumed, already there, refused)."""
    _permit(actor)
    audit.record(session, actor.username, "taskforce.imported", "case_set", case_set_id, summary)
    return store.get(session, case_set_id)


def list_case_sets(session: Session, actor: Actor) -> list[store.CaseSet]:
    """The case sets with their progress: a view, audited like every view."""
    _permit(actor)
    audit.record(session, actor.username, "taskforce.view", "case_set", "*", {})
    return store.list_case_sets(session)

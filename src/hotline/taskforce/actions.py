"""Case-set use cases, written once for the CLI, the pages and jobs (docs/architecture.md,
"Actions"): each checks the permission through `allowed`, validates, writes and audits in the
caller's transaction, and never commits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from hotline.db.engine import Database
from hotline.errors import N_, Forbidden, NotFound
from hotline.lists import formats
from hotline.lists.formats import VICS_DEFAULT_PROFILE
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed
from hotline.taskforce import export, provenance, store, throughput
from hotline.taskforce.model import case_set_name
from hotline.taskforce.tables import CaseSetRow


def _permit(actor: Actor) -> None:
    if not allowed(actor, Action.taskforce_grade):
        raise Forbidden(N_("your role does not allow working taskforce case sets"))


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


def export_case_set(
    db: Database,
    actor: Actor,
    name: str,
    fmt: str,
    out: Path,
    vics_profile: str = VICS_DEFAULT_PROFILE,
) -> export.ExportResult:
    """Write case set NAME's graded and known items to `out` as VICS JSON or CSV
    (`taskforce.export`). It takes the Database, as `lists.actions.publish` does: the file is
    written from a read transaction (a million rows never hold the writer's lock), then the
    audit entry commits, then the file is moved onto `out`; on any failure `out` is untouched
    and nothing is audited."""
    _permit(actor)
    fmt = export.check_format(fmt)
    vics_profile = formats.vics_profile(vics_profile)
    name = case_set_name(name)
    with db.read() as session:
        row = store.find(session, name)
        if row is None:
            raise NotFound(N_("no case set named %(name)s", name=repr(name)))
        case_set_id = row.id
    with export.atomic_file(out) as partial:
        with db.read() as session:
            result = export.write(session, case_set_id, fmt, partial, vics_profile)
        with db.write() as session:
            audit.record(
                session,
                actor.username,
                "taskforce.exported",
                "case_set",
                case_set_id,
                {
                    "name": name,
                    "format": fmt,
                    **({"vics_profile": vics_profile} if fmt == "vics" else {}),
                    "file": out.name,
                    "written": result.written,
                    "left_out": result.left_out,
                    "sha256": result.sha256,
                },
            )
    return result


@dataclass(frozen=True)
class CaseSetFigures:
    """One case set's page: its import, its sources and known items' origins (provenance),
    its progress, and each grader's figures."""

    case_set: store.CaseSet
    progress: throughput.SetProgress
    graders: list[throughput.GraderFigures]
    sources: list[provenance.Source]
    known: list[provenance.KnownOrigin]


def view_case_set(session: Session, actor: Actor, case_set_id: int) -> CaseSetFigures:
    """One case set's provenance, progress and its graders' throughput and consistency: an
    audited view (`taskforce.view` naming the set)."""
    _permit(actor)
    if session.get(CaseSetRow, case_set_id) is None:
        raise NotFound(N_("no such case set"))
    audit.record(session, actor.username, "taskforce.view", "case_set", case_set_id, {})
    return CaseSetFigures(
        store.get(session, case_set_id),
        throughput.set_progress(session, case_set_id),
        throughput.grader_figures(session, case_set_id),
        provenance.sources(session, case_set_id),
        provenance.known_origins(session, case_set_id),
    )

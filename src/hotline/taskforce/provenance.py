"""Where a case set came from, for its page: each source as imported (kind, name, SHA-256,
size, file count, who and when, its state or why it was refused), and its known items counted
by origin (graded media, or each hash list with the list's own provenance: who it came from,
as the grading item page shows for captured media).

Known items are counted in the database, grouped by origin (`known_from` up to its `#`: one
group a list, one for graded media), so a set of a million items is never loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from hotline.matching.tables import HashListRow
from hotline.taskforce.model import ItemStatus
from hotline.taskforce.tables import CaseItemRow, CaseSourceRow

MEDIA = "media"  # the origin of items known from graded media (`known_from` "media:12")


@dataclass(frozen=True)
class Source:
    kind: str  # SourceKind
    name: str
    sha256: str  # of the archive or manifest; of a folder's listing
    byte_count: int
    members: int  # files or rows it holds
    done: int  # written so far
    state: str  # SourceState
    reason: str | None  # why it was refused
    imported_by: str
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class KnownOrigin:
    """Known items of one origin: graded media, or one hash list (its description and
    `source`, where an imported list came from; None for our own lists)."""

    origin: str  # MEDIA, or "list"
    count: int
    list_name: str | None = None
    description: str = ""
    source: str | None = None


def sources(session: Session, case_set_id: int) -> list[Source]:
    rows = session.execute(
        select(CaseSourceRow)
        .where(CaseSourceRow.case_set_id == case_set_id)
        .order_by(CaseSourceRow.id)
    ).scalars()
    return [
        Source(
            r.kind,
            r.name,
            r.sha256,
            r.byte_count,
            r.members,
            r.done,
            r.state,
            r.reason,
            r.imported_by,
            r.started_at,
            r.finished_at,
        )
        for r in rows
    ]


def known_origins(session: Session, case_set_id: int) -> list[KnownOrigin]:
    """The set's known items counted by origin: graded media first, then each list by name."""
    known_from = CaseItemRow.known_from
    postgres = session.get_bind().dialect.name == "postgresql"
    hash_at = func.strpos(known_from, "#") if postgres else func.instr(known_from, "#")
    # "media:12" -> "media"; "list:NAME#44" -> "NAME" (list names never hold "#").
    origin = case(
        (known_from.like(f"{MEDIA}:%"), literal(f"{MEDIA}:")),
        else_=func.substr(known_from, 1, hash_at - 1),
    ).label("origin")
    counts = session.execute(
        select(origin, func.count())
        .where(CaseItemRow.case_set_id == case_set_id, CaseItemRow.status == ItemStatus.known)
        .group_by(origin)
    ).all()
    by_origin = {str(o): int(n) for o, n in counts if o}
    names = sorted(o.removeprefix("list:") for o in by_origin if o.startswith("list:"))
    lists = {
        row.name: row
        for row in session.execute(select(HashListRow).where(HashListRow.name.in_(names))).scalars()
    }
    out = []
    if f"{MEDIA}:" in by_origin:
        out.append(KnownOrigin(MEDIA, by_origin[f"{MEDIA}:"]))
    for name in names:
        row = lists.get(name)
        out.append(
            KnownOrigin(
                "list",
                by_origin[f"list:{name}"],
                name,
                row.description if row else "",
                row.source if row else None,
            )
        )
    return out

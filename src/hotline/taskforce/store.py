"""Case sets' rows: sets, sources, and items written a batch at a time with bulk statements.

A batch is one transaction: its new items, the copies counted on items already in the set,
its failures, the source's cursor and the set's counts. A batch commits whole or not at all,
so an import killed between batches resumes at the cursor and adds nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import N_, Conflict
from hotline.grading.media_store import MediaStore
from hotline.taskforce import bulk_sql, known_step
from hotline.taskforce.model import ItemStatus, SourceKind, SourceState, failure_key
from hotline.taskforce.tables import CaseItemRow, CaseSetRow, CaseSourceRow

_IN_CHUNK = 500
_ITEMS: Table = CaseItemRow.__table__  # type: ignore[assignment]  # a Table, typed loosely


@dataclass(slots=True)
class NewItem:
    """One file's (or manifest row's) hashes, and its bytes when they are to be sealed."""

    key: str
    member: str
    kind: str
    md5: str | None
    sha1: str | None
    sha256: str | None
    pdq: str | None
    pdq_quality: int | None
    byte_count: int | None
    data: bytes | None = None


@dataclass(frozen=True, slots=True)
class NewFailure:
    index: int
    member: str
    reason: str


@dataclass(slots=True)
class Counts:
    files: int = 0
    items: int = 0
    duplicates: int = 0
    failed: int = 0
    known: int = 0

    def add(self, other: Counts) -> None:
        for name in ("files", "items", "duplicates", "failed", "known"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class CaseSet:
    id: int
    name: str
    hash_only: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    files: int
    items: int
    duplicates: int
    failed: int
    known: int
    sources: int = 0
    sources_done: int = 0
    sources_refused: int = 0
    members: int = 0  # files and rows the sources hold (the progress bar's total)
    reasons: list[str] = field(default_factory=list)

    @property
    def progress(self) -> float:
        """Share of the sources' members written, 0 to 1."""
        return min(1.0, self.files / self.members) if self.members else 0.0


def _case_set(row: CaseSetRow, sources: Sequence[CaseSourceRow] = ()) -> CaseSet:
    return CaseSet(
        row.id,
        row.name,
        row.hash_only,
        row.created_by,
        row.created_at,
        row.updated_at,
        row.files,
        row.items,
        row.duplicates,
        row.failed,
        row.known,
        sources=len(sources),
        sources_done=sum(1 for s in sources if s.state == SourceState.done),
        sources_refused=sum(1 for s in sources if s.state == SourceState.refused),
        members=sum(s.members for s in sources if s.state != SourceState.refused),
        reasons=[f"{s.name}: {s.reason}" for s in sources if s.reason],
    )


def find(session: Session, name: str, *, lock: bool = False) -> CaseSetRow | None:
    query = select(CaseSetRow).where(CaseSetRow.name == name)
    return session.execute(query.with_for_update() if lock else query).scalar_one_or_none()


def create(session: Session, name: str, *, hash_only: bool, by: str) -> CaseSetRow:
    now = utcnow()
    row = CaseSetRow(
        name=name,
        hash_only=hash_only,
        created_by=by,
        created_at=now,
        updated_at=now,
        files=0,
        items=0,
        duplicates=0,
        failed=0,
        known=0,
    )
    session.add(row)
    session.flush()
    return row


def list_case_sets(session: Session) -> list[CaseSet]:
    sets = session.execute(select(CaseSetRow).order_by(CaseSetRow.created_at.desc())).scalars()
    sources: dict[int, list[CaseSourceRow]] = {}
    for source in session.execute(select(CaseSourceRow).order_by(CaseSourceRow.id)).scalars():
        sources.setdefault(source.case_set_id, []).append(source)
    return [_case_set(row, sources.get(row.id, [])) for row in sets]


def get(session: Session, case_set_id: int) -> CaseSet:
    row = session.get(CaseSetRow, case_set_id)
    assert row is not None
    sources = session.execute(
        select(CaseSourceRow).where(CaseSourceRow.case_set_id == case_set_id)
    ).scalars()
    return _case_set(row, list(sources))


def find_source(session: Session, case_set_id: int, sha256: str) -> CaseSourceRow | None:
    return session.execute(
        select(CaseSourceRow).where(
            CaseSourceRow.case_set_id == case_set_id, CaseSourceRow.sha256 == sha256
        )
    ).scalar_one_or_none()


def add_source(
    session: Session,
    case_set_id: int,
    *,
    kind: SourceKind,
    name: str,
    sha256: str,
    byte_count: int,
    members: int,
    by: str,
    refused: str | None = None,
) -> CaseSourceRow:
    row = CaseSourceRow(
        case_set_id=case_set_id,
        kind=kind.value,
        name=name,
        sha256=sha256,
        byte_count=byte_count,
        members=members,
        done=0,
        state=(SourceState.refused if refused else SourceState.importing).value,
        reason=refused,
        imported_by=by,
        started_at=utcnow(),
        finished_at=utcnow() if refused else None,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # (case_set_id, sha256) is unique: another run added it
        raise Conflict(
            N_(
                "%(name)s: another import of this source into the set is running; let it finish",
                name=name,
            )
        ) from exc
    return row


def finish_source(session: Session, source_id: int) -> None:
    session.execute(
        update(CaseSourceRow)
        .where(CaseSourceRow.id == source_id)
        .values(state=SourceState.done.value, finished_at=utcnow())
    )


def _existing(session: Session, case_set_id: int, keys: list[str]) -> set[str]:
    sql = "SELECT key FROM taskforce_items WHERE key IN ({in}) AND case_set_id = {p}"
    return {key for (key,) in bulk_sql.select_in(session, sql, [case_set_id], keys)}


_COLUMNS = (
    "case_set_id",
    "key",
    "source_id",
    "member",
    "kind",
    "md5",
    "sha1",
    "sha256",
    "pdq",
    "pdq_quality",
    "byte_count",
    "copies",
    "stored",
    "status",
    "reason",
    "known_from",
    "known_category",
    "created_at",
)


@dataclass(frozen=True, slots=True)
class KnownAhead:
    """A batch's known-material matches, by item key (keys without a match are absent)."""

    hits: dict[str, known_step.Known]


def _distinct(items: Sequence[NewItem]) -> tuple[dict[str, NewItem], dict[str, int]]:
    """The first item of each key, in order, and how many of the batch share it."""
    first: dict[str, NewItem] = {}
    copies: dict[str, int] = {}
    for item in items:
        first.setdefault(item.key, item)
        copies[item.key] = copies.get(item.key, 0) + 1
    return first, copies


def match_known(session: Session, items: Sequence[NewItem]) -> KnownAhead:
    """The known-material step for a batch ahead of its write (so a pipelined import looks up
    batch k+1 while batch k is written). Items already in the set are looked up too: wasted
    work only on a resumed import's first batch."""
    first = list(_distinct(items)[0].values())
    found = known_step.match(session, first)
    return KnownAhead({item.key: hit for item, hit in zip(first, found, strict=True) if hit})


def write_batch(
    session: Session,
    case_set_id: int,
    source_id: int,
    *,
    items: Sequence[NewItem],
    failures: Sequence[NewFailure],
    done: int,
    media: MediaStore | None,
    known_ahead: KnownAhead | None = None,
) -> Counts:
    """Write one batch and move the source's cursor to `done` (members written so far).
    `known_ahead`: the batch's known-material matches, looked up before (`match_known`)."""
    now = utcnow()
    first, copies = _distinct(items)
    existing = _existing(session, case_set_id, list(first))
    if existing:
        session.execute(
            update(_ITEMS)
            .where(_ITEMS.c.case_set_id == case_set_id, _ITEMS.c.key == bindparam("k"))
            .values(copies=_ITEMS.c.copies + bindparam("n")),
            [{"k": key, "n": copies[key]} for key in sorted(existing)],
            execution_options={"synchronize_session": False},
        )
    new = [item for key, item in first.items() if key not in existing]
    if known_ahead is None:
        known = known_step.match(session, new)
    else:
        known = [known_ahead.hits.get(item.key) for item in new]
    keep = media is not None
    created = bulk_sql.bind_value(session, _ITEMS.c.created_at, now)
    hashed, known_status, failed = (
        ItemStatus.hashed.value,
        ItemStatus.known.value,
        ItemStatus.failed.value,
    )
    rows: list[tuple[Any, ...]] = [
        (
            case_set_id,
            item.key,
            source_id,
            item.member,
            item.kind,
            item.md5,
            item.sha1,
            item.sha256,
            item.pdq,
            item.pdq_quality,
            item.byte_count,
            copies[item.key],
            # Known material is never kept to be shown.
            keep and hit is None and item.data is not None,
            known_status if hit else hashed,
            None,
            hit.source if hit else None,
            hit.category if hit else None,
            created,
        )
        for item, hit in zip(new, known, strict=True)
    ]
    rows += [
        (
            case_set_id,
            failure_key(source_id, failure.index),
            source_id,
            failure.member,
            "file",
            None,
            None,
            None,
            None,
            None,
            None,
            1,
            False,
            failed,
            failure.reason[:1000],
            None,
            None,
            created,
        )
        for failure in failures
    ]
    bulk_sql.insert_many(session, _ITEMS, _COLUMNS, rows)
    if media is not None:
        _seal(
            session,
            case_set_id,
            [item for item, row in zip(new, rows, strict=False) if row[12]],
            media,
        )
    counts = Counts(
        files=len(items) + len(failures),
        items=len(new),
        duplicates=len(items) - len(new),
        failed=len(failures),
        known=sum(1 for hit in known if hit),
    )
    session.execute(update(CaseSourceRow).where(CaseSourceRow.id == source_id).values(done=done))
    session.execute(
        update(CaseSetRow)
        .where(CaseSetRow.id == case_set_id)
        .values(
            files=CaseSetRow.files + counts.files,
            items=CaseSetRow.items + counts.items,
            duplicates=CaseSetRow.duplicates + counts.duplicates,
            failed=CaseSetRow.failed + counts.failed,
            known=CaseSetRow.known + counts.known,
            updated_at=now,
        )
    )
    return counts


def _seal(session: Session, case_set_id: int, kept: Sequence[NewItem], media: MediaStore) -> None:
    """Seal the kept items' bytes under their item ids (before the batch commits: a crash
    after this leaves a file that the re-run's item overwrites or nothing points at)."""
    if not kept:
        return
    sql = "SELECT key, id FROM taskforce_items WHERE key IN ({in}) AND case_set_id = {p}"
    ids = dict(bulk_sql.select_in(session, sql, [case_set_id], [item.key for item in kept]))
    for item in kept:
        assert item.data is not None
        media.put(ids[item.key], item.data)


def items_of(session: Session, case_set_id: int) -> list[CaseItemRow]:
    """Every item of a set, in id order (tests and small sets; pages page through them)."""
    return list(
        session.execute(
            select(CaseItemRow)
            .where(CaseItemRow.case_set_id == case_set_id)
            .order_by(CaseItemRow.id)
        ).scalars()
    )


def count_items(session: Session, case_set_id: int) -> int:
    return session.execute(
        select(func.count()).where(CaseItemRow.case_set_id == case_set_id)
    ).scalar_one()

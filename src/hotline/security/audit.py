"""The append-only, hash-chained audit log.

Each row's hash covers the previous row's hash and the row's own fields, so editing, removing
or re-ordering any row breaks the chain from there on. Appends lock the single `audit_head`
row, so concurrent writers never fork the chain, and sequence numbers have no gaps: a missing
number is a removed row. The database also refuses UPDATE and DELETE on audit_log (triggers).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.security.crypto import sha256_hex
from hotline.security.tables import AuditHeadRow, AuditRow

GENESIS = "0" * 64
SYSTEM = "system"


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any]


def _canonical(detail: dict[str, Any]) -> str:
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _row_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    detail: str,
) -> str:
    # Microsecond precision survives both backends; isoformat of a UTC time is canonical.
    payload = "\x1f".join(
        [prev_hash, str(seq), at.isoformat(), actor, action, object_type, object_id, detail]
    )
    return sha256_hex(payload)


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry still to be appended: what was done, by whom, to what (never content)."""

    actor: str
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any]


# Built once: building these statements costs more than running them.
_HEAD = (
    select(AuditHeadRow.last_seq, AuditHeadRow.last_hash)
    .where(AuditHeadRow.id == 1)
    .with_for_update()
)
_INSERT = insert(AuditRow)
_MOVE_HEAD = (
    update(AuditHeadRow)
    .where(AuditHeadRow.id == 1)
    .values(last_seq=bindparam("new_seq"), last_hash=bindparam("new_hash"))
)


def record_many(conn: Connection, entries: Sequence[NewEntry]) -> list[AuditEntry]:
    """Append `entries`, in order, in the caller's transaction: lock the head, insert every
    row, move the head (three statements however many entries). Each is stamped as appended."""
    if not entries:
        return []
    seq, prev_hash = conn.execute(_HEAD).one()
    rows: list[dict[str, Any]] = []
    appended: list[AuditEntry] = []
    for entry in entries:
        seq += 1
        at = utcnow()
        detail = _canonical(entry.detail)
        object_id = str(entry.object_id)
        row_hash = _row_hash(
            prev_hash, seq, at, entry.actor, entry.action, entry.object_type, object_id, detail
        )
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": entry.actor,
                "action": entry.action,
                "object_type": entry.object_type,
                "object_id": object_id,
                "detail": detail,
                "prev_hash": prev_hash,
                "hash": row_hash,
            }
        )
        appended.append(
            AuditEntry(
                seq, at, entry.actor, entry.action, entry.object_type, object_id, entry.detail
            )
        )
        prev_hash = row_hash
    conn.execute(_INSERT, rows)
    conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev_hash})
    return appended


def record(
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction: the entry exists if and only if the work
    it describes was committed."""
    # The session's pending work goes first, as a query would autoflush it before the lock.
    session.flush()
    entry = NewEntry(actor, action, object_type, str(object_id), detail or {})
    return record_many(session.connection(), [entry])[0]


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows_checked: int
    head_hash: str
    problem: str | None = None
    seq: int | None = None  # the first row found tampered or missing


def _rows(session: Session, batch: int = 5000) -> Iterator[AuditRow]:
    last = 0
    while True:
        chunk = list(
            session.execute(
                select(AuditRow).where(AuditRow.seq > last).order_by(AuditRow.seq).limit(batch)
            ).scalars()
        )
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].seq


def verify(session: Session) -> VerifyResult:
    """Walk the chain from the start; report the first row that is altered or missing."""
    prev_hash = GENESIS
    expected_seq = 1
    checked = 0
    for row in _rows(session):
        if row.seq != expected_seq:
            return VerifyResult(
                False, checked, prev_hash, f"row {expected_seq} is missing", expected_seq
            )
        recomputed = _row_hash(
            prev_hash,
            row.seq,
            row.at,
            row.actor,
            row.action,
            row.object_type,
            row.object_id,
            row.detail,
        )
        if row.prev_hash != prev_hash or row.hash != recomputed:
            return VerifyResult(False, checked, prev_hash, f"row {row.seq} was altered", row.seq)
        prev_hash = row.hash
        expected_seq += 1
        checked += 1
    # populate_existing: this session may hold an older copy of the head.
    head = session.execute(
        select(AuditHeadRow).where(AuditHeadRow.id == 1).execution_options(populate_existing=True)
    ).scalar_one()
    if head.last_seq != checked or head.last_hash != prev_hash:
        missing = checked + 1
        return VerifyResult(
            False,
            checked,
            prev_hash,
            f"row {missing} onwards is missing (head says {head.last_seq} rows)",
            missing,
        )
    return VerifyResult(True, checked, prev_hash)


def recent(session: Session, limit: int = 100) -> list[AuditEntry]:
    rows = session.execute(select(AuditRow).order_by(AuditRow.seq.desc()).limit(limit)).scalars()
    return [_entry(r) for r in rows]


def _entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        row.seq,
        row.at,
        row.actor,
        row.action,
        row.object_type,
        row.object_id,
        json.loads(row.detail),
    )


def entries_for(session: Session, object_type: str, object_id: str) -> Iterable[AuditEntry]:
    rows = session.execute(
        select(AuditRow)
        .where(AuditRow.object_type == object_type, AuditRow.object_id == object_id)
        .order_by(AuditRow.seq)
    ).scalars()
    return [_entry(r) for r in rows]

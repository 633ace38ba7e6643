"""The append-only, hash-chained audit log.

Each row's hash covers the previous row's hash and the row's own fields, so editing, removing
or re-ordering any row breaks the chain from there on. Appends lock the single `audit_head`
row, so concurrent writers never fork the chain, and sequence numbers have no gaps: a missing
number is a removed row. The database also refuses UPDATE and DELETE on audit_log (triggers).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
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
    head = session.execute(
        select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()
    ).scalar_one()
    seq = head.last_seq + 1
    at = utcnow()
    detail_text = _canonical(detail or {})
    row_hash = _row_hash(
        head.last_hash, seq, at, actor, action, object_type, str(object_id), detail_text
    )
    session.add(
        AuditRow(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            detail=detail_text,
            prev_hash=head.last_hash,
            hash=row_hash,
        )
    )
    head.last_seq = seq
    head.last_hash = row_hash
    session.flush()
    return AuditEntry(seq, at, actor, action, object_type, str(object_id), detail or {})


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
    head = session.execute(select(AuditHeadRow).where(AuditHeadRow.id == 1)).scalar_one()
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

"""The append-only, hash-chained audit log.

Each row's hash covers the previous row's hash and the row's own fields, so editing, removing
or re-ordering any row breaks the chain from there on. Since chain version 2 the hash is an
HMAC-SHA256 under a key that is not in the database (security/audit_keys.py), over a canonical
JSON array of the fields: rights on the database alone cannot recompute it, and no field can
be re-split into another. Rows from before that (version 1, unkeyed SHA-256 over fields joined
by \\x1f) are still verified their way; the first keyed row pins them, since its HMAC covers
the last of their hashes.

Appends lock the single `audit_head` row, so concurrent writers never fork the chain, and
sequence numbers have no gaps: a missing number is a removed row. The database refuses UPDATE,
DELETE and (PostgreSQL) TRUNCATE on audit_log. Removing the newest rows and moving the head
back is what the chain alone cannot show: signed checkpoints kept outside the database catch
it (security/audit_anchor.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.security.audit_keys import key_for
from hotline.security.crypto import sha256_hex
from hotline.security.tables import AuditHeadRow, AuditRow, AuditStateRow

GENESIS = "0" * 64
SYSTEM = "system"
LEGACY = 1  # unkeyed SHA-256 over \x1f-joined fields (rows written before revision 0011)
KEYED = 2  # HMAC-SHA256 over a canonical JSON array
# The keyed row revision 0011 appends after legacy rows: without it right after them, legacy
# rows are where the chain was cut and rewritten with the unkeyed scheme.
REKEY_ACTION = "audit.chain_keyed"
_SEPARATOR = "\x1f"


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


def _fields(row: Any) -> tuple[str, int, datetime, str, str, str, str, str]:
    return (
        row.prev_hash,
        row.seq,
        row.at,
        row.actor,
        row.action,
        row.object_type,
        row.object_id,
        row.detail,
    )


def _encode(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    detail: str,
) -> bytes:
    # A JSON array: every field is quoted and escaped, so none can spill into the next.
    # Microsecond precision survives both backends; isoformat of a UTC time is canonical.
    # orjson writes the bytes json.dumps(..., ensure_ascii=False, separators=(",", ":")) does
    # (a test holds them equal), in half the time.
    return orjson.dumps(
        [prev_hash, seq, at.isoformat(), actor, action, object_type, object_id, detail]
    )


def _keyed_hash(mac: hmac.HMAC, *fields: Any) -> str:
    one = mac.copy()  # the key schedule is done once per append, not once per row
    one.update(_encode(*fields))
    return one.hexdigest()


def _legacy_hash(*fields: Any) -> str:
    prev_hash, seq, at, actor, action, object_type, object_id, detail = fields
    payload = _SEPARATOR.join(
        [prev_hash, str(seq), at.isoformat(), actor, action, object_type, object_id, detail]
    )
    return sha256_hex(payload)


def _mac(key: bytes) -> hmac.HMAC:
    return hmac.new(key, digestmod=hashlib.sha256)


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
_TABLE = AuditRow.__table__
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
    mac = _mac(key_for(conn))
    head = conn.execute(_HEAD).one_or_none()
    if head is None:
        raise RuntimeError("the audit_head row is missing: the audit log cannot be appended to")
    seq, prev_hash = head
    rows: list[dict[str, Any]] = []
    appended: list[AuditEntry] = []
    for entry in entries:
        seq += 1
        at = utcnow()
        detail = _canonical(entry.detail)
        object_id = str(entry.object_id)
        row_hash = _keyed_hash(
            mac, prev_hash, seq, at, entry.actor, entry.action, entry.object_type, object_id, detail
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
                "chain_version": KEYED,
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


# -- verifying ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows_checked: int  # rows walked (from the start point, when verifying incrementally)
    head_hash: str  # the hash of the last row found intact
    problem: str | None = None
    seq: int | None = None  # the first row found tampered or missing
    last_seq: int = 0  # the last row found intact
    keyed_from: int | None = None  # the first keyed row's seq (None: none walked)
    hashes_at: dict[int, str] = field(default_factory=dict)  # the hashes asked for by seq
    head_seq: int = 0  # the head when the walk began
    complete: bool = True  # False: stopped at `limit` rows, short of the head


def _rows(session: Session, after: int, until: int, batch: int = 5000) -> Iterator[Any]:
    # Keyset batches up to a head read beforehand: appends go on meanwhile (they lock the head
    # row, which this never locks), and every row up to that head is already committed.
    last = after
    while True:
        # Plain rows, not ORM objects: a long walk keeps nothing in the session.
        chunk = session.execute(
            select(_TABLE)
            .where(_TABLE.c.seq > last, _TABLE.c.seq <= until)
            .order_by(_TABLE.c.seq)
            .limit(batch)
        ).all()
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].seq


def _check_row(row: Any, prev_hash: str, mac: hmac.HMAC, keyed_seen: bool) -> str | None:
    """What is wrong with `row`, or None."""
    if row.chain_version == KEYED:
        expected = _keyed_hash(mac, prev_hash, *_fields(row)[1:])
    elif row.chain_version == LEGACY:
        if keyed_seen:
            return f"row {row.seq} uses the unkeyed legacy scheme after keyed rows"
        if any(_SEPARATOR in f for f in (row.actor, row.action, row.object_type, row.object_id)):
            return (
                f"row {row.seq} holds the field separator \\x1f, which the legacy encoding "
                "cannot tell apart from a field boundary"
            )
        expected = _legacy_hash(prev_hash, *_fields(row)[1:])
    else:
        return f"row {row.seq} has an unknown chain version {row.chain_version}"
    if row.prev_hash != prev_hash or row.hash != expected:
        return f"row {row.seq} was altered"
    return None


def verify(
    session: Session,
    *,
    start: tuple[int, str] | None = None,
    want: Collection[int] = (),
    limit: int | None = None,
) -> VerifyResult:
    """Walk the chain (from the start, or from an already verified (seq, hash)) up to the head
    as it stands when the walk begins; report the first row that is altered or missing.
    `want`: rows whose hashes to report, for checking against checkpoints. `limit`: walk at
    most this many rows (an incomplete, but so far intact, result).

    No lock is taken: the head is read first, and every row up to it was committed with it,
    so rows appended meanwhile (beyond that head) are simply left for the next walk."""
    mac = _mac(key_for(session.connection()))
    # populate_existing: this session may hold an older copy of the head.
    head = session.execute(
        select(AuditHeadRow.last_seq, AuditHeadRow.last_hash)
        .where(AuditHeadRow.id == 1)
        .execution_options(populate_existing=True)
    ).one_or_none()
    prev_hash, last_seq, keyed_from = GENESIS, 0, None
    hashes: dict[int, str] = {}
    checked = 0

    head_seq, head_hash = head if head is not None else (0, GENESIS)

    def broken(problem: str, seq: int | None) -> VerifyResult:
        return VerifyResult(
            False, checked, prev_hash, problem, seq, last_seq, keyed_from, hashes, head_seq
        )

    if head is None:
        return broken("the head row (audit_head) is missing", None)
    if start is not None and start[0] > 0:
        row = session.get(AuditRow, start[0])
        if row is None or row.hash != start[1]:
            return broken(f"row {start[0]} changed since it was verified", start[0])
        prev_hash, last_seq = row.hash, row.seq
        keyed_from = row.seq if row.chain_version == KEYED else None
    legacy_open = start is not None and keyed_from is None and last_seq > 0
    until = head_seq if limit is None else min(head_seq, last_seq + limit)
    for row in _rows(session, last_seq, until=until):
        if row.seq != last_seq + 1:
            return broken(f"row {last_seq + 1} is missing", last_seq + 1)
        problem = _check_row(row, prev_hash, mac, keyed_from is not None)
        if problem is not None:
            return broken(problem, row.seq)
        # Legacy rows must be closed by a keyed row (the re-key row revision 0011 wrote):
        # its HMAC covers them, and only the key's holder could have written it.
        legacy_open = row.chain_version == LEGACY
        if row.chain_version == KEYED and keyed_from is None:
            keyed_from = row.seq
        if row.seq in want:
            hashes[row.seq] = row.hash
        prev_hash, last_seq = row.hash, row.seq
        checked += 1
    if until < head_seq and last_seq == until:
        return VerifyResult(
            True, checked, prev_hash, None, None, last_seq, keyed_from, hashes, head_seq, False
        )
    if legacy_open:
        return broken(
            f"rows up to {last_seq} use the unkeyed legacy scheme and no keyed re-key row "
            "follows them: the chain was cut there or rewritten without the key",
            last_seq + 1,
        )
    if head_seq != last_seq:
        return broken(
            f"row {last_seq + 1} onwards is missing (head says {head_seq} rows)", last_seq + 1
        )
    if head_hash != prev_hash:
        return broken(f"the head row's hash is not row {last_seq}'s: the head was rewritten", None)
    return VerifyResult(
        True, checked, prev_hash, None, None, last_seq, keyed_from, hashes, head_seq
    )


# -- the last verified point (so the staff page walks only what is new) -------------------------


def _verified_tag(key: bytes, seq: int, row_hash: str) -> str:
    mac = _mac(key)
    mac.update(json.dumps(["verified", seq, row_hash]).encode())
    return mac.hexdigest()


def state_row(session: Session, *, lock: bool = False) -> AuditStateRow:
    """The one state row, created on first use (it locks only itself, never the head)."""
    row = session.get(AuditStateRow, 1, with_for_update=lock or None, populate_existing=True)
    if row is None:
        # Two first visits at once: one inserts, the other's insert does nothing.
        on_dialect = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(
            on_dialect(AuditStateRow)
            .values(id=1, verified_seq=0, verified_hash=GENESIS, verified_tag="")
            .on_conflict_do_nothing()
        )
        row = session.get(AuditStateRow, 1, with_for_update=lock or None, populate_existing=True)
        assert row is not None
    return row


def last_verified(session: Session) -> tuple[int, str] | None:
    """The last (seq, hash) a walk found intact, if its tag proves this app wrote it (a row
    planted with database rights alone is ignored, and the walk starts over)."""
    row = session.get(AuditStateRow, 1, populate_existing=True)
    if row is None or row.verified_seq == 0:
        return None
    key = key_for(session.connection())
    tag = _verified_tag(key, row.verified_seq, row.verified_hash)
    if not hmac.compare_digest(row.verified_tag, tag):
        return None
    return row.verified_seq, row.verified_hash


def mark_verified(session: Session, seq: int, row_hash: str) -> None:
    """Move the verified point forward (never back, unless the stored one is not genuine)."""
    key = key_for(session.connection())
    row = state_row(session, lock=True)
    genuine = hmac.compare_digest(
        row.verified_tag, _verified_tag(key, row.verified_seq, row.verified_hash)
    )
    if seq > row.verified_seq or not genuine:
        row.verified_seq, row.verified_hash = seq, row_hash
        row.verified_tag = _verified_tag(key, seq, row_hash)


# -- reading --------------------------------------------------------------------------------


def recent(session: Session, limit: int = 100) -> list[AuditEntry]:
    return page(session, None, limit)


def page(session: Session, before: int | None, limit: int = 100) -> list[AuditEntry]:
    """Newest first, `limit` entries with seq below `before` (keyset: any depth costs the same)."""
    query = select(AuditRow).order_by(AuditRow.seq.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditRow.seq < before)
    return [_entry(r) for r in session.execute(query).scalars()]


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

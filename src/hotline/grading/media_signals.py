"""Plug-in signal types' hashes of media items (the `media_signals` table), and rehashing:
computing a newly adopted signal type over media stored before it was adopted.

Built-in hashes (md5, sha1, sha256, pdq, vpdq) stay in `media_items`' columns; every other
registered signal type is stored here, one row per item and type. Rehashing reads each stored
item's sealed bytes, hashes them outside any transaction, and writes a batch at a time with
"insert unless present", so a run that stops (killed, `limit` reached) loses at most one
batch and the next run continues where the table says it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.grading.media_store import MediaStore, MediaUnavailable
from hotline.grading.tables import MediaItemRow, MediaSignalRow
from hotline.hashing.signals import SignalType
from hotline.security import audit


def record(
    session: Session, media_id: int, signals: Mapping[str, str], at: datetime | None = None
) -> int:
    """Store `signals` (name -> validated value) of one item, keeping any already there;
    returns how many rows were new."""
    return record_many(session, [(media_id, signals)], at)


def record_many(
    session: Session,
    items: Sequence[tuple[int, Mapping[str, str]]],
    at: datetime | None = None,
) -> int:
    """`record` for several items in one statement; returns how many rows were new."""
    when = at or utcnow()
    rows: list[dict[str, object]] = [
        {"media_id": media_id, "signal_type": name, "value": value, "computed_at": when}
        for media_id, signals in items
        for name, value in sorted(signals.items())
    ]
    return _insert_missing(session, rows)


def _insert_missing(session: Session, rows: list[dict[str, object]]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING on the primary key: idempotent, and safe when two
    rehash runs meet on PostgreSQL."""
    if not rows:
        return 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = MediaSignalRow.__table__
    statement = dialect.insert(table).on_conflict_do_nothing().returning(table.c.media_id)
    # RETURNING gives back the rows actually inserted, on both backends and for many rows.
    return len(session.connection().execute(statement, rows).all())


def signals_of(session: Session, media_id: int) -> dict[str, str]:
    rows = session.execute(
        select(MediaSignalRow.signal_type, MediaSignalRow.value).where(
            MediaSignalRow.media_id == media_id
        )
    ).all()
    return {name: value for name, value in rows}


def _lacking(signal: type[SignalType]) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Items of a kind the signal applies to, without its row."""
    has = exists().where(
        MediaSignalRow.media_id == MediaItemRow.id, MediaSignalRow.signal_type == signal.name
    )
    return (~has, MediaItemRow.kind.in_(sorted(signal.applies_to)))


@dataclass(frozen=True)
class Backlog:
    """Items of the kinds `signal` applies to that lack its hash."""

    stored: int  # their bytes are kept: rehash can compute it
    hash_only: int  # no bytes (hash-only mode, known match, purged): it never can


def backlog(session: Session, signal: type[SignalType]) -> Backlog:
    lacking = _lacking(signal)
    counts = dict(
        session.execute(
            select(MediaItemRow.stored, func.count()).where(*lacking).group_by(MediaItemRow.stored)
        ).all()
    )
    return Backlog(int(counts.get(True, 0)), int(counts.get(False, 0)))


def _next_batch(
    session: Session, signal: type[SignalType], after: int, size: int
) -> list[tuple[int, str]]:
    rows = session.execute(
        select(MediaItemRow.id, MediaItemRow.kind)
        .where(MediaItemRow.id > after, MediaItemRow.stored.is_(True), *_lacking(signal))
        .order_by(MediaItemRow.id)
        .limit(size)
    ).all()
    return [(media_id, kind) for media_id, kind in rows]


@dataclass
class RehashResult:
    signal: str
    computed: int = 0  # rows written by this run
    failed: int = 0  # stored items that could not be read or hashed (retried next run)
    hash_only: int = 0  # items lacking the signal with no bytes kept: skipped
    remaining: int = 0  # stored items still lacking it when the run ended

    def to_json(self) -> dict[str, object]:
        return {
            "signal": self.signal,
            "computed": self.computed,
            "failed": self.failed,
            "hash_only": self.hash_only,
            "remaining": self.remaining,
        }


def rehash(
    db: Database,
    store: MediaStore,
    signal: type[SignalType],
    *,
    actor: str,
    batch: int = 100,
    limit: int | None = None,
    started: Callable[[int], None] | None = None,
    advanced: Callable[[int], None] | None = None,
) -> RehashResult:
    """Compute `signal` for stored media lacking it, `batch` items a transaction, at most
    `limit` items this run. `started(total)` and `advanced(n)` drive a progress bar. One
    audit entry records the run's counts."""
    result = RehashResult(signal.name)
    with db.read() as session:
        before = backlog(session, signal)
    result.hash_only = before.hash_only
    total = before.stored if limit is None else min(before.stored, limit)
    if started is not None:
        started(total)
    after, seen = 0, 0
    while limit is None or seen < limit:
        size = batch if limit is None else min(batch, limit - seen)
        with db.read() as session:
            todo = _next_batch(session, signal, after, size)
        if not todo:
            break
        rows: list[dict[str, object]] = []
        for media_id, kind in todo:
            try:
                value = signal.validate(signal.hash_media(store.get(media_id), kind))
            except MediaUnavailable:
                result.failed += 1
            except Exception:  # a plug-in's failure on one item never stops the run
                result.failed += 1
            else:
                rows.append(
                    {
                        "media_id": media_id,
                        "signal_type": signal.name,
                        "value": value,
                        "computed_at": utcnow(),
                    }
                )
        with db.write() as session:
            result.computed += _insert_missing(session, rows)
        after, seen = todo[-1][0], seen + len(todo)
        if advanced is not None:
            advanced(len(todo))
    with db.write() as session:
        result.remaining = backlog(session, signal).stored
        audit.record(session, actor, "media.rehashed", "media", "*", result.to_json())
    return result

"""Exchange feeds' rows ⇄ domain objects, and storing a fetched page.

`store_pages` is the heart: in the caller's transaction it locks the feed, checks that the
checkpoint is still the one the fetch started from (`checkpoint_seq`), writes the page's
entries as one new version of the list (additions, and withdrawals for tombstones and
replaced records), the provenance rows, and the checkpoint after the page. A fetch killed
before the commit leaves the checkpoint where it was, so the page is fetched again and
nothing is stored twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import N_, Conflict, NotFound
from hotline.lists.feed_model import FeedSettings, FeedStatus
from hotline.lists.feed_tables import ExchangeFeedRecordRow, ExchangeFeedRow
from hotline.matching import store as matching_store
from hotline.matching.model import NewEntry
from hotline.matching.tables import HashListEntryRow, HashListRow

_ENTRIES = cast(Table, HashListEntryRow.__table__)
_RECORDS = cast(Table, ExchangeFeedRecordRow.__table__)
_IN_CHUNK = 500  # keys per IN (...) query: well under both databases' parameter limits
WITHDRAWN_REASON = "withdrawn by the exchange"
REPLACED_REASON = "replaced by the exchange's newer record"


@dataclass(frozen=True, slots=True)
class FeedRef:
    """What a fetch needs to know of its feed."""

    id: int
    name: str
    api: str
    list_name: str
    category: str
    settings: FeedSettings
    checkpoint: str | None
    checkpoint_seq: int
    interval_s: int


@dataclass(frozen=True, slots=True)
class Stored:
    added: int
    withdrawn: int
    unchanged: int
    skipped: int


def create_feed(
    session: Session,
    name: str,
    api: str,
    list_name: str,
    category: str,
    settings: FeedSettings,
    interval_s: int,
) -> FeedRef:
    if session.execute(select(ExchangeFeedRow.id).where(ExchangeFeedRow.name == name)).first():
        raise Conflict(N_("a feed called '%(name)s' already exists", name=name))
    listed = matching_store.get_list(session, list_name)
    if listed.kind != "hash":
        raise Conflict(
            N_(
                "'%(list_name)s' is a %(kind)s list; a feed fills a hash list",
                list_name=list_name,
                kind=listed.kind,
            )
        )
    now = utcnow()
    row = ExchangeFeedRow(
        name=name,
        api=api,
        list_id=listed.id,
        category=category,
        settings=settings.to_json(),
        enabled=True,
        interval_s=interval_s,
        next_fetch_at=now,
        checkpoint=None,
        checkpoint_seq=0,
        last_status="never",
        records_total=0,
        added_total=0,
        withdrawn_total=0,
        skipped_total=0,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _ref(row, list_name)


def _row(session: Session, name: str, *, lock: bool = False) -> ExchangeFeedRow:
    query = select(ExchangeFeedRow).where(ExchangeFeedRow.name == name)
    row = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None:
        raise NotFound(N_("there is no feed called '%(name)s'", name=name))
    return row


def _list_name(session: Session, list_id: int) -> str:
    return session.execute(select(HashListRow.name).where(HashListRow.id == list_id)).scalar_one()


def _ref(row: ExchangeFeedRow, list_name: str) -> FeedRef:
    return FeedRef(
        row.id,
        row.name,
        row.api,
        list_name,
        row.category,
        FeedSettings.from_json(row.settings),
        row.checkpoint,
        row.checkpoint_seq,
        row.interval_s,
    )


def get_feed(session: Session, name: str) -> FeedRef:
    row = _row(session, name)
    return _ref(row, _list_name(session, row.list_id))


def set_enabled(session: Session, name: str, enabled: bool) -> FeedRef:
    row = _row(session, name, lock=True)
    row.enabled = enabled
    if enabled and row.next_fetch_at is None:
        row.next_fetch_at = utcnow()
    session.flush()
    return _ref(row, _list_name(session, row.list_id))


def fetch_now(session: Session, name: str) -> bool:
    """Make an enabled feed due now (the next schedule tick fetches it); False, and nothing
    changed, for a disabled one."""
    row = _row(session, name, lock=True)
    if row.enabled:
        row.next_fetch_at = utcnow()
        session.flush()
    return bool(row.enabled)


def set_checkpoint(session: Session, name: str, checkpoint: str | None) -> FeedRef:
    """Replace the checkpoint (None: fetch everything again); moves the sequence on so a
    fetch that started from the old one stores nothing more."""
    row = _row(session, name, lock=True)
    row.checkpoint = checkpoint
    row.checkpoint_seq += 1
    row.checkpoint_at = utcnow()
    session.flush()
    return _ref(row, _list_name(session, row.list_id))


def statuses(
    session: Session, progress_of: dict[str, int | None] | None = None
) -> list[FeedStatus]:
    rows = session.execute(
        select(ExchangeFeedRow, HashListRow.name)
        .join(HashListRow, HashListRow.id == ExchangeFeedRow.list_id)
        .order_by(ExchangeFeedRow.name)
    ).all()
    live = dict(
        session.execute(
            select(ExchangeFeedRecordRow.feed_id, func.count()).group_by(
                ExchangeFeedRecordRow.feed_id
            )
        ).all()
    )
    return [
        FeedStatus(
            name=row.name,
            api=row.api,
            list_name=list_name,
            category=row.category,
            enabled=row.enabled,
            interval_s=row.interval_s,
            next_fetch_at=row.next_fetch_at,
            checkpoint_at=row.checkpoint_at,
            progress=_progress(row.checkpoint),
            last_started_at=row.last_started_at,
            last_finished_at=row.last_finished_at,
            last_status=row.last_status,
            last_error=row.last_error,
            records_total=row.records_total,
            added_total=row.added_total,
            withdrawn_total=row.withdrawn_total,
            skipped_total=row.skipped_total,
            live_entries=int(live.get(row.id, 0)),
        )
        for row, list_name in rows
    ]


def _progress(checkpoint: str | None) -> int | None:
    """The time a stored checkpoint has reached, read from its JSON without threatexchange
    (NCMEC: get_entries_max_ts; StopNCII and ThreatExchange: update_time)."""
    if not checkpoint:
        return None
    try:
        raw = json.loads(checkpoint)
    except ValueError:
        return None
    for key in ("get_entries_max_ts", "update_time"):
        value = raw.get(key) if isinstance(raw, dict) else None
        if isinstance(value, int):
            return value
    return None


def due(session: Session, now: datetime) -> list[str]:
    return list(
        session.execute(
            select(ExchangeFeedRow.name)
            .where(ExchangeFeedRow.enabled.is_(True), ExchangeFeedRow.next_fetch_at <= now)
            .order_by(ExchangeFeedRow.next_fetch_at)
        ).scalars()
    )


def mark_started(session: Session, name: str) -> FeedRef:
    row = _row(session, name, lock=True)
    row.last_started_at = utcnow()
    session.flush()
    return _ref(row, _list_name(session, row.list_id))


def mark_finished(
    session: Session, feed_id: int, error: str | None, retry_at: datetime | None
) -> None:
    row = session.get(ExchangeFeedRow, feed_id, with_for_update=True)
    if row is None:
        raise NotFound(N_("the feed is gone"))
    now = utcnow()
    row.last_finished_at = now
    row.last_status = "error" if error else "ok"
    row.last_error = error
    row.next_fetch_at = retry_at or now + timedelta(seconds=row.interval_s)
    session.flush()


def _existing(
    session: Session, feed_id: int, keys: Sequence[str]
) -> dict[str, tuple[int, tuple[object, ...]]]:
    """Live provenance rows of these keys: key -> (entry id, (category, md5, sha1, pdq))."""
    found: dict[str, tuple[int, tuple[object, ...]]] = {}
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = keys[start : start + _IN_CHUNK]
        rows = session.execute(
            select(
                ExchangeFeedRecordRow.record_key,
                HashListEntryRow.id,
                HashListEntryRow.category,
                HashListEntryRow.md5,
                HashListEntryRow.sha1,
                HashListEntryRow.pdq,
            )
            .join(HashListEntryRow, HashListEntryRow.id == ExchangeFeedRecordRow.entry_id)
            .where(
                ExchangeFeedRecordRow.feed_id == feed_id,
                ExchangeFeedRecordRow.record_key.in_(chunk),
            )
        )
        for key, entry_id, *hashes in rows:
            found[key] = (entry_id, tuple(hashes))
    return found


def refresh_planner_statistics(session: Session) -> None:
    """Let PostgreSQL re-read the sizes of the tables a fetch writes.

    During a first fetch the provenance and entry tables grow from nothing far faster than
    autovacuum re-analyses them; planned from the stale figures, the provenance lookup in
    `store_pages` scans every record of the feed for each chunk of keys, which makes a
    million-entry fetch quadratic (756 s instead of about 90 s, see docs/benchmarks.md).
    SQLite needs nothing: its planner uses the primary key for `record_key IN (...)`."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE exchange_feed_records, hash_list_entries"))


def _shape(entry: NewEntry) -> tuple[object, ...]:
    return (entry.category, entry.md5, entry.sha1, entry.pdq)


def store_pages(
    session: Session,
    feed: FeedRef,
    expected_seq: int,
    changes: Iterable[tuple[str, NewEntry | None]],
    checkpoint: str | None,
    *,
    records: int,
    skipped: int,
    snapshot: bool = False,
) -> Stored:
    """Store fetched records and the checkpoint after them, as one version of the list.

    `changes` in the order fetched (a later record of a key replaces an earlier one).
    `snapshot`: the records are the exchange's whole state (the file exchange), so the
    feed's entries whose record is not among them are withdrawn too. Conflict if another
    fetch moved the checkpoint since this one started."""
    row = session.get(ExchangeFeedRow, feed.id, with_for_update=True)
    if row is None:
        raise NotFound(N_("there is no feed called '%(name)s'", name=feed.name))
    if row.checkpoint_seq != expected_seq:
        raise Conflict(
            N_("another fetch of '%(name)s' stored pages meanwhile; this one stops", name=feed.name)
        )
    latest: dict[str, NewEntry | None] = {}
    for key, entry in changes:
        latest.pop(key, None)  # keep the order of the last occurrence
        latest[key] = entry
    existing = _existing(session, feed.id, list(latest))
    if snapshot:
        everything = session.execute(
            select(ExchangeFeedRecordRow.record_key).where(ExchangeFeedRecordRow.feed_id == feed.id)
        ).scalars()
        for key in everything:
            if key not in latest:
                latest[key] = None
        existing = _existing(session, feed.id, list(latest))
    to_add: list[tuple[str, NewEntry]] = []
    to_withdraw: dict[int, str] = {}
    gone_keys: list[str] = []
    unchanged = unknown_tombstones = 0
    for key, entry in latest.items():
        before = existing.get(key)
        if entry is None:
            if before is None:
                unknown_tombstones += 1  # a withdrawal of a record we never took: nothing to do
                continue
            to_withdraw[before[0]] = WITHDRAWN_REASON
            gone_keys.append(key)
        elif before is not None and before[1] == _shape(entry):
            unchanged += 1
        else:
            if before is not None:
                to_withdraw[before[0]] = REPLACED_REASON
                gone_keys.append(key)
            to_add.append((key, entry))
    if to_add or to_withdraw:
        _write(session, feed, to_add, to_withdraw, gone_keys)
    row.checkpoint = checkpoint
    row.checkpoint_seq += 1
    row.checkpoint_at = utcnow()
    withdrawn = sum(1 for reason in to_withdraw.values() if reason == WITHDRAWN_REASON)
    row.records_total += records
    row.added_total += len(to_add)
    row.withdrawn_total += withdrawn
    row.skipped_total += skipped + unknown_tombstones
    session.flush()
    return Stored(len(to_add), withdrawn, unchanged, skipped + unknown_tombstones)


def _write(
    session: Session,
    feed: FeedRef,
    to_add: Sequence[tuple[str, NewEntry]],
    to_withdraw: dict[int, str],
    gone_keys: Sequence[str],
) -> None:
    """One new version of the list: withdrawals, then additions with their provenance."""
    listed = matching_store.bump_version(session, feed.list_name)
    now = utcnow()
    for reason in (WITHDRAWN_REASON, REPLACED_REASON):
        ids = [entry_id for entry_id, why in to_withdraw.items() if why == reason]
        for start in range(0, len(ids), _IN_CHUNK):
            session.execute(
                update(HashListEntryRow)
                .where(
                    HashListEntryRow.list_id == listed.id,
                    HashListEntryRow.id.in_(ids[start : start + _IN_CHUNK]),
                    HashListEntryRow.withdrawn_at.is_(None),
                )
                .values(
                    withdrawn_at=now,
                    changed_in=listed.version,
                    withdrawn_in=listed.version,
                    withdrawn_reason=reason,
                )
            )
    for start in range(0, len(gone_keys), _IN_CHUNK):
        session.execute(
            delete(ExchangeFeedRecordRow).where(
                ExchangeFeedRecordRow.feed_id == feed.id,
                ExchangeFeedRecordRow.record_key.in_(gone_keys[start : start + _IN_CHUNK]),
            )
        )
    if not to_add:
        return
    values = [
        {
            "list_id": listed.id,
            "md5": entry.md5,
            "sha1": entry.sha1,
            "sha256": entry.sha256,
            "pdq": entry.pdq,
            "pdq_quality": entry.pdq_quality,
            "category": entry.category,
            "added_at": now,
            "changed_in": listed.version,
            "added_in": listed.version,
            "source": entry.source,
        }
        for _, entry in to_add
    ]
    # One executemany on the table, not INSERT … RETURNING (which SQLite runs a row at a
    # time when the order of the ids matters): a first fetch writes millions. The new ids
    # are then read back by provenance: each of this version's rows has its record's own
    # `source`, and the list's row lock keeps any other writer out of this version.
    session.execute(insert(_ENTRIES), values)
    by_source = {entry.source: key for key, entry in to_add}
    rows = session.execute(
        select(HashListEntryRow.id, HashListEntryRow.source).where(
            HashListEntryRow.list_id == listed.id,
            HashListEntryRow.changed_in == listed.version,
            HashListEntryRow.added_in == listed.version,  # not an entry this version replaced
        )
    )
    records = [
        {"feed_id": feed.id, "record_key": by_source[source], "entry_id": entry_id}
        for entry_id, source in rows
        if source in by_source
    ]
    if len(records) != len(to_add):
        raise Conflict(N_("the new entries could not be read back; nothing was stored"))
    session.execute(insert(_RECORDS), records)

"""The storage edge for releases: a list's entries as they stood at a version, the delta
between two versions, and the release records. Rows in, domain objects out.

An entry is live at version V when `added_in <= V` and it was not withdrawn by then
(`withdrawn_in` is empty or later than V). Because that history is kept, any release can be
rebuilt and a delta from any earlier version computed, however the list moved on since.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import String, and_, or_, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from hotline.errors import FieldError, InvalidInput, NotFound
from hotline.lists.model import ListConfig, ReleaseEntry, Withdrawal
from hotline.lists.tables import ListReleaseRow
from hotline.matching.tables import HashListEntryRow, HashListRow

_BATCH = 20_000
_SINCE = FieldError("since", "a version this list was released at, or 0")

_COLUMNS = (
    HashListEntryRow.id,
    HashListEntryRow.category,
    # Raw, without the UTC type's per-row processing: `_iso` converts each distinct value once.
    type_coerce(HashListEntryRow.added_at, String),
    HashListEntryRow.md5,
    HashListEntryRow.sha1,
    HashListEntryRow.sha256,
    HashListEntryRow.pdq,
    HashListEntryRow.pdq_quality,
    HashListEntryRow.shared,
    HashListEntryRow.value,
    HashListEntryRow.note,
)


@lru_cache(maxsize=4096)
def _shared(text: str | None) -> dict[str, Any]:
    # Few distinct combinations of shared fields exist; parse each once. Read-only after.
    return orjson.loads(text) if text else {}


@lru_cache(maxsize=4096)
def _iso(raw: str | datetime) -> str:
    # Entries added in one batch share a timestamp. SQLite gives naive UTC text, PostgreSQL
    # an aware datetime.
    at = raw if isinstance(raw, datetime) else datetime.fromisoformat(raw)
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _entry(row: Sequence[Any], kind: str) -> ReleaseEntry:
    # Positional: this runs once per entry of a release, millions of times.
    shared = _shared(row[8])
    value = row[9]
    return ReleaseEntry(
        row[0],
        row[1],
        _iso(row[2]),
        row[3],
        row[4],
        row[5],
        row[6],
        row[7],
        shared.get("jurisdictions", _EMPTY),
        shared.get("metadata", _EMPTY),
        value if kind == "url" else None,
        value if kind == "keyword" else None,
        row[10],
    )


_EMPTY: dict[str, Any] = {}


def _live_at(version: int) -> ColumnElement[bool]:
    return and_(
        HashListEntryRow.added_in <= version,
        or_(HashListEntryRow.withdrawn_in.is_(None), HashListEntryRow.withdrawn_in > version),
    )


def _batched(
    session: Session, columns: Sequence[object], where: ColumnElement[bool]
) -> Iterator[Sequence[Any]]:
    """Rows by id from one query, streamed in batches (a server-side cursor on PostgreSQL).
    One query, not keyset pages: with the (list_id, changed_in) index each page would be a
    fresh scan and sort of the whole list, quadratic at millions of entries. Core rows on the
    session's connection: no ORM loading."""
    result = session.connection().execute(
        select(*columns)  # type: ignore[call-overload]
        .where(where)
        .order_by(HashListEntryRow.id)
        # On the statement, not the connection: a connection's options outlive the query.
        .execution_options(stream_results=True, yield_per=_BATCH)
    )
    for batch in result.partitions():
        yield from batch


def entries_at(
    session: Session, list_id: int, version: int, kind: str = "hash"
) -> Iterator[ReleaseEntry]:
    """Every entry live at `version`, by id."""
    where = and_(HashListEntryRow.list_id == list_id, _live_at(version))
    for row in _batched(session, _COLUMNS, where):
        yield _entry(row, kind)


def additions(
    session: Session, list_id: int, since: int, version: int, kind: str = "hash"
) -> Iterator[ReleaseEntry]:
    """Entries added after `since` and still live at `version`."""
    where = and_(
        HashListEntryRow.list_id == list_id,
        HashListEntryRow.added_in > since,
        _live_at(version),
    )
    for row in _batched(session, _COLUMNS, where):
        yield _entry(row, kind)


def withdrawals(session: Session, list_id: int, since: int, version: int) -> Iterator[Withdrawal]:
    """Entries live at `since` and withdrawn by `version` (ones added and withdrawn in
    between were never seen by a copy at `since`, so they are in neither half)."""
    where = and_(
        HashListEntryRow.list_id == list_id,
        HashListEntryRow.added_in <= since,
        HashListEntryRow.withdrawn_in > since,
        HashListEntryRow.withdrawn_in <= version,
    )
    columns = (
        HashListEntryRow.id,
        HashListEntryRow.withdrawn_at,
        HashListEntryRow.withdrawn_reason,
    )
    for row in _batched(session, columns, where):
        yield Withdrawal(row[0], row[1], row[2] or "")


# -- list settings -----------------------------------------------------------------------------


def _list_row(session: Session, name: str, *, lock: bool = False) -> HashListRow:
    query = select(HashListRow).where(HashListRow.name == name)
    row = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None:
        raise NotFound(f"there is no list called {name!r}")
    return row


def get_config(session: Session, name: str) -> ListConfig:
    return ListConfig.loads(_list_row(session, name).config)


def set_config(session: Session, name: str, config: ListConfig) -> None:
    _list_row(session, name, lock=True).config = config.to_json()


def set_source(session: Session, name: str, source: str) -> None:
    _list_row(session, name, lock=True).source = source


# -- releases ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Release:
    list: str
    version: int
    created_at: datetime
    entries: int
    previous_version: int | None
    key_id: str
    manifest_sha256: str

    def to_json(self) -> dict[str, object]:
        return {
            "list": self.list,
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "entries": self.entries,
            "previous_version": self.previous_version,
            "key_id": self.key_id,
            "manifest_sha256": self.manifest_sha256,
        }


def _release(row: ListReleaseRow, name: str) -> Release:
    return Release(
        name,
        row.version,
        row.created_at,
        row.entries,
        row.previous_version,
        row.key_id,
        row.manifest_sha256,
    )


def add_release(session: Session, list_id: int, name: str, release: Release) -> None:
    session.add(
        ListReleaseRow(
            list_id=list_id,
            version=release.version,
            created_at=release.created_at,
            entries=release.entries,
            previous_version=release.previous_version,
            key_id=release.key_id,
            manifest_sha256=release.manifest_sha256,
        )
    )
    session.flush()


def releases(session: Session, name: str) -> list[Release]:
    """A list's releases, newest first."""
    row = _list_row(session, name)
    rows = session.execute(
        select(ListReleaseRow)
        .where(ListReleaseRow.list_id == row.id)
        .order_by(ListReleaseRow.version.desc())
    ).scalars()
    return [_release(r, name) for r in rows]


def latest_release(session: Session, name: str) -> Release | None:
    found = releases(session, name)
    return found[0] if found else None


def get_release(session: Session, name: str, version: int) -> Release:
    row = _list_row(session, name)
    found = session.execute(
        select(ListReleaseRow).where(
            ListReleaseRow.list_id == row.id, ListReleaseRow.version == version
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"list {name!r} has no release {version}")
    return _release(found, name)


def check_since(session: Session, name: str, since: int) -> Release:
    """The latest release, if a delta from `since` to it can be given: `since` must be 0 (an
    empty copy) or an earlier release's version; a future or unknown version is refused."""
    latest = latest_release(session, name)
    if latest is None:
        raise NotFound(f"list {name!r} has no release yet")
    if since < 0 or since > latest.version:
        raise InvalidInput(
            f"version {since} is not a release of {name!r}; the latest is {latest.version}",
            fields=[_SINCE],
        )
    if since != 0 and since != latest.version:
        get_release_or_invalid(session, name, since)
    return latest


def get_release_or_invalid(session: Session, name: str, version: int) -> Release:
    try:
        return get_release(session, name, version)
    except NotFound as exc:
        raise InvalidInput(exc.message, fields=[_SINCE]) from exc

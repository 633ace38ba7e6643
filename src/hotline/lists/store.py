"""The storage edge for releases: a list's entries as they stood at a version, the delta
between two versions, and the release records. Rows in, domain objects out.

An entry is live at version V when `added_in <= V` and it was not withdrawn by then
(`withdrawn_in` is empty or later than V). Because that history is kept, any release can be
rebuilt and a delta from any earlier version computed, however the list moved on since.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any

import orjson
from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from hotline.errors import N_, FieldError, InvalidInput, NotFound
from hotline.lists.formats import RowShape
from hotline.lists.model import ListConfig, ReleaseEntry, Withdrawal
from hotline.lists.tables import ListReleaseRow
from hotline.matching import store as match_store
from hotline.matching.model import NO_SIGNALS, vpdq_of
from hotline.matching.tables import HashListEntryRow, HashListEntrySignalRow, HashListRow

_BATCH = 20_000
# Rows a release writer takes at a time. Small, so that each batch's row tuples are freed
# before the garbage collector promotes them to its oldest generation: with 20,000 a batch,
# full collections took 4 s of CPU at 2 million entries, with 2,000 about 1 s.
_RAW_BATCH = 2_000
Rows = Sequence[Sequence[Any]]  # a batch of rows as the driver gives them
_SINCE = FieldError("since", N_("a version this list was released at, or 0"))

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


def _null_bit(column: Any, bit: int) -> ColumnElement[int]:
    return case((column.is_(None), bit), else_=0)


_SIGNALS = HashListEntrySignalRow


def _signal_column(name: str) -> Any:
    """One plug-in signal type's value for each row (NULL where the entry has none): a
    correlated look-up of the (entry_id, signal_type) primary key."""
    return (
        select(_SIGNALS.value)
        .where(_SIGNALS.entry_id == HashListEntryRow.id, _SIGNALS.signal_type == name)
        .scalar_subquery()
    )


def _shape_key(signals: Sequence[Any]) -> ColumnElement[int]:
    """Appended to `_COLUMNS` for the release writers (`formats.RowEncoder`): which of the
    columns written as they are hold nothing (the built-in hashes, then each plug-in signal
    type's column), one bit each, so that rows alike in that share one template; -1 for a
    row that carries a vPDQ, URL, term or note (written the reference way)."""
    columns = [
        HashListEntryRow.md5,
        HashListEntryRow.sha1,
        HashListEntryRow.sha256,
        HashListEntryRow.pdq,
        HashListEntryRow.pdq_quality,
        *signals,
    ]
    bits: Any = sum((_null_bit(c, 1 << i) for i, c in enumerate(columns)), start=literal(0))
    return case(
        (or_(HashListEntryRow.value.is_not(None), HashListEntryRow.note.is_not(None)), -1),
        else_=type_coerce(bits, Integer),
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


def _entry(row: Sequence[Any], kind: str, signals: Sequence[str] = ()) -> ReleaseEntry:
    # Positional: this runs once per entry of a release, millions of times. `signals`: the
    # plug-in signal types whose columns follow the shape key, in that order.
    shared = _shared(row[8])
    value = row[9]  # a video's vPDQ on a hash list; the URL or term on the others
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
        vpdq_of(value) if kind == "hash" else (),
        _signals(row, signals) if signals else NO_SIGNALS,
    )


_FIRST_SIGNAL = len(_COLUMNS) + 1  # after the shape key


def _signals(row: Sequence[Any], names: Sequence[str]) -> Mapping[str, str]:
    found = {
        name: value
        for name, value in zip(names, row[_FIRST_SIGNAL:], strict=False)
        if value is not None
    }
    return found or NO_SIGNALS


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


def _raw_batches(session: Session, query: Select[Any]) -> Iterator[Rows]:
    """The rows of `query` as the driver gives them (plain tuples, no result processing),
    in batches, on the session's connection and in its transaction; a server-side cursor on
    PostgreSQL. For the release writers, which take millions of rows: SQLAlchemy's row
    objects and per-row processing cost about as much as writing the files. Only for
    columns that need no result processing (see `_COLUMNS`)."""
    connection = session.connection()
    compiled = query.compile(dialect=connection.dialect)
    params: Any = compiled.params
    if compiled.positional:
        params = [params[name] for name in compiled.positiontup or ()]
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    if connection.dialect.name == "postgresql":
        cursor = dbapi.cursor(name=f"hotline_release_{secrets.token_hex(6)}")
    else:
        cursor = dbapi.cursor()
    try:
        cursor.execute(str(compiled), params)
        while rows := cursor.fetchmany(_RAW_BATCH):
            yield rows
    finally:
        cursor.close()


def _release_rows(
    session: Session, where: ColumnElement[bool], signals: Sequence[str]
) -> Iterator[Rows]:
    """`_COLUMNS`, the shape key, then a column per plug-in signal type in `signals`."""
    columns = [_signal_column(name) for name in signals]
    query: Select[Any] = select(*_COLUMNS, _shape_key(columns), *columns)  # type: ignore[assignment]
    return _raw_batches(session, query.where(where).order_by(HashListEntryRow.id))


def _in_list(session: Session, list_id: int, size: int | None) -> ColumnElement[bool]:
    """The rows of a list of about `size` entries. On SQLite, when the list holds a good
    share of the table, as `list_id + 0`: no index can serve that, so SQLite reads the table
    in id order, where through an index on list_id it would look every row up and then sort
    them all (at 2 million entries, 3.4 s of CPU against 7.6 s)."""
    if size is not None and session.connection().dialect.name == "sqlite":
        last = session.execute(select(func.max(HashListEntryRow.id))).scalar_one()
        if last is not None and size * 8 >= last:
            return (HashListEntryRow.list_id + 0) == list_id
    return HashListEntryRow.list_id == list_id


def row_shape(kind: str, signals: Sequence[str] = ()) -> RowShape:
    """How `formats.RowEncoder` reads the rows of `entry_rows_at` and `addition_rows` (given
    the same `signals`)."""
    extra = range(_FIRST_SIGNAL, _FIRST_SIGNAL + len(signals))
    return RowShape(
        # id, md5, sha1, sha256, pdq, pdq_quality and plug-in hashes: written as they are
        variables=(0, 3, 4, 5, 6, 7, *extra),
        ints=frozenset({0, 7}),
        # category, added_at, shared: few distinct values, each turned into text once
        context=(1, 2, 8),
        key=len(_COLUMNS),
        to_entry=partial(_entry, kind=kind, signals=tuple(signals)),
    )


def entry_rows_at(
    session: Session,
    list_id: int,
    version: int,
    size: int | None = None,
    signals: Sequence[str] = (),
) -> Iterator[Rows]:
    """Every entry live at `version`, by id, as raw rows in batches (see `row_shape`);
    `size`: about how many entries the list has, if known; `signals`: the plug-in signal
    types to read (`match_store.signal_names`), a column each."""
    where = and_(_in_list(session, list_id, size), _live_at(version))
    return _release_rows(session, where, signals)


def addition_rows(
    session: Session,
    list_id: int,
    since: int,
    version: int,
    size: int | None = None,
    signals: Sequence[str] = (),
) -> Iterator[Rows]:
    """Entries added after `since` and still live at `version`, as raw rows in batches."""
    where = and_(
        _in_list(session, list_id, size),
        HashListEntryRow.added_in > since,
        _live_at(version),
    )
    return _release_rows(session, where, signals)


def entries_at(
    session: Session, list_id: int, version: int, kind: str = "hash"
) -> Iterator[ReleaseEntry]:
    """Every entry live at `version`, by id."""
    signals = match_store.signal_names(session, list_id, version)
    for batch in entry_rows_at(session, list_id, version, signals=signals):
        for row in batch:
            yield _entry(row, kind, signals)


def additions(
    session: Session, list_id: int, since: int, version: int, kind: str = "hash"
) -> Iterator[ReleaseEntry]:
    """Entries added after `since` and still live at `version`."""
    signals = match_store.signal_names(session, list_id, version)
    for batch in addition_rows(session, list_id, since, version, signals=signals):
        for row in batch:
            yield _entry(row, kind, signals)


def withdrawals(
    session: Session, list_id: int, since: int, version: int, size: int | None = None
) -> Iterator[Withdrawal]:
    """Entries live at `since` and withdrawn by `version` (ones added and withdrawn in
    between were never seen by a copy at `since`, so they are in neither half)."""
    where = and_(
        _in_list(session, list_id, size),
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
        raise NotFound(N_("there is no list called '%(name)s'", name=name))
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
        raise NotFound(N_("list '%(name)s' has no release %(version)s", name=name, version=version))
    return _release(found, name)


def check_since(session: Session, name: str, since: int) -> Release:
    """The latest release, if a delta from `since` to it can be given: `since` must be 0 (an
    empty copy) or an earlier release's version; a future or unknown version is refused."""
    latest = latest_release(session, name)
    if latest is None:
        raise NotFound(N_("list '%(name)s' has no release yet", name=name))
    if since < 0 or since > latest.version:
        raise InvalidInput(
            N_(
                "version %(since)s is not a release of '%(name)s'; the latest is %(version)s",
                since=since,
                name=name,
                version=latest.version,
            ),
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


# -- a list's entries on the staff page ----------------------------------------------------------

ENTRY_STATES = ("live", "withdrawn")
_HEX_DIGITS = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class EntryView:
    """One entry as the list's staff page shows it: hashes, category and state (never media)."""

    id: int
    category: str
    md5: str | None
    sha1: str | None
    sha256: str | None
    pdq: str | None
    value: str | None
    added_at: datetime
    withdrawn_in: int | None
    withdrawn_reason: str | None

    @property
    def live(self) -> bool:
        return self.withdrawn_in is None


def entry_search(list_id: int, q: str, state: str) -> list[ColumnElement[bool]]:
    """The conditions of a search within one list: a number is an entry id (or, from 4
    digits, a hash start too); 4 to 64 hexadecimal digits the start of an MD5, SHA-1, SHA-256
    or PDQ; anything else the start of a URL or term (url and keyword lists). `state`: live,
    withdrawn or "" for both. The hash columns have no index of their own: a search reads the
    list's rows by id, a page at a time."""
    where: list[ColumnElement[bool]] = [HashListEntryRow.list_id == list_id]
    if state == "live":
        where.append(HashListEntryRow.withdrawn_in.is_(None))
    elif state == "withdrawn":
        where.append(HashListEntryRow.withdrawn_in.is_not(None))
    text = q.strip().lower()
    if not text:
        return where
    found: list[ColumnElement[bool]] = []
    if text.isdigit() and len(text) <= 9:
        found.append(HashListEntryRow.id == int(text))
    if 4 <= len(text) <= 64 and set(text) <= _HEX_DIGITS:
        start = text + "%"
        columns = (HashListEntryRow.md5, HashListEntryRow.sha1, HashListEntryRow.sha256)
        found += [c.like(start) for c in (*columns, HashListEntryRow.pdq)]
    if not found:
        escaped = q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        found.append(HashListEntryRow.value.like(escaped + "%", escape="\\"))
    where.append(or_(*found))
    return where


def entry_views(session: Session, query: Any) -> list[EntryView]:
    """Run a select of `ENTRY_VIEW_COLUMNS` (ordered and limited by the caller)."""
    return [EntryView(*row) for row in session.execute(query).all()]


ENTRY_VIEW_COLUMNS = (
    HashListEntryRow.id,
    HashListEntryRow.category,
    HashListEntryRow.md5,
    HashListEntryRow.sha1,
    HashListEntryRow.sha256,
    HashListEntryRow.pdq,
    HashListEntryRow.value,
    HashListEntryRow.added_at,
    HashListEntryRow.withdrawn_in,
    HashListEntryRow.withdrawn_reason,
)


def entries_by_id(session: Session, list_id: int, ids: Sequence[int]) -> dict[int, EntryView]:
    """The list's entries among `ids` (an id of another list, or of none, is absent)."""
    if not ids:
        return {}
    query = select(*ENTRY_VIEW_COLUMNS).where(
        HashListEntryRow.list_id == list_id, HashListEntryRow.id.in_(list(ids))
    )
    return {e.id: e for e in entry_views(session, query)}

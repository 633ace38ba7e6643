"""The storage edge: members, keys, lists and entries in the database, as domain objects.

Every function takes the caller's session, so the caller decides the transaction (and puts
the audit record in the same one).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, case, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from hotline.matching import keys, validation
from hotline.matching.model import (
    LIST_KINDS,
    NO_SIGNALS,
    KeyCalls,
    KeyInfo,
    ListEntry,
    ListInfo,
    Member,
    NewEntry,
    distances_of,
    vpdq_of,
)
from hotline.matching.tables import (
    HashListEntryRow,
    HashListEntrySignalRow,
    HashListRow,
    MemberKeyCallsRow,
    MemberKeyRow,
    MemberRow,
)

# -- members -----------------------------------------------------------------------------------


def _member(row: MemberRow) -> Member:
    return Member(row.id, row.name, row.created_at)


def create_member(session: Session, name: str) -> Member:
    name = validation.name(name, "member")
    if session.execute(select(MemberRow.id).where(MemberRow.name == name)).first():
        raise Conflict(N_("a member called '%(name)s' already exists", name=name))
    row = MemberRow(name=name, created_at=utcnow())
    session.add(row)
    session.flush()
    return _member(row)


def list_members(session: Session) -> list[Member]:
    return [
        _member(r) for r in session.execute(select(MemberRow).order_by(MemberRow.name)).scalars()
    ]


def _member_row(session: Session, name: str) -> MemberRow:
    row = session.execute(select(MemberRow).where(MemberRow.name == name)).scalar_one_or_none()
    if row is None:
        raise NotFound(N_("there is no member called '%(name)s'", name=name))
    return row


# -- keys ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredKey:
    """What authentication needs about a key (its hash included: never leaves the server)."""

    id: int
    member: str
    prefix: str
    key_sha256: str
    scopes: tuple[str, ...]
    revoked: bool
    last_used_at: datetime | None


def _key_info(row: MemberKeyRow, member: str, calls: KeyCalls | None = None) -> KeyInfo:
    return KeyInfo(
        row.id,
        member,
        row.prefix,
        tuple(json.loads(row.scopes)),
        row.created_at,
        row.revoked_at,
        row.last_used_at,
        calls or KeyCalls(),
    )


def create_key(
    session: Session, member: str, scopes: Sequence[str]
) -> tuple[keys.IssuedKey, KeyInfo]:
    """Issue a key for `member` that may search `scopes` (lists that exist)."""
    member_row = _member_row(session, validation.name(member, "member"))
    names = sorted({validation.name(s, "list") for s in scopes})
    if not names:
        raise InvalidInput(
            N_("a key needs at least one list"), fields=[FieldError("list", N_("missing"))]
        )
    known = set(
        session.execute(select(HashListRow.name).where(HashListRow.name.in_(names))).scalars()
    )
    unknown = [n for n in names if n not in known]
    if unknown:
        raise NotFound(N_("there is no list called '%(unknown)s'", unknown=unknown[0]))
    issued = keys.issue()
    row = MemberKeyRow(
        member_id=member_row.id,
        prefix=issued.prefix,
        key_sha256=issued.key_sha256,
        scopes=json.dumps(names),
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return issued, _key_info(row, member_row.name)


def _prefix(value: str) -> str:
    """Accept a bare prefix or one written as it prints (`hlk_<prefix>`)."""
    value = value.strip().lower()
    return value[len(keys.KEY_PREFIX) :] if value.startswith(keys.KEY_PREFIX) else value


def revoke_key(session: Session, prefix: str) -> KeyInfo:
    """Revoke at once: the next request with this key is refused (revoking twice is harmless)."""
    found = session.execute(
        select(MemberKeyRow, MemberRow.name)
        .join(MemberRow, MemberRow.id == MemberKeyRow.member_id)
        .where(MemberKeyRow.prefix == _prefix(prefix))
    ).first()
    if found is None:
        raise NotFound(N_("there is no key with that prefix"))
    row, member = found
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
    return _key_info(row, member)


def list_keys(session: Session, member: str | None = None) -> list[KeyInfo]:
    query = (
        select(MemberKeyRow, MemberRow.name)
        .join(MemberRow, MemberRow.id == MemberKeyRow.member_id)
        .order_by(MemberRow.name, MemberKeyRow.id)
    )
    if member is not None:
        query = query.where(MemberRow.id == _member_row(session, member).id)
    found = session.execute(query).all()
    calls = key_calls(session, [row.id for row, _ in found])
    return [_key_info(row, name, calls.get(row.id)) for row, name in found]


def key_calls(
    session: Session, key_ids: Sequence[int], today: date | None = None
) -> dict[int, KeyCalls]:
    """Answered calls of these keys: today (UTC), the last 7 UTC days and in all (one query)."""
    if not key_ids:
        return {}
    today = today or utcnow().date()
    week = today - timedelta(days=6)
    c = MemberKeyCallsRow.__table__.c
    rows = session.execute(
        select(
            c.key_id,
            func.sum(case((c.day == today, c.calls), else_=0)),
            func.sum(case((c.day >= week, c.calls), else_=0)),
            func.sum(c.calls),
        )
        .where(c.key_id.in_(key_ids))
        .group_by(c.key_id)
    )
    return {key_id: KeyCalls(int(d), int(w), int(t)) for key_id, d, w, t in rows}


def _add_calls_statement(insert: Any) -> Any:
    table = MemberKeyCallsRow.__table__
    stmt = insert(MemberKeyCallsRow)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.key_id, table.c.day],
        set_={"calls": table.c.calls + stmt.excluded.calls},
    )


# Built once, as the audit writer runs it with every group (built per call it cost 0.25 ms).
_ADD_CALLS = {
    "sqlite": _add_calls_statement(sqlite.insert),
    "postgresql": _add_calls_statement(postgresql.insert),
}


def add_key_calls(conn: Session | Connection, calls: Mapping[tuple[int, date], int]) -> None:
    """Add answered calls per (key id, UTC day) in one statement (`ON CONFLICT DO UPDATE`,
    which SQLite and PostgreSQL both take), in a fixed order, so that two writers lock rows
    in the same order."""
    if not calls:
        return
    dialect = conn.get_bind().dialect.name if isinstance(conn, Session) else conn.dialect.name
    rows = [{"key_id": k, "day": d, "calls": n} for (k, d), n in sorted(calls.items())]
    conn.execute(_ADD_CALLS[dialect], rows[0] if len(rows) == 1 else rows)


# The one read of a key by its prefix: `find_key` runs it through SQLAlchemy, the match API's
# `KeyLookup` compiles it once for a bare DB-API cursor. Rows become keys with `stored_key`.
KEY_BY_PREFIX = (
    select(
        MemberKeyRow.id,
        MemberRow.name,
        MemberKeyRow.prefix,
        MemberKeyRow.key_sha256,
        MemberKeyRow.scopes,
        MemberKeyRow.revoked_at,
        MemberKeyRow.last_used_at,
    )
    .join(MemberRow, MemberRow.id == MemberKeyRow.member_id)
    .where(MemberKeyRow.prefix == bindparam("prefix"))
)


def stored_key(row: Sequence[Any]) -> StoredKey:
    """A `KEY_BY_PREFIX` row as a key (`last_used_at` already a datetime)."""
    key_id, member, prefix, digest, scopes, revoked_at, last_used_at = row
    return StoredKey(
        key_id,
        member,
        prefix,
        digest,
        tuple(json.loads(scopes)),
        revoked_at is not None,
        last_used_at,
    )


def find_key(session: Session | Connection, prefix: str) -> StoredKey | None:
    """The key with this prefix (the match API reads it with `KeyLookup` instead)."""
    found = session.execute(KEY_BY_PREFIX, {"prefix": prefix}).first()
    return None if found is None else stored_key(found)


def touch_key(session: Session | Connection, key_id: int, at: datetime) -> None:
    session.execute(update(MemberKeyRow).where(MemberKeyRow.id == key_id).values(last_used_at=at))


# -- lists ---------------------------------------------------------------------------------------


def _list_info(row: HashListRow, entries: int = 0) -> ListInfo:
    return ListInfo(
        row.id,
        row.name,
        row.description,
        row.pdq_max_distance,
        row.version,
        entries,
        row.updated_at,
        row.kind,
        distances_of(row.max_distances),
    )


def create_list(
    session: Session,
    name: str,
    description: str = "",
    pdq_max_distance: int = 31,
    kind: str = "hash",
) -> ListInfo:
    name = validation.name(name, "list")
    if kind not in LIST_KINDS:
        raise InvalidInput(
            N_("a list is one of: %(items)s", items=", ".join(LIST_KINDS)),
            fields=[FieldError("kind", N_("unknown"))],
        )
    if session.execute(select(HashListRow.id).where(HashListRow.name == name)).first():
        raise Conflict(N_("a list called '%(name)s' already exists", name=name))
    now = utcnow()
    row = HashListRow(
        name=name,
        description=validation.description(description),
        pdq_max_distance=validation.pdq_max_distance(pdq_max_distance),
        version=0,
        created_at=now,
        updated_at=now,
        kind=kind,
    )
    session.add(row)
    session.flush()
    return _list_info(row)


def _live_count(session: Session, list_id: int) -> int:
    return session.execute(
        select(func.count())
        .select_from(HashListEntryRow)
        .where(HashListEntryRow.list_id == list_id, HashListEntryRow.withdrawn_at.is_(None))
    ).scalar_one()


def get_list(session: Session, name: str, *, lock: bool = False) -> ListInfo:
    """A list with its live entry count; `lock` holds its row (no change until commit)."""
    query = select(HashListRow).where(HashListRow.name == name)
    row = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None:
        raise NotFound(N_("there is no list called '%(name)s'", name=name))
    return _list_info(row, _live_count(session, row.id))


def list_lists(session: Session) -> list[ListInfo]:
    counts = dict(
        session.execute(
            select(HashListEntryRow.list_id, func.count())
            .where(HashListEntryRow.withdrawn_at.is_(None))
            .group_by(HashListEntryRow.list_id)
        ).all()
    )
    rows = session.execute(select(HashListRow).order_by(HashListRow.name)).scalars()
    return [_list_info(r, counts.get(r.id, 0)) for r in rows]


def bump_version(session: Session, name: str) -> HashListRow:
    """Lock the list's row and move it to its next version. Writers to one list queue here,
    so versions commit in order (what lets readers poll by version)."""
    row = session.execute(
        select(HashListRow).where(HashListRow.name == name).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(N_("there is no list called '%(name)s'", name=name))
    row.version += 1
    row.updated_at = utcnow()
    session.flush()
    return row


def add_entries(session: Session, list_name: str, entries: Sequence[NewEntry]) -> ListInfo:
    """Add validated entries as one new version of the list; plug-in signals go into
    `hash_list_entry_signals` in the same transaction."""
    row = bump_version(session, list_name)
    if row.kind != "hash":
        raise Conflict(
            N_(
                "'%(list_name)s' is a %(kind)s list; hash entries go on hash lists",
                list_name=list_name,
                kind=row.kind,
            )
        )
    now = utcnow()
    if entries:
        values = [
            {
                "list_id": row.id,
                "md5": e.md5,
                "sha1": e.sha1,
                "sha256": e.sha256,
                "pdq": e.pdq,
                "pdq_quality": e.pdq_quality,
                "category": e.category,
                "added_at": now,
                "changed_in": row.version,
                "added_in": row.version,
                "shared": json.dumps(e.shared, sort_keys=True) if e.shared else None,
                "media_id": e.media_id,
                "source": e.source,
                # On a hash list `value` holds a video's vPDQ (Meta's text format); on URL
                # and keyword lists, the URL or term.
                "value": e.vpdq,
            }
            for e in entries
        ]
        if any(e.signals for e in entries):
            # The new ids, in the order given, to key the signals by (one batched INSERT …
            # RETURNING on both databases).
            statement = insert(HashListEntryRow).returning(
                HashListEntryRow.id, sort_by_parameter_order=True
            )
            ids = session.execute(statement, values).scalars().all()
            add_signals(session, zip(ids, (e.signals for e in entries), strict=True))
        else:
            session.execute(insert(HashListEntryRow), values)
    return _list_info(row, _live_count(session, row.id))


def add_signals(session: Session, signals: Iterable[tuple[int, Mapping[str, str]]]) -> int:
    """Store plug-in signals (entry id, {name: canonical value}); returns the rows written."""
    rows = [
        {"entry_id": entry_id, "signal_type": name, "value": value}
        for entry_id, found in signals
        for name, value in sorted(found.items())
    ]
    if rows:
        session.execute(insert(HashListEntrySignalRow), rows)
    return len(rows)


def has_signals(session: Session | Connection, list_id: int) -> bool:
    """Whether any entry of the list, live or not, carries a plug-in signal (one probe of
    an index): readers skip the signal queries for the many lists that have none."""
    return bool(
        session.execute(
            select(
                exists()
                .where(HashListEntrySignalRow.entry_id == HashListEntryRow.id)
                .where(HashListEntryRow.list_id == list_id)
            )
        ).scalar()
    )


def signals_between(
    session: Session | Connection, list_id: int, first: int, last: int
) -> dict[int, dict[str, str]]:
    """The plug-in signals of the list's entries with ids in [first, last], by entry id:
    one range query a batch of entries read in id order (no query per entry)."""
    found: dict[int, dict[str, str]] = defaultdict(dict)
    rows = session.execute(
        select(
            HashListEntrySignalRow.entry_id,
            HashListEntrySignalRow.signal_type,
            HashListEntrySignalRow.value,
        )
        .join(HashListEntryRow, HashListEntryRow.id == HashListEntrySignalRow.entry_id)
        .where(
            HashListEntryRow.list_id == list_id,
            HashListEntrySignalRow.entry_id >= first,
            HashListEntrySignalRow.entry_id <= last,
        )
    )
    for entry_id, name, value in rows:
        found[entry_id][name] = value
    return found


def signal_names(session: Session | Connection, list_id: int, version: int) -> list[str]:
    """The plug-in signal types held by the list's entries live at `version`, by name."""
    return list(
        session.execute(
            select(HashListEntrySignalRow.signal_type)
            .join(HashListEntryRow, HashListEntryRow.id == HashListEntrySignalRow.entry_id)
            .where(
                HashListEntryRow.list_id == list_id,
                HashListEntryRow.added_in <= version,
                (HashListEntryRow.withdrawn_in.is_(None))
                | (HashListEntryRow.withdrawn_in > version),
            )
            .distinct()
            .order_by(HashListEntrySignalRow.signal_type)
        ).scalars()
    )


def withdraw_entries(
    session: Session, list_name: str, entry_ids: Sequence[int], reason: str = ""
) -> int:
    """Withdraw live entries of a list (one new version); returns how many were withdrawn.
    The reason travels in the next release's delta."""
    row = bump_version(session, list_name)
    result = session.execute(
        update(HashListEntryRow)
        .where(
            HashListEntryRow.list_id == row.id,
            HashListEntryRow.id.in_(list(entry_ids)),
            HashListEntryRow.withdrawn_at.is_(None),
        )
        .values(
            withdrawn_at=utcnow(),
            changed_in=row.version,
            withdrawn_in=row.version,
            withdrawn_reason=reason or None,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


_ENTRY_COLUMNS = (
    HashListEntryRow.id,
    HashListEntryRow.category,
    HashListEntryRow.md5,
    HashListEntryRow.sha1,
    HashListEntryRow.sha256,
    HashListEntryRow.pdq,
    HashListEntryRow.pdq_quality,
    HashListEntryRow.withdrawn_at,
    HashListEntryRow.changed_in,
    HashListEntryRow.value,  # a video's vPDQ on a hash list (None for anything else)
)


def _entries(
    session: Session, list_id: int, where: Sequence[object], batch: int
) -> Iterator[ListEntry]:
    """Entries by id from one streamed query (a server-side cursor on PostgreSQL). Keyset
    pages would each rescan and sort every row the (list_id, changed_in) index finds:
    quadratic once a list holds millions of entries."""
    kind = session.execute(select(HashListRow.kind).where(HashListRow.id == list_id)).scalar()
    videos = kind == "hash"  # `value` is a vPDQ only on a hash list (a URL or term elsewhere)
    signals = videos and has_signals(session, list_id)
    result = session.connection().execute(
        select(*_ENTRY_COLUMNS)
        .where(*where)  # type: ignore[arg-type]
        .order_by(HashListEntryRow.id)
        # On the statement, not the connection: a connection's options outlive the query.
        .execution_options(stream_results=True, yield_per=batch)
    )
    for rows in result.partitions():
        # A batch's plug-in signals in one range query, on the same connection (the
        # streamed cursor stays open meanwhile, on SQLite and PostgreSQL alike).
        extra = signals_between(session, list_id, rows[0][0], rows[-1][0]) if signals else {}
        for r in rows:
            withdrawn = r[7] is not None
            frames = vpdq_of(r[9]) if videos and not withdrawn else ()
            found = extra.get(r[0], NO_SIGNALS) if not withdrawn else NO_SIGNALS
            yield ListEntry(
                r[0], r[1], r[2], r[3], r[4], r[5], r[6], withdrawn, r[8], frames, found
            )


def changed_entries(
    session: Session, list_id: int, after: int, upto: int, *, batch: int = 20_000
) -> Iterator[ListEntry]:
    """Entries whose last change falls in versions (after, upto], by id. With after=0 the
    withdrawn ones are left out: a reader starting from nothing has nothing to remove."""
    where: list[object] = [
        HashListEntryRow.list_id == list_id,
        HashListEntryRow.changed_in > after,
        HashListEntryRow.changed_in <= upto,
    ]
    if after == 0:
        where.append(HashListEntryRow.withdrawn_at.is_(None))
    return _entries(session, list_id, where, batch)


def live_entries(session: Session, list_id: int, *, batch: int = 20_000) -> Iterator[ListEntry]:
    where = [HashListEntryRow.list_id == list_id, HashListEntryRow.withdrawn_at.is_(None)]
    return _entries(session, list_id, where, batch)


def list_infos(session: Session) -> list[ListInfo]:
    """Every hash list's id, name, settings and version; one cheap query (what a refresh
    polls). URL and keyword lists are released, never matched."""
    rows = session.execute(
        select(
            HashListRow.id,
            HashListRow.name,
            HashListRow.description,
            HashListRow.pdq_max_distance,
            HashListRow.version,
            HashListRow.max_distances,
        ).where(HashListRow.kind == "hash")
    ).all()
    return [ListInfo(r[0], r[1], r[2], r[3], r[4], max_distances=distances_of(r[5])) for r in rows]


def set_description(session: Session, name: str, description: str) -> ListInfo:
    """Replace a list's description (validated: `validation.description`). No new version:
    the entries did not change; the next release's files carry the new text."""
    text = validation.description(description)
    row = session.execute(
        select(HashListRow).where(HashListRow.name == name).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(N_("there is no list called '%(name)s'", name=name))
    row.description = text
    row.updated_at = utcnow()
    session.flush()
    return _list_info(row, _live_count(session, row.id))


def set_max_distances(session: Session, name: str, distances: Mapping[str, int]) -> ListInfo:
    """Set some of a list's maximum distances (validated: `validation.max_distances`):
    `pdq` goes to `pdq_max_distance`, the others into `max_distances`, each one named
    replacing its old value. No new version: the entries did not change; a matcher takes
    the new radius at its next refresh."""
    row = session.execute(
        select(HashListRow).where(HashListRow.name == name).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(N_("there is no list called '%(name)s'", name=name))
    if row.kind != "hash":
        raise Conflict(
            N_(
                "'%(name)s' is a %(kind)s list; only hash lists are matched",
                name=name,
                kind=row.kind,
            )
        )
    others = dict(distances_of(row.max_distances))
    for signal, distance in distances.items():
        if signal == "pdq":
            row.pdq_max_distance = distance
        else:
            others[signal] = distance
    row.max_distances = json.dumps(others, sort_keys=True)
    row.updated_at = utcnow()
    session.flush()
    return _list_info(row, _live_count(session, row.id))

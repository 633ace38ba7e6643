"""The process-wide known-material index of one database: graded media (`grades.GradeIndex`)
and every hash list's live entries (matching's `Matcher`, one `ListIndex` a list, kept by
list versions), brought up to date with what is committed before each lookup.

The index reads through its own connections, never the caller's session: a caller's
uncommitted rows (which may yet roll back) must not enter an index other requests share. So
a lookup sees what other transactions committed, and not the calling transaction's own
uncommitted grades or entries.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, select
from sqlalchemy.orm import Session

from hotline.known.grades import NEWEST, GradeFeed, GradeIndex
from hotline.known.model import EXACT, MIN_PDQ_QUALITY, KnownHashes, KnownMatch, best
from hotline.matching import store
from hotline.matching.matcher import Matcher
from hotline.matching.model import HashQuery, ListEntry, ListInfo, distances_of
from hotline.matching.tables import HashListRow

# The one query of a refresh when nothing changed: the newest graded-media marker, and every
# hash list's version and provenance (a row with no list when there are none). Built once.
_NEWEST = select(NEWEST).subquery()
_POLL = select(
    _NEWEST.c.newest,
    HashListRow.id,
    HashListRow.name,
    HashListRow.description,
    HashListRow.pdq_max_distance,
    HashListRow.version,
    HashListRow.source,
    HashListRow.max_distances,
).select_from(_NEWEST.outerjoin(HashListRow, HashListRow.kind == "hash"))


class _ListSource:
    """Matching's `EntrySource` over what the refresh under way read (`_POLL`'s rows, its
    connection); remembers each list's provenance (`hash_lists.source`)."""

    def __init__(self) -> None:
        self.connection: Connection | None = None  # set for the length of a refresh
        self.rows: list[Any] = []
        self.provenance: dict[str, str | None] = {}

    def _open(self) -> Connection:
        if self.connection is None:
            raise RuntimeError("hash lists are read only during a refresh")
        return self.connection

    def lists(self) -> list[ListInfo]:
        rows = [r for r in self.rows if r[1] is not None]
        self.provenance = {r[2]: r[6] for r in rows}
        return [
            ListInfo(r[1], r[2], r[3], r[4], r[5], max_distances=distances_of(r[7])) for r in rows
        ]

    def changes(self, info: ListInfo, after: int) -> list[ListEntry]:
        with Session(bind=self._open()) as session:
            return list(store.changed_entries(session, info.id, after, info.version))


class KnownIndex:
    """Thread-safe: one refresh at a time (others wait for it, so a lookup never answers
    from before a commit it follows); searches need no lock."""

    def __init__(self, connect: Callable[[], Connection], *, track_gaps: bool) -> None:
        self._connect = connect
        self._lock = threading.Lock()
        self.feed = GradeFeed(track_gaps=track_gaps)
        self.grades: GradeIndex | None = None
        self._lists = _ListSource()
        self.lists = Matcher(self._lists, refresh_seconds=0)

    def refresh(self) -> None:
        """Take in what was committed since the last refresh: one small query when nothing
        changed (the newest graded-media marker and the lists' versions)."""
        with self._lock, self._connect() as connection:
            rows = list(connection.execute(_POLL).all())
            grades = self.grades
            changed = None if grades is None else self.feed.poll(connection, rows[0][0])
            if grades is None or changed is None:
                self.grades = GradeIndex(self.feed.load(connection))
            else:
                grades.apply(changed)
            self._lists.connection, self._lists.rows = connection, rows
            try:
                self.lists.refresh()
            finally:
                self._lists.connection = None

    def search(self, items: Sequence[KnownHashes], pdq_distance: int) -> list[KnownMatch | None]:
        grades = self.grades
        found = grades.search(items, pdq_distance) if grades is not None else {}
        names = [v.name for v in self.lists.versions()]
        # Only the hash types some list holds: a batch of 10,000 manifest rows otherwise makes
        # 40,000 queries (and as many answer lists) for lists of PDQ codes alone.
        kinds = self.lists.signal_kinds(names)
        exact = [kind for kind in EXACT if kind in kinds]
        pdq = "pdq" in kinds
        queries: list[HashQuery] = []
        owners: list[int] = []
        for kind in exact:
            for position, item in enumerate(items):
                value = getattr(item, kind)
                if value:
                    queries.append(HashQuery(kind, value))
                    owners.append(position)
        if pdq:
            for position, item in enumerate(items):
                if item.pdq and (item.pdq_quality or 0) >= MIN_PDQ_QUALITY:  # pdq_usable()
                    queries.append(HashQuery("pdq", item.pdq))
                    owners.append(position)
        if queries:
            answer = self.lists.match(queries, names, refresh=False)
            provenance = self._lists.provenance
            for position, hits in zip(owners, answer.hits, strict=True):
                for hit in hits:
                    if hit.signal == "pdq" and hit.distance > pdq_distance:
                        continue  # beyond the caller's distance (the list's own applies too)
                    found.setdefault(position, []).append(
                        KnownMatch(
                            "list",
                            hit.category,
                            hit.distance,
                            hit.signal,
                            list_name=hit.list,
                            list_source=provenance.get(hit.list),
                            entry_id=hit.entry_id,
                        )
                    )
        # Most items of a batch match nothing: None for them, the best for the rest.
        out: list[KnownMatch | None] = [None] * len(items)
        for position, matches in found.items():
            out[position] = best(matches)
        return out


_REGISTRY: weakref.WeakKeyDictionary[Engine, KnownIndex] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def index_for(session: Session) -> KnownIndex:
    """The index of the database the session is bound to (one per engine and process)."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    with _REGISTRY_LOCK:
        index = _REGISTRY.get(engine)
        if index is None:
            index = KnownIndex(_reader(engine), track_gaps=engine.dialect.name != "sqlite")
            _REGISTRY[engine] = index
        return index


def forget(session: Session) -> None:
    """Drop the index of the session's database (after a restore replaced it under a
    running process); the next lookup loads it again."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    with _REGISTRY_LOCK:
        _REGISTRY.pop(engine, None)


def _reader(engine: Engine) -> Callable[[], Connection]:
    """Connections for the index's reads. SQLite: an engine of its own on the same file (the
    caller may hold the one writer connection; WAL lets this read beside it). PostgreSQL:
    the caller's pool, reached through a weak reference so the registry's key can go."""
    if engine.dialect.name == "sqlite":
        reader = create_engine(
            engine.url,
            pool_size=2,
            max_overflow=2,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        weakref.finalize(engine, reader.dispose)
        return reader.connect
    ref = weakref.ref(engine)

    def connect() -> Connection:
        alive = ref()
        if alive is None:
            raise RuntimeError("the database of this known-material index was disposed")
        return alive.connect()

    return connect

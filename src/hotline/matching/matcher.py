"""`Matcher`: every list's live entries in memory (a `PDQIndex` and an `ExactHashIndex` per
digest, per list, a `VideoIndex` for entries that carry a video's vPDQ, and a `SignalIndex`
per plug-in signal type its entries carry), kept current by polling for changes, never by
rebuilding.

Refresh reads each list's version (one small query) and, for lists that moved on, only the
entries whose last change is newer than the version already applied (`changed_in`). A lock
taken without waiting makes sure one refresh runs at a time; searches never wait for one.
The same machinery serves the API (entries from the database) and `hotline match` (entries
from an exported list file).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from hotline.db.engine import Database
from hotline.hashing import HashingError, get_signal_type
from hotline.hashing.signals import SignalType
from hotline.index import ExactHashIndex, PDQIndex
from hotline.matching import store
from hotline.matching.model import (
    EXACT_TYPES,
    VPDQ,
    HashQuery,
    Hit,
    ListEntry,
    ListInfo,
    ListVersion,
    MatchAnswer,
)
from hotline.matching.signal_index import SignalIndex
from hotline.matching.video import DEFAULT_RULE, VideoIndex, VideoRule

log = logging.getLogger(__name__)

# Exact indexes keep recent adds in a dict; fold them into the sorted arrays past this many.
_EXACT_COMPACT_ADDS = 50_000


class EntrySource(Protocol):
    """Where lists come from: the database, or an exported list file."""

    def lists(self) -> list[ListInfo]: ...

    def changes(self, info: ListInfo, after: int) -> Iterable[ListEntry]:
        """Entries changed in versions (after, info.version]; after=0 means every live one."""
        ...


class DatabaseSource:
    def __init__(self, db: Database) -> None:
        self.db = db

    def lists(self) -> list[ListInfo]:
        with self.db.read() as session:
            return store.list_infos(session)

    def changes(self, info: ListInfo, after: int) -> list[ListEntry]:
        with self.db.read() as session:
            return list(store.changed_entries(session, info.id, after, info.version))


class StaticSource:
    """Fixed lists held in memory (a list file read by `hotline match`)."""

    def __init__(self, lists: Sequence[tuple[ListInfo, Sequence[ListEntry]]]) -> None:
        self._lists = {info.name: (info, list(entries)) for info, entries in lists}

    def lists(self) -> list[ListInfo]:
        return [info for info, _ in self._lists.values()]

    def changes(self, info: ListInfo, after: int) -> list[ListEntry]:
        return [e for e in self._lists[info.name][1] if not e.withdrawn]


class ListIndex:
    """One list's live entries: PDQ, exact and video (vPDQ) indexes keyed by entry id, and
    categories."""

    def __init__(self, info: ListInfo, entries: Iterable[ListEntry]) -> None:
        live = [e for e in entries if not e.withdrawn]
        self.info = info
        self.categories: dict[int, str] = {e.id: _intern(e.category) for e in live}
        with_pdq = [e for e in live if e.pdq]
        self.pdq = (
            PDQIndex.build([e.id for e in with_pdq], [e.pdq for e in with_pdq if e.pdq])
            if with_pdq
            else PDQIndex()
        )
        self.exact: dict[str, ExactHashIndex] = {}
        for kind in EXACT_TYPES:
            rows = [(e.id, getattr(e, kind)) for e in live if getattr(e, kind)]
            self.exact[kind] = ExactHashIndex.build(
                kind, [i for i, _ in rows], [d for _, d in rows]
            )
        self.videos = VideoIndex()
        self.videos.add((e.id, e.vpdq) for e in live if e.vpdq)
        self.signals: dict[str, SignalIndex] = {}
        self._add_signals(live)
        self._exact_adds = 0

    def __len__(self) -> int:
        return len(self.categories)

    def apply(self, info: ListInfo, changes: Iterable[ListEntry]) -> None:
        """Apply changes up to `info.version`. Idempotent: an entry seen twice is harmless.
        Categories go in before the indexes and come out after them, so a search running
        meanwhile never finds an id it cannot name."""
        added: list[ListEntry] = []
        removed: list[int] = []
        for entry in changes:
            if entry.withdrawn:
                removed.append(entry.id)
            elif entry.id not in self.categories:
                added.append(entry)
        for entry in added:
            self.categories[entry.id] = _intern(entry.category)
        with_pdq = [e for e in added if e.pdq]
        if with_pdq:
            self.pdq.add([e.id for e in with_pdq], [e.pdq for e in with_pdq if e.pdq])
        for kind, index in self.exact.items():
            rows = [(e.id, getattr(e, kind)) for e in added if getattr(e, kind)]
            if rows:
                index.add([i for i, _ in rows], [d for _, d in rows])
        self.videos.add((e.id, e.vpdq) for e in added if e.vpdq)
        self._add_signals(added)
        if removed:
            self.pdq.remove(removed, missing_ok=True)
            for index in self.exact.values():
                index.remove(removed, missing_ok=True)
            self.videos.remove(removed)
            for signal_index in self.signals.values():
                signal_index.remove(removed)
            for entry_id in removed:
                self.categories.pop(entry_id, None)
        self._exact_adds += len(added)
        if self._exact_adds > _EXACT_COMPACT_ADDS:
            for index in self.exact.values():
                index.compact()
            self._exact_adds = 0
        self.info = info

    def search(
        self, queries: Sequence[HashQuery], video_rule: VideoRule = DEFAULT_RULE
    ) -> list[list[Hit]]:
        info, categories = self.info, self.categories
        hits: list[list[Hit]] = [[] for _ in queries]

        def hit(position: int, entry_id: int, distance: int, signal: str) -> None:
            category = categories.get(entry_id)
            if category is not None:
                hits[position].append(Hit(info.name, entry_id, category, distance, signal))

        pdq_at = [i for i, q in enumerate(queries) if q.type == "pdq"]
        if pdq_at and len(self.pdq):
            found = self.pdq.search_batch(
                [queries[i].value for i in pdq_at], radius=info.pdq_max_distance
            )
            for position, matches in zip(pdq_at, found, strict=True):
                for match in matches:
                    hit(position, match.id, match.distance, "pdq")
        for kind, index in self.exact.items():
            at = [i for i, q in enumerate(queries) if q.type == kind]
            if at and len(index):
                for position, ids in zip(
                    at, index.lookup_batch([queries[i].value for i in at]), strict=True
                ):
                    for entry_id in ids:
                        hit(position, entry_id, 0, kind)
        if len(self.videos):
            frame_radius = info.max_distance(VPDQ, info.pdq_max_distance)
            for position, query in enumerate(queries):
                if query.type == VPDQ:
                    for video in self.videos.search(query.frames, frame_radius, video_rule):
                        hit(position, video.entry_id, video.distance, VPDQ)
        for name, signal_index in self.signals.items():
            at = [i for i, q in enumerate(queries) if q.type == name]
            if at and len(signal_index):
                # The list's own radius for this type, else the plug-in's max_distance.
                radius = info.max_distance(name, signal_index.radius)
                found = signal_index.search([queries[i].value for i in at], radius)
                for position, matches in zip(at, found, strict=True):
                    for match in matches:
                        hit(position, match.id, match.distance, name)
        return hits

    def _add_signals(self, entries: Sequence[ListEntry]) -> None:
        """Index the entries' plug-in signals, a `SignalIndex` per type (made when first
        seen). A type no longer registered (its plug-in removed) cannot be searched: left."""
        rows: dict[str, list[tuple[int, str]]] = {}
        for entry in entries:
            for name, value in entry.signals.items():
                rows.setdefault(name, []).append((entry.id, value))
        for name, found in rows.items():
            index = self.signals.get(name)
            if index is None:
                signal = _plugin(name)
                if signal is None:
                    continue
                index = self.signals[name] = SignalIndex(signal)
            index.add(found)


def _plugin(name: str) -> type[SignalType] | None:
    try:
        signal = get_signal_type(name)
    except HashingError:
        log.warning("list entries carry %r hashes but no such signal type is registered", name)
        return None
    return signal if isinstance(signal, type) and issubclass(signal, SignalType) else None


def _intern(category: str) -> str:
    # A few distinct labels shared by millions of entries: keep one string object each.
    return _CATEGORIES.setdefault(category, category)


_CATEGORIES: dict[str, str] = {}


class Matcher:
    """Answers hash queries against the lists a caller may search.

    `refresh_seconds` bounds how stale an answer can be: a search starts a refresh when the
    last one is older than that (0: before every search). Thread-safe.
    """

    def __init__(
        self,
        source: EntrySource,
        *,
        refresh_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        video_rule: VideoRule = DEFAULT_RULE,
    ) -> None:
        self.source = source
        self.refresh_seconds = refresh_seconds
        self.video_rule = video_rule  # the deployment's (HOTLINE_VPDQ_*_PERCENT)
        self._clock = clock
        self._lists: dict[str, ListIndex] = {}  # replaced, never mutated, so readers need no lock
        self._refresh_lock = threading.Lock()
        self._loaded = False
        self._last_refresh = float("-inf")

    # ---- refresh -------------------------------------------------------------------------

    def refresh(self, *, wait: bool = True) -> bool:
        """Bring every list up to its current version. Returns False (doing nothing) when
        another refresh is running and `wait` is false."""
        if not self._refresh_lock.acquire(blocking=wait):
            return False
        try:
            started = self._clock()
            current = dict(self._lists)
            seen = set()
            for info in self.source.lists():
                seen.add(info.name)
                index = current.get(info.name)
                if index is None or info.version < index.info.version or info.id != index.info.id:
                    # New (or recreated, or restored from an older backup): load from scratch.
                    current[info.name] = ListIndex(info, self.source.changes(info, 0))
                elif info.version > index.info.version:
                    index.apply(info, self.source.changes(info, index.info.version))
                elif info != index.info:
                    index.info = info  # settings changed without a new version
            for gone in set(current) - seen:
                del current[gone]
            self._lists = current
            self._loaded = True
            self._last_refresh = started
            return True
        finally:
            self._refresh_lock.release()

    def refresh_due(self) -> bool:
        """Whether the next `match` would refresh first: nothing loaded yet, or the last
        refresh is older than `refresh_seconds` and none is running. Lets a caller on an event
        loop refresh on a thread, then search with `refresh=False`."""
        if not self._loaded:
            return True
        stale = self._clock() - self._last_refresh >= self.refresh_seconds
        return stale and not self._refresh_lock.locked()

    def maybe_refresh(self) -> None:
        if not self._loaded:
            self.refresh()
            return
        if self._clock() - self._last_refresh < self.refresh_seconds:
            return
        try:
            self.refresh(wait=False)
        except Exception:  # keep answering from what is loaded; the next search retries
            log.exception("refreshing the hash lists failed; answering from the loaded version")

    # ---- reads ---------------------------------------------------------------------------

    def versions(self, names: Iterable[str] | None = None) -> list[ListVersion]:
        lists = self._lists
        chosen = sorted(lists) if names is None else sorted(n for n in set(names) if n in lists)
        return [ListVersion(n, lists[n].info.version) for n in chosen]

    def list_sizes(self) -> dict[str, int]:
        return {name: len(index) for name, index in self._lists.items()}

    def signal_kinds(self, lists: Iterable[str]) -> set[str]:
        """The hash types the named loaded lists hold entries of ("pdq", "md5", ...): a
        caller with a large batch sends only queries of these types; no other can match."""
        loaded = self._lists
        kinds: set[str] = set()
        for name in lists:
            index = loaded.get(name)
            if index is None:
                continue
            if len(index.pdq):
                kinds.add("pdq")
            kinds.update(kind for kind, exact in index.exact.items() if len(exact))
            if len(index.videos):
                kinds.add(VPDQ)
            kinds.update(kind for kind, signal in index.signals.items() if len(signal))
        return kinds

    def match(
        self, queries: Sequence[HashQuery], lists: Iterable[str], *, refresh: bool = True
    ) -> MatchAnswer:
        """Hits per query (nearest first) in the named lists that exist; the versions used
        are those fully applied when the search began. `refresh=False`: search what is
        loaded, never touching the database (the caller saw to `refresh_due`)."""
        if refresh:
            self.maybe_refresh()
        loaded = self._lists
        chosen = [loaded[n] for n in sorted(set(lists)) if n in loaded]
        versions = [ListVersion(index.info.name, index.info.version) for index in chosen]
        hits: list[list[Hit]] = [[] for _ in queries]
        for index in chosen:
            for position, found in enumerate(index.search(queries, self.video_rule)):
                hits[position].extend(found)
        for found in hits:
            found.sort(key=lambda h: (h.distance, h.list, h.entry_id, h.signal))
        return MatchAnswer(hits, versions)

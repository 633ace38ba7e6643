"""Finally graded media in memory, on `hotline.index`, and the feed that keeps it current.

`media_items.known_seq` is set by the database whenever an item becomes finally graded or a
final item's grade, status or hashes change (migration 0016). The feed reads only rows past
the highest number it has applied: with the column's index that is one `max()` when nothing
changed. On SQLite writers are serialised, so numbers commit in order and every number below
one seen is already visible. On PostgreSQL they come from a sequence, drawn before commit: a
number missing below the highest seen may belong to a transaction still running, so it is
asked for again at each poll until it appears or `GAP_SECONDS` pass (a rolled-back
transaction's number never appears).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from hotline.grading.service import FINAL
from hotline.grading.tables import MediaItemRow
from hotline.index import ExactHashIndex, PDQIndex
from hotline.known.model import EXACT, MIN_PDQ_QUALITY, KnownHashes, KnownMatch

GAP_SECONDS = 600.0  # longer than any transaction that finalises an item should stay open
# Missing numbers kept: only the newest (a first load skips older history's holes, left by
# rolled-back transactions); each is asked for again at every poll while it is kept.
MAX_GAPS = 1000
_IN_CHUNK = 500
_EXACT_COMPACT_ADDS = 50_000  # fold an exact index's recent adds into its arrays past this
_FINAL = tuple(s.value for s in FINAL)
Reader = Connection | Session  # the index reads on a connection of its own
NEWEST = func.max(MediaItemRow.known_seq).label("newest")  # an index's last entry: cheap

_COLUMNS = (
    MediaItemRow.id,
    MediaItemRow.status,
    MediaItemRow.final_grade,
    MediaItemRow.inherited_category,
    MediaItemRow.sha256,
    MediaItemRow.md5,
    MediaItemRow.sha1,
    MediaItemRow.pdq,
    MediaItemRow.pdq_quality,
    MediaItemRow.known_seq,
)


@dataclass(frozen=True, slots=True)
class GradedItem:
    """A media row as the index needs it; `category` None: not (or no longer) final."""

    id: int
    category: str | None
    sha256: str | None
    md5: str | None
    sha1: str | None
    pdq: str | None  # only when its quality is good enough to match on
    seq: int


def _item(row: Sequence[object]) -> GradedItem:
    media_id, status, grade, label, sha256, md5, sha1, pdq, quality, seq = row
    category: str | None = None
    if status in _FINAL:
        category = json.loads(grade).get("category") if isinstance(grade, str) else None
        category = category or (label if isinstance(label, str) else None) or "unknown"
    usable = isinstance(quality, int) and quality >= MIN_PDQ_QUALITY
    return GradedItem(
        int(media_id),  # type: ignore[call-overload]
        category,
        sha256 or None,  # type: ignore[arg-type]
        md5 or None,  # type: ignore[arg-type]
        sha1 or None,  # type: ignore[arg-type]
        pdq if usable and pdq else None,  # type: ignore[arg-type]
        int(seq),  # type: ignore[call-overload]
    )


class GradeIndex:
    """Finally graded items by exact digest and PDQ. One writer at a time (the feed's
    caller holds a lock); searches run meanwhile: a category goes in before the hashes and
    comes out after them, so a search never finds an id it cannot name."""

    def __init__(self, items: Iterable[GradedItem] = ()) -> None:
        live = [i for i in items if i.category is not None]
        self.categories: dict[int, str] = {i.id: _intern(i.category) for i in live if i.category}
        with_pdq = [i for i in live if i.pdq]
        self.pdq = (
            PDQIndex.build([i.id for i in with_pdq], [i.pdq for i in with_pdq if i.pdq])
            if with_pdq
            else PDQIndex()
        )
        self.exact: dict[str, ExactHashIndex] = {}
        for kind in EXACT:
            rows = [(i.id, getattr(i, kind)) for i in live if getattr(i, kind)]
            self.exact[kind] = ExactHashIndex.build(
                kind, [r[0] for r in rows], [r[1] for r in rows]
            )
        self._adds = 0

    def __len__(self) -> int:
        return len(self.categories)

    def apply(self, items: Sequence[GradedItem]) -> None:
        """Items that changed: every one leaves the index, the final ones come back in."""
        if not items:
            return
        latest = {i.id: i for i in sorted(items, key=lambda i: i.seq)}
        added = [i for i in latest.values() if i.category is not None]
        ids = list(latest)
        for item in added:
            if item.category is not None and item.id not in self.categories:
                self.categories[item.id] = _intern(item.category)
        self.pdq.remove(ids, missing_ok=True)
        for index in self.exact.values():
            index.remove(ids, missing_ok=True)
        with_pdq = [i for i in added if i.pdq]
        if with_pdq:
            self.pdq.add([i.id for i in with_pdq], [i.pdq for i in with_pdq if i.pdq])
        for kind, index in self.exact.items():
            rows = [(i.id, getattr(i, kind)) for i in added if getattr(i, kind)]
            if rows:
                index.add([r[0] for r in rows], [r[1] for r in rows])
        for item in latest.values():
            if item.category is None:
                self.categories.pop(item.id, None)
            else:
                self.categories[item.id] = _intern(item.category)
        self._adds += len(added)
        if self._adds > _EXACT_COMPACT_ADDS:
            for index in self.exact.values():
                index.compact()
            self._adds = 0

    def search(
        self, items: Sequence[KnownHashes], pdq_distance: int
    ) -> dict[int, list[KnownMatch]]:
        """The matches of the items that have any, by position (most items of a batch have
        none: no list made for each)."""
        categories = self.categories
        found: dict[int, list[KnownMatch]] = {}

        def hit(position: int, media_id: int, distance: int, signal: str) -> None:
            category = categories.get(media_id)
            if category is not None:
                found.setdefault(position, []).append(
                    KnownMatch("grade", category, distance, signal, media_id=media_id)
                )

        for kind, index in self.exact.items():
            if not len(index):
                continue
            at = [p for p, item in enumerate(items) if getattr(item, kind)]
            if at:
                digests = [getattr(items[p], kind) for p in at]
                for position, ids in zip(at, index.lookup_batch(digests), strict=True):
                    for media_id in ids:
                        hit(position, media_id, 0, kind)
        at = [p for p, item in enumerate(items) if item.pdq_usable()] if len(self.pdq) else []
        if at:
            codes = [items[p].pdq or "" for p in at]
            for position, matches in zip(
                at, self.pdq.search_batch(codes, radius=pdq_distance), strict=True
            ):
                for match in matches:
                    hit(position, match.id, match.distance, "pdq")
        return found


_CATEGORIES: dict[str, str] = {}
_CATEGORIES_LOCK = threading.Lock()


def _intern(category: str) -> str:
    # A handful of labels shared by millions of items: one string object each.
    with _CATEGORIES_LOCK:
        return _CATEGORIES.setdefault(category, category)


class GradeFeed:
    """Reads what changed since the last poll; see the module's docstring."""

    def __init__(self, *, track_gaps: bool, clock: Callable[[], float] = time.monotonic) -> None:
        self.track_gaps = track_gaps
        self.applied = 0  # the highest number applied
        self.gaps: dict[int, float] = {}  # number -> when first missed
        self._clock = clock

    def load(self, reader: Reader) -> list[GradedItem]:
        """Every finally graded item, from nothing."""
        self.applied, self.gaps = 0, {}
        return self._past(reader, 0)

    def poll(self, reader: Reader, newest: int | None = None) -> list[GradedItem] | None:
        """What changed since the last poll; None when the table went backwards (a restore,
        a fresh database): the caller rebuilds with `load`. `newest`: the highest number
        now, when the caller already read it (`NEWEST` as a subquery)."""
        if newest is None:
            newest = reader.execute(select(NEWEST)).scalar()
        newest = newest or 0
        if newest < self.applied:
            return None
        changed = self._past(reader, self.applied) if newest > self.applied else []
        if self.gaps:
            changed.extend(self._filled(reader))
        return changed

    def _past(self, reader: Reader, after: int) -> list[GradedItem]:
        items = [
            _item(row)
            for row in reader.execute(
                select(*_COLUMNS)
                .where(MediaItemRow.known_seq > after)
                .order_by(MediaItemRow.known_seq)
            )
        ]
        if items:
            if self.track_gaps:
                seen = {i.seq for i in items}
                now = self._clock()
                last = items[-1].seq
                for seq in range(max(after + 1, last - MAX_GAPS), last):
                    if seq not in seen:
                        self.gaps.setdefault(seq, now)
                self._trim_gaps()
            self.applied = items[-1].seq
        return items

    def _filled(self, reader: Reader) -> list[GradedItem]:
        missing = sorted(self.gaps)
        items: list[GradedItem] = []
        for start in range(0, len(missing), _IN_CHUNK):
            chunk = missing[start : start + _IN_CHUNK]
            items.extend(
                _item(row)
                for row in reader.execute(
                    select(*_COLUMNS).where(MediaItemRow.known_seq.in_(chunk))
                )
            )
        for item in items:
            self.gaps.pop(item.seq, None)
        self._trim_gaps()
        return items

    def _trim_gaps(self) -> None:
        now = self._clock()
        for seq, since in list(self.gaps.items()):
            if now - since > GAP_SECONDS:
                del self.gaps[seq]
        if len(self.gaps) > MAX_GAPS:
            for seq in sorted(self.gaps)[: len(self.gaps) - MAX_GAPS]:
                del self.gaps[seq]

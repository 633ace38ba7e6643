"""One list's hashes of one plug-in signal type, searched the way its kind says.

- EXACT kinds (a digest): a dict from value to entry ids.
- DISTANCE kinds whose canonical form is hex of a fixed length and whose distance is the
  Hamming distance, as the signal type declares with `hamming_bits` (a 64-bit difference hash: 64):
  `hotline.index.hamming_index.HammingIndex`, a vectorised XOR-and-popcount scan.
- Any other DISTANCE kind (a PhotoDNA, whose distance is not bit-counting): the plug-in's
  own `compare` against every stored hash of the list, the plain fallback.

DISTANCE kinds match within the radius the caller gives: the list's own maximum distance
for the type (`ListInfo.max_distance`), by default the signal type's `max_distance`. Writers
are serialised by the caller (one refresh at a time); searches may run meanwhile and see each
change whole or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from hotline.hashing.signals import SignalKind, SignalType
from hotline.index.errors import IndexInputError
from hotline.index.hamming_index import HammingIndex
from hotline.index.segments import Match

log = logging.getLogger(__name__)


def hamming_bits(signal: type[SignalType]) -> int | None:
    """The bit length a signal type declares for Hamming search (`SignalType.hamming_bits`,
    a positive multiple of 4, on a DISTANCE kind), or None: then its `compare` decides. A
    plug-in's value is checked here too (its class attribute is not typed for us)."""
    bits: object = signal.hamming_bits
    if signal.kind is not SignalKind.DISTANCE or isinstance(bits, bool):
        return None
    return bits if isinstance(bits, int) and bits > 0 and bits % 4 == 0 else None


class SignalIndex:
    """The hashes of `signal` on one list, keyed by entry id."""

    def __init__(self, signal: type[SignalType]) -> None:
        self.signal = signal
        self.radius = 0 if signal.kind is SignalKind.EXACT else signal.max_distance
        bits = hamming_bits(signal)
        self._hamming = HammingIndex(bits) if bits is not None else None
        # Entry id -> value, replaced (never changed in place) so a search reads a snapshot.
        self._values: dict[int, str] = {}
        self._by_value: dict[str, tuple[int, ...]] = {}  # EXACT kinds only

    def __len__(self) -> int:
        return len(self._values)

    def add(self, rows: Iterable[tuple[int, str]]) -> None:
        """Add (entry id, canonical value); an id already held is left as it is."""
        new = [(i, v) for i, v in rows if i not in self._values]
        if not new:
            return
        if self._hamming is not None:
            try:
                self._hamming.add([i for i, _ in new], [v for _, v in new])
            except IndexInputError:
                # A value not of the declared length: compare the slow way from now on.
                log.error(
                    "%s values are not %d-bit hex: searched with compare",
                    self.signal.name,
                    self._hamming.bits,
                )
                self._hamming = None
        values = dict(self._values)
        values.update(new)
        if self.signal.kind is SignalKind.EXACT:
            by_value = dict(self._by_value)
            for entry_id, value in new:
                by_value[value] = (*by_value.get(value, ()), entry_id)
            self._by_value = by_value
        self._values = values

    def remove(self, entry_ids: Sequence[int]) -> None:
        gone = [i for i in entry_ids if i in self._values]
        if not gone:
            return
        if self._hamming is not None:
            self._hamming.remove(gone, missing_ok=True)
        values = dict(self._values)
        if self.signal.kind is SignalKind.EXACT:
            by_value = dict(self._by_value)
            for entry_id in gone:
                value = values[entry_id]
                left = tuple(i for i in by_value.get(value, ()) if i != entry_id)
                if left:
                    by_value[value] = left
                else:
                    by_value.pop(value, None)
            self._by_value = by_value
        for entry_id in gone:
            del values[entry_id]
        self._values = values

    def search(self, values: Sequence[str], radius: int | None = None) -> list[list[Match]]:
        """Per query value (canonical), the entries within `radius` (default: the signal
        type's `max_distance`), nearest first. Exact kinds match by value whatever it is."""
        radius = self.radius if radius is None else radius
        if self.signal.kind is SignalKind.EXACT:
            by_value = self._by_value
            return [[Match(i, 0) for i in sorted(by_value.get(v, ()))] for v in values]
        hamming = self._hamming
        if hamming is not None:
            try:
                return hamming.search_batch(values, radius)
            except IndexInputError:  # a query not of the declared length
                pass
        return [self._compare_all(v, radius) for v in values]

    def _compare_all(self, value: str, radius: int) -> list[Match]:
        found = []
        for entry_id, stored in self._values.items():
            try:
                result = self.signal.compare(value, stored, radius)
            except Exception:  # third-party code: one bad comparison never sinks a search
                log.exception("%s could not compare two hashes", self.signal.name)
                continue
            if result.matched:
                found.append(Match(entry_id, result.distance))
        found.sort(key=lambda m: (m.distance, m.id))
        return found

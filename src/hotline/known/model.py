"""What a known-material lookup takes and answers, and which answer is best. No ORM here."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from hotline.errors import N_, FieldError, InvalidInput
from hotline.index import MAX_RADIUS

MIN_PDQ_QUALITY = 50  # a PDQ hash below this quality says too little to match on
DEFAULT_PDQ_DISTANCE = 31
MAX_PDQ_DISTANCE = MAX_RADIUS  # the index's widest search; 31 is the usual threshold

EXACT = ("sha256", "sha1", "md5")  # strongest first: the order among exact matches
_HEX = {"sha256": 64, "sha1": 40, "md5": 32, "pdq": 64}
_HEX_RE = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True)
class KnownHashes:
    """One item's hashes; any may be missing (a list import may carry only MD5)."""

    sha256: str | None = None
    md5: str | None = None
    sha1: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None

    def pdq_usable(self) -> bool:
        return bool(self.pdq) and (self.pdq_quality or 0) >= MIN_PDQ_QUALITY


@dataclass(frozen=True)
class KnownMatch:
    """Known material an item matched. `source` "grade": a finally graded media item
    (`media_id`); "list": a live entry (`entry_id`) of a hash list (`list_name`; an imported
    list's provenance in `list_source`). `signal`: the hash that matched (sha256, sha1, md5:
    distance 0; pdq: distance in bits). `category`: the grade's category, or the list's label."""

    source: str
    category: str
    distance: int
    signal: str
    media_id: int | None = None
    list_name: str | None = None
    list_source: str | None = None
    entry_id: int | None = None

    @property
    def exact(self) -> bool:
        return self.signal in EXACT


def rank(match: KnownMatch) -> tuple[int, int, int, int, str, int]:
    """Smaller is better: exact before PDQ (stronger digests first), then nearer, then graded
    media before list entries, then the earliest item or list name and entry."""
    strength = EXACT.index(match.signal) if match.exact else len(EXACT)
    return (
        0 if match.exact else 1,
        match.distance,
        0 if match.source == "grade" else 1,
        strength,
        match.list_name or "",
        match.media_id if match.media_id is not None else (match.entry_id or 0),
    )


def best(matches: list[KnownMatch]) -> KnownMatch | None:
    return min(matches, key=rank, default=None)


_HEX_BYTES = np.zeros(256, dtype=bool)
_HEX_BYTES[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = True


def all_lower_hex(text: str) -> bool:
    """Is every character of `text` a lower-case hex digit? For many values joined at once (a
    batch's digests, a manifest chunk's column): a table look-up a byte, about ten times as
    fast as a regex over the same text."""
    if not text.isascii():
        return False
    return bool(_HEX_BYTES[np.frombuffer(text.encode("ascii"), dtype=np.uint8)].all())


def _all_normal(items: list[KnownHashes] | tuple[KnownHashes, ...]) -> bool:
    """Is every hash already lower-case hex of its length, every quality 0-100? One check
    over each kind's values joined (a manifest's batch of 10,000 rows, checked when parsed,
    passes in a few milliseconds instead of a regex and a new object an item and field)."""
    for name, width in _HEX.items():
        values = [v for v in (getattr(item, name) for item in items) if v is not None and v != ""]
        if not values:
            continue
        if not all(isinstance(v, str) for v in values) or set(map(len, values)) != {width}:
            return False
        if not all_lower_hex("".join(values)):
            return False
    return all(
        q is None or (type(q) is int and 0 <= q <= 100) for q in (i.pdq_quality for i in items)
    )


def normalised(items: list[KnownHashes] | tuple[KnownHashes, ...]) -> list[KnownHashes]:
    """Hashes lower-cased and checked (hex of the right length, quality 0-100): InvalidInput
    naming every bad field as `items[i].field`, before anything is searched."""
    if _all_normal(items):
        return list(items)
    errors: list[FieldError] = []
    out: list[KnownHashes] = []
    for i, item in enumerate(items):
        values: dict[str, str | None] = {}
        for name, width in _HEX.items():
            value = getattr(item, name)
            if value is None or value == "":
                values[name] = None
                continue
            text = value.strip().lower() if isinstance(value, str) else ""
            if len(text) != width or not _HEX_RE.fullmatch(text):
                errors.append(
                    FieldError(
                        f"items[{i}].{name}", N_("must be %(width)s hex digits", width=width)
                    )
                )
            values[name] = text
        quality = item.pdq_quality
        if quality is not None and (
            isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 100
        ):
            errors.append(FieldError(f"items[{i}].pdq_quality", N_("must be 0-100")))
            quality = None
        out.append(
            KnownHashes(values["sha256"], values["md5"], values["sha1"], values["pdq"], quality)
        )
    if errors:
        raise InvalidInput(N_("some hashes are not valid; nothing was looked up"), fields=errors)
    return out


def check_distance(pdq_distance: int) -> int:
    if isinstance(pdq_distance, bool) or not isinstance(pdq_distance, int):
        raise InvalidInput(N_("pdq_distance must be a whole number"), fields=[_distance_error()])
    if not 0 <= pdq_distance <= MAX_PDQ_DISTANCE:
        raise InvalidInput(N_("pdq_distance is out of range"), fields=[_distance_error()])
    return pdq_distance


def _distance_error() -> FieldError:
    return FieldError(
        "pdq_distance", N_("must be 0-%(max_pdq_distance)s", max_pdq_distance=MAX_PDQ_DISTANCE)
    )

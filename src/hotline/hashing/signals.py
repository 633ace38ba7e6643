"""Signal types: each hash algorithm as a small plug-in class, looked up by name.

In the spirit of python-threatexchange's `signal_type/*/signal.py`: a signal type hashes
bytes, validates and normalises a hash string, and compares two hashes. The registry lets
lists, the index and the match API name an algorithm ("pdq") without importing it.

Third-party signal types (a licensed PhotoDNA, a new perceptual hash) are `SignalType`
subclasses published under the entry-point group `hotline.signal_types`; they are found once,
on the first look-up, and merged with the built-ins. A plug-in that fails to load is logged
and skipped, and one that claims a taken name is refused: neither stops hotline starting.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from importlib.metadata import EntryPoint, entry_points
from typing import ClassVar, Protocol, runtime_checkable

from hotline_client import vpdq as video_rule

from hotline.errors import N_
from hotline.hashing import pdq as pdq_algo
from hotline.hashing.errors import ErrorCode, HashingError, InvalidHashError
from hotline.hashing.hexhash import hamming_distance, normalise_hex
from hotline.hashing.vpdq import VpdqFrame, parse_vpdq_lines, vpdq_from_bytes

log = logging.getLogger(__name__)

# Meta's recommended PDQ match radius; lists may configure their own.
PDQ_MATCH_DISTANCE = 31
ENTRY_POINT_GROUP = "hotline.signal_types"
# A signal type's name is a column value, a JSON key and a CLI argument: keep it plain.
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# Keys that list entries already use besides their hashes: in list files, releases, deltas
# (JSON lines and CSV columns) and imports (a CSV's `ref`), plus the match API's `hashes`.
# A plug-in's hashes travel under its own name, so a plug-in with one of these names (or a
# built-in's) could not be told apart from the field: the registry refuses it.
ENTRY_FIELD_NAMES = frozenset(
    {
        "id",
        "op",
        "ref",
        "category",
        "pdq_quality",
        "added_at",
        "jurisdictions",
        "metadata",
        "url",
        "term",
        "note",
        "reason",
        "withdrawn_at",
        "hashes",
    }
)


class SignalKind(StrEnum):
    """How hashes of a type are matched: equal digests, or within a distance."""

    EXACT = "exact"  # looked up by value (a digest)
    DISTANCE = "distance"  # searched within `max_distance` (a perceptual hash)


@dataclass(frozen=True, slots=True)
class Comparison:
    """Result of comparing two hashes: a distance and whether it is a match."""

    distance: int
    matched: bool


class SignalType(ABC):
    """A hash algorithm. Subclasses are stateless; every method is a classmethod.

    A plug-in sets `name`, `description`, `kind`, `max_distance` and `applies_to` (and
    `hamming_bits` when it applies), and implements `hash_bytes`, `validate` and `compare`
    (docs/hashing.md).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    kind: ClassVar[SignalKind] = SignalKind.DISTANCE
    # The default match radius (a list may set its own); 0 for exact digests.
    max_distance: ClassVar[int] = 0
    # Which media it is computed for: "image", "video" (hotline.hashing.MediaKind values).
    applies_to: ClassVar[frozenset[str]] = frozenset({"image"})
    # For a DISTANCE kind whose canonical form is this many bits as hex (a positive multiple
    # of 4) and whose distance is the Hamming distance: the match index may then search it
    # with a vectorised XOR-and-popcount scan instead of calling `compare`. None: it may not.
    hamming_bits: ClassVar[int | None] = None

    @classmethod
    def hash_media(cls, data: bytes, media_kind: str) -> str:
        """The hash of one stored or fetched file whose kind (image or video) is known.
        The default ignores the kind; override to hash frames differently, say."""
        return cls.hash_bytes(data)

    @classmethod
    def examples(cls) -> list[str]:
        """A few valid hash strings, for tests (python-threatexchange's get_examples)."""
        return []

    @classmethod
    @abstractmethod
    def hash_bytes(cls, data: bytes) -> str:
        """The hash of a file's bytes, as its canonical string."""

    @classmethod
    @abstractmethod
    def validate(cls, value: str) -> str:
        """The canonical form of `value`; InvalidHashError if it is malformed."""

    @classmethod
    @abstractmethod
    def compare(cls, a: str, b: str, threshold: int | None = None) -> Comparison:
        """Compare two hash strings (each is validated first)."""


class ExactDigestSignal(SignalType):
    """A cryptographic digest of the file bytes: equal or not (distance 0 or 1)."""

    digest: ClassVar[str]
    hex_length: ClassVar[int]
    kind = SignalKind.EXACT
    applies_to = frozenset({"image", "video"})

    @classmethod
    def hash_bytes(cls, data: bytes) -> str:
        return hashlib.new(cls.digest, data, usedforsecurity=False).hexdigest()

    @classmethod
    def examples(cls) -> list[str]:
        return [cls.hash_bytes(b"benign example"), cls.hash_bytes(b"")]

    @classmethod
    def validate(cls, value: str) -> str:
        return normalise_hex(value, cls.hex_length, name=f"{cls.name} hash")

    @classmethod
    def compare(cls, a: str, b: str, threshold: int | None = None) -> Comparison:
        same = cls.validate(a) == cls.validate(b)
        return Comparison(0 if same else 1, same)


class Md5Signal(ExactDigestSignal):
    name = "md5"
    description = "MD5 of the file bytes (legacy lists; exact match only)"
    digest = "md5"
    hex_length = 32


class Sha1Signal(ExactDigestSignal):
    name = "sha1"
    description = "SHA-1 of the file bytes (exact match only)"
    digest = "sha1"
    hex_length = 40


class Sha256Signal(ExactDigestSignal):
    name = "sha256"
    description = "SHA-256 of the file bytes (exact match only)"
    digest = "sha256"
    hex_length = 64


class PdqSignal(SignalType):
    """Meta's PDQ: 256 bits as 64 hex digits; Hamming distance, match at <= 31 by default."""

    name = "pdq"
    description = "PDQ perceptual image hash (256 bits) with a quality score"
    hex_length = pdq_algo.HEX_LENGTH
    max_distance = PDQ_MATCH_DISTANCE
    hamming_bits = 4 * pdq_algo.HEX_LENGTH  # 256

    @classmethod
    def examples(cls) -> list[str]:
        return ["f" * 64, "0" * 32 + "f" * 32]

    @classmethod
    def hash_bytes(cls, data: bytes) -> str:
        return cls.hash_with_quality(data).hex

    @classmethod
    def hash_with_quality(cls, data: bytes) -> pdq_algo.PdqHash:
        """Hash and quality; the quality is what tells a flat or tiny image apart."""
        from hotline.hashing.media import pdq_from_bytes

        return pdq_from_bytes(data)

    @classmethod
    def validate(cls, value: str) -> str:
        return normalise_hex(value, cls.hex_length, name="PDQ hash")

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        return hamming_distance(cls.validate(a), cls.validate(b))

    @classmethod
    def compare(cls, a: str, b: str, threshold: int | None = None) -> Comparison:
        limit = PDQ_MATCH_DISTANCE if threshold is None else threshold
        d = cls.distance(a, b)
        return Comparison(d, d <= limit)


class VpdqSignal(SignalType):
    """Meta's vPDQ: PDQ per frame, serialised one frame a line as `frame,quality,pdq,ts`."""

    name = "vpdq"
    description = "vPDQ video hash: a PDQ hash for every frame"
    applies_to = frozenset({"video"})
    max_distance = PDQ_MATCH_DISTANCE  # per frame; a video matches on its share of frames
    quality_threshold: ClassVar[int] = pdq_algo.QUALITY_THRESHOLD
    # Share of the query's frames (percent) that must find a match: the one video rule
    # (hotline_client.vpdq, docs/matching.md), python-threatexchange's; nothing is required
    # of the other video's frames by default.
    match_percent: ClassVar[float] = video_rule.QUERY_PERCENT

    @classmethod
    def hash_bytes(cls, data: bytes) -> str:
        return cls.serialise(vpdq_from_bytes(data))

    @staticmethod
    def serialise(frames: list[VpdqFrame]) -> str:
        return "\n".join(frame.to_line() for frame in frames)

    @classmethod
    def validate(cls, value: str) -> str:
        frames = parse_vpdq_lines(value)
        if not frames:
            raise InvalidHashError(N_("a vPDQ hash needs at least one frame"))
        return cls.serialise(frames)

    @classmethod
    def match_percentages(
        cls, a: list[VpdqFrame], b: list[VpdqFrame], distance: int = PDQ_MATCH_DISTANCE
    ) -> tuple[float, float]:
        """Percent of `a`'s good frames matching some frame of `b`, and the reverse.

        Like Meta's matchTwoHashBrute: frames under the quality threshold are ignored.
        """
        good_a = [f.pdq for f in a if f.quality >= cls.quality_threshold]
        good_b = [f.pdq for f in b if f.quality >= cls.quality_threshold]
        if not good_a or not good_b:
            return 0.0, 0.0
        ints_a = [int(h, 16) for h in good_a]
        ints_b = [int(h, 16) for h in good_b]

        def share(xs: list[int], ys: list[int]) -> float:
            hits = sum(1 for x in xs if any((x ^ y).bit_count() <= distance for y in ys))
            return 100.0 * hits / len(xs)

        return share(ints_a, ints_b), share(ints_b, ints_a)

    @classmethod
    def compare(cls, a: str, b: str, threshold: int | None = None) -> Comparison:
        """`a` is the query, `b` the listed video, under the default video rule; distance =
        100 minus the share of `a`'s frames found in `b` (0 = every one)."""
        pa, pb = cls.match_percentages(
            parse_vpdq_lines(a),
            parse_vpdq_lines(b),
            PDQ_MATCH_DISTANCE if threshold is None else threshold,
        )
        return Comparison(video_rule.distance(pa), video_rule.DEFAULT_RULE.matches(pa, pb))


@runtime_checkable
class ProprietaryHasher(Protocol):
    """Slot for a licensed hash (e.g. Microsoft PhotoDNA). We ship no implementation.

    A hotline that holds a licence registers an object with this shape under its name;
    nothing else in hotline needs to change.
    """

    name: str

    def hash_bytes(self, data: bytes) -> str: ...

    def validate(self, value: str) -> str: ...

    def distance(self, a: str, b: str) -> int: ...


AnySignal = type[SignalType] | ProprietaryHasher
BUILTIN_SIGNAL_TYPES: dict[str, type[SignalType]] = {
    cls.name: cls for cls in (Md5Signal, Sha1Signal, Sha256Signal, PdqSignal, VpdqSignal)
}
_REGISTRY: dict[str, AnySignal] = dict(BUILTIN_SIGNAL_TYPES)
_plugins: dict[str, type[SignalType]] | None = None
_plugins_lock = threading.Lock()


def discover_plugins(found: Iterable[EntryPoint] | None = None) -> dict[str, type[SignalType]]:
    """The signal types published under `hotline.signal_types`, by name. Anything that
    fails to import, is not a `SignalType` subclass, has a bad name or takes a name already
    used is logged and skipped: a broken plug-in never stops hotline starting."""
    plugins: dict[str, type[SignalType]] = {}
    points = entry_points(group=ENTRY_POINT_GROUP) if found is None else found
    for point in sorted(points, key=lambda p: (p.name, p.value)):
        where = f"{point.name} = {point.value}"
        try:
            loaded = point.load()
        except Exception as exc:  # any import-time failure of third-party code
            log.error("signal type plug-in %r could not be loaded, skipped: %r", where, exc)
            continue
        if not (isinstance(loaded, type) and issubclass(loaded, SignalType)):
            log.error("signal type plug-in %r is not a SignalType subclass, skipped", where)
            continue
        name = getattr(loaded, "name", None)
        if not isinstance(name, str) or not _NAME_RE.match(name):
            log.error("signal type plug-in %r has an invalid name %r, skipped", where, name)
        elif name in BUILTIN_SIGNAL_TYPES or name in plugins:
            log.error("signal type plug-in %r claims the taken name %r, refused", where, name)
        elif name in ENTRY_FIELD_NAMES:
            log.error(
                "signal type plug-in %r is named %r, a field list entries already use, refused",
                where,
                name,
            )
        elif getattr(loaded, "__abstractmethods__", None):
            missing = ", ".join(sorted(loaded.__abstractmethods__))
            log.error("signal type plug-in %r does not implement %s, skipped", where, missing)
        else:
            plugins[name] = loaded
    return plugins


def load_plugins(*, reload: bool = False) -> dict[str, type[SignalType]]:
    """The plug-ins found through entry points: discovered once per process."""
    global _plugins
    if _plugins is None or reload:
        with _plugins_lock:
            if _plugins is None or reload:
                _plugins = discover_plugins()
    return _plugins


def _registry() -> dict[str, AnySignal]:
    registry = _REGISTRY
    for name, plugin in load_plugins().items():
        registry.setdefault(name, plugin)
    return registry


def register_signal_type(signal: AnySignal) -> None:
    """Add a signal type (e.g. a licensed PhotoDNA hasher) under its `name`. ValueError if
    the name is taken (a built-in's or another plug-in's) or is a list-entry field name."""
    registry = _registry()
    kind = signal if isinstance(signal, type) else type(signal)
    what = f"{kind.__module__}.{kind.__qualname__}"
    if signal.name in registry:
        raise ValueError(
            f"signal type {what} claims the name {signal.name!r}, already registered; refused"
        )
    if signal.name in ENTRY_FIELD_NAMES:
        raise ValueError(
            f"signal type {what} is named {signal.name!r}, a field list entries already use; "
            "refused"
        )
    registry[signal.name] = signal


def get_signal_type(name: str) -> AnySignal:
    """The signal type called `name` (case-insensitive); HashingError if unknown."""
    registry = _registry()
    try:
        return registry[name.strip().lower()]
    except KeyError:
        known = ", ".join(sorted(registry))
        raise HashingError(
            ErrorCode.UNKNOWN_SIGNAL,
            N_("unknown signal type '%(name)s' (known: %(known)s)", name=name, known=known),
        ) from None


def signal_type_names() -> list[str]:
    return sorted(_registry())


def plugin_signal_types() -> list[type[SignalType]]:
    """The registered signal types that are not built in (entry points or registered in
    code), by name: those whose hashes live in the `media_signals` table."""
    return [
        signal
        for name, signal in sorted(_registry().items())
        if name not in BUILTIN_SIGNAL_TYPES
        and isinstance(signal, type)
        and issubclass(signal, SignalType)
    ]


def plugin_signals_for(data: bytes, media_kind: str) -> dict[str, str]:
    """Every plug-in signal that applies to a file of `media_kind`, by name. A plug-in that
    fails on this file is logged and left out: third-party code never sinks a capture."""
    found: dict[str, str] = {}
    for signal in plugin_signal_types():
        if media_kind not in signal.applies_to:
            continue
        try:
            found[signal.name] = signal.validate(signal.hash_media(data, media_kind))
        except Exception as exc:
            log.warning("signal type %r could not hash a %s: %r", signal.name, media_kind, exc)
    return found

"""Signal types: each hash algorithm as a small plug-in class, looked up by name.

In the spirit of python-threatexchange's `signal_type/*/signal.py`: a signal type hashes
bytes, validates and normalises a hash string, and compares two hashes. The registry lets
lists, the index and the match API name an algorithm ("pdq") without importing it.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from hotline.hashing import pdq as pdq_algo
from hotline.hashing.errors import ErrorCode, HashingError, InvalidHashError
from hotline.hashing.hexhash import hamming_distance, normalise_hex
from hotline.hashing.vpdq import VpdqFrame, parse_vpdq_lines, vpdq_from_bytes

# Meta's recommended PDQ match radius; lists may configure their own.
PDQ_MATCH_DISTANCE = 31


@dataclass(frozen=True, slots=True)
class Comparison:
    """Result of comparing two hashes: a distance and whether it is a match."""

    distance: int
    matched: bool


class SignalType(ABC):
    """A hash algorithm. Subclasses are stateless; every method is a classmethod."""

    name: ClassVar[str]
    description: ClassVar[str]

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

    @classmethod
    def hash_bytes(cls, data: bytes) -> str:
        return hashlib.new(cls.digest, data, usedforsecurity=False).hexdigest()

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
    quality_threshold: ClassVar[int] = pdq_algo.QUALITY_THRESHOLD
    # Share of frames (percent) that must find a match, both ways, as in Meta's vpdq matcher.
    match_percent: ClassVar[float] = 80.0

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
            raise InvalidHashError("a vPDQ hash needs at least one frame")
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
        """distance = 100 minus the smaller match percentage (0 = every frame matched)."""
        pa, pb = cls.match_percentages(
            parse_vpdq_lines(a),
            parse_vpdq_lines(b),
            PDQ_MATCH_DISTANCE if threshold is None else threshold,
        )
        worst = min(pa, pb)
        return Comparison(round(100 - worst), worst >= cls.match_percent)


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


_REGISTRY: dict[str, type[SignalType] | ProprietaryHasher] = {
    cls.name: cls for cls in (Md5Signal, Sha1Signal, Sha256Signal, PdqSignal, VpdqSignal)
}


def register_signal_type(signal: type[SignalType] | ProprietaryHasher) -> None:
    """Add a signal type (e.g. a licensed PhotoDNA hasher) under its `name`."""
    if signal.name in _REGISTRY:
        raise ValueError(f"a signal type named {signal.name!r} is already registered")
    _REGISTRY[signal.name] = signal


def get_signal_type(name: str) -> type[SignalType] | ProprietaryHasher:
    """The signal type called `name` (case-insensitive); HashingError if unknown."""
    try:
        return _REGISTRY[name.strip().lower()]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise HashingError(
            ErrorCode.UNKNOWN_SIGNAL, f"unknown signal type {name!r} (known: {known})"
        ) from None


def signal_type_names() -> list[str]:
    return sorted(_REGISTRY)

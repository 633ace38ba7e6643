"""Hex hash strings: validation, normalisation and Hamming distance."""

from __future__ import annotations

import string

from hotline.errors import N_
from hotline.hashing.errors import InvalidHashError

_HEX_DIGITS = frozenset(string.hexdigits)


def normalise_hex(value: str, length: int, *, name: str = "hash") -> str:
    """Lowercase, stripped `value` if it is exactly `length` hex digits; else InvalidHashError."""
    if not isinstance(value, str):
        raise InvalidHashError(N_("%(name)s must be a string", name=name))
    cleaned = value.strip().lower()
    if len(cleaned) != length:
        raise InvalidHashError(
            N_(
                "%(name)s must be %(length)s hex digits, got %(count)s characters",
                name=name,
                length=length,
                count=len(cleaned),
            )
        )
    bad = sorted(set(cleaned) - _HEX_DIGITS)
    if bad:
        raise InvalidHashError(
            N_("%(name)s must be hexadecimal; found '%(found)s'", name=name, found="".join(bad))
        )
    return cleaned


def hamming_distance(a: str, b: str) -> int:
    """Number of differing bits between two equal-length hex strings (already normalised)."""
    if len(a) != len(b):
        raise InvalidHashError(
            N_(
                "cannot compare hashes of %(count)s and %(count2)s hex digits",
                count=len(a),
                count2=len(b),
            )
        )
    return (int(a, 16) ^ int(b, 16)).bit_count()

"""Hex hash strings: validation, normalisation and Hamming distance."""

from __future__ import annotations

import string

from hotline.hashing.errors import InvalidHashError

_HEX_DIGITS = frozenset(string.hexdigits)


def normalise_hex(value: str, length: int, *, name: str = "hash") -> str:
    """Lowercase, stripped `value` if it is exactly `length` hex digits; else InvalidHashError."""
    if not isinstance(value, str):
        raise InvalidHashError(f"{name} must be a string, not {type(value).__name__}")
    cleaned = value.strip().lower()
    if len(cleaned) != length:
        raise InvalidHashError(f"{name} must be {length} hex digits, got {len(cleaned)} characters")
    bad = sorted(set(cleaned) - _HEX_DIGITS)
    if bad:
        raise InvalidHashError(f"{name} must be hexadecimal; found {''.join(bad)!r}")
    return cleaned


def hamming_distance(a: str, b: str) -> int:
    """Number of differing bits between two equal-length hex strings (already normalised)."""
    if len(a) != len(b):
        raise InvalidHashError(f"cannot compare hashes of {len(a)} and {len(b)} hex digits")
    return (int(a, 16) ^ int(b, 16)).bit_count()

"""Member API keys: issue, recognise, and decide what a key may search.

A key reads `hlk_<prefix>_<secret>`: the 12-hex-digit prefix is public and names the key in
listings and logs; the secret is 256 random bits. Only SHA-256 of the whole key is stored (a
slow password hash buys nothing against 256 random bits) and it is compared in constant time.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hotline.errors import N_, FieldError, Forbidden
from hotline.security.crypto import sha256_hex

KEY_PREFIX = "hlk_"
_PREFIX_HEX = 12
_SECRET_HEX = 64  # 256 bits
_KEY_RE = re.compile(rf"^hlk_([0-9a-f]{{{_PREFIX_HEX}}})_([0-9a-f]{{{_SECRET_HEX}}})$")
# Compared against when the prefix is unknown, so both paths do the same work.
_DUMMY_HASH = sha256_hex("hlk_unknown")


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key. `key` exists only here: show it once, store `key_sha256`."""

    key: str
    prefix: str
    key_sha256: str


def issue() -> IssuedKey:
    prefix = secrets.token_hex(_PREFIX_HEX // 2)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_hex(_SECRET_HEX // 2)}"
    return IssuedKey(key, prefix, hash_key(key))


def hash_key(key: str) -> str:
    return sha256_hex(key)


def prefix_of(presented: str) -> str | None:
    """The prefix of a well-formed key, else None (nothing to look up)."""
    found = _KEY_RE.match(presented)
    return found.group(1) if found else None


def verify(presented: str, stored_sha256: str | None) -> bool:
    """Constant-time check of a presented key against the stored hash (None: unknown key)."""
    expected = stored_sha256 if stored_sha256 is not None else _DUMMY_HASH
    ok = hmac.compare_digest(hash_key(presented).encode(), expected.encode())
    return ok and stored_sha256 is not None


def searchable_lists(scopes: Iterable[str], requested: Sequence[str] | None = None) -> list[str]:
    """THE scope check: the lists a key may search, narrowed to `requested` if given.

    Asking for a list outside the key's scopes is refused rather than silently dropped, so a
    member never believes it searched a list it did not.
    """
    allowed = sorted(set(scopes))
    if not requested:
        return allowed
    outside = sorted(set(requested) - set(allowed))
    if outside:
        raise Forbidden(
            N_("this key may not search some of the lists asked for"),
            fields=[
                FieldError("list", N_("not in this key's scopes: %(name)s", name=name))
                for name in outside
            ],
        )
    return sorted(set(requested))

"""Password hashing with argon2id."""

from __future__ import annotations

import os
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from hotline.errors import N_, TranslatableError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

# Each argon2 check uses 4 lanes and 64 MiB: more checks at once than cores only slows them
# all and starves everything else (the event loop included). Extra checks queue here, on
# their thread-pool threads.
_CHECKS_AT_ONCE = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


class WeakPasswordError(TranslatableError, ValueError):
    pass


def check_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(
            N_("password must be at least %(min)s characters", min=MIN_PASSWORD_LENGTH)
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPasswordError(
            N_("password must be at most %(max)s characters", max=MAX_PASSWORD_LENGTH)
        )
    if len(set(password)) < 5:
        raise WeakPasswordError(N_("password uses too few different characters"))


def hash_password(password: str) -> str:
    with _CHECKS_AT_ONCE:
        return _hasher.hash(password)


def needs_rehash(stored_hash: str) -> bool:
    """A hash made with other parameters than today's: rehashed at the next right sign-in, so
    every account costs what the dummy hash costs (one cost for every refusal)."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except (InvalidHashError, ValueError):
        return False


def verify_password(stored_hash: str, password: str) -> bool:
    with _CHECKS_AT_ONCE:
        try:
            return _hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


# Compared against when the username is unknown, so timing does not reveal which accounts exist.
DUMMY_HASH = _hasher.hash("no such account, but take as long as a real check")

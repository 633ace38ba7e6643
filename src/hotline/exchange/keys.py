"""This instance's Ed25519 identity for the partner exchange.

Kept in the one Ed25519 key store (hotline.security.keys): made on first use (through
`exchange.actions.our_key` or `signing_identity`, which audit it), the private half
sealed (AES-GCM) with a key derived from the instance secret, so a copy of the database alone
cannot sign as us; key ids as every key's there. Rotation retires the current key and makes a
new one; the retired row stays, with its `retired_at`, as the record of which
key signed what and when. Partners must be given the new public key (`hotline partner key`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.exchange.tables import ExchangeKeyRow
from hotline.security.keys import KeyStore, base64_text

# Its own purpose, so the exchange key and the list-signing key are sealed independently.
_KEYS = KeyStore(ExchangeKeyRow, "exchange-signing-key", base64_text)


@dataclass(frozen=True, slots=True)
class PublicIdentity:
    """What partner admins are given: the key id and the base64 raw public key."""

    key_id: str
    public_key: str
    created_at: datetime
    retired_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Identity:
    key_id: str
    public_key: str
    private: Ed25519PrivateKey


def _public(row: ExchangeKeyRow) -> PublicIdentity:
    return PublicIdentity(row.key_id, row.public_key, row.created_at, row.retired_at)


def find(session: Session) -> PublicIdentity | None:
    """The current public identity (its row locked), or None before the first use."""
    row = _KEYS.current(session)
    return _public(row) if row is not None else None


def create(session: Session, secret: bytes) -> PublicIdentity:
    """Make the first key. Called by `exchange.actions` only, which audits it."""
    return _public(_KEYS.create(session, secret, utcnow()))


def identity(session: Session, secret: bytes) -> Identity | None:
    """The current key with its private half opened, or None before the first use."""
    row = _KEYS.current(session)
    if row is None:
        return None
    return Identity(row.key_id, row.public_key, _KEYS.private(secret, row))


def rotate(session: Session, secret: bytes) -> tuple[PublicIdentity | None, PublicIdentity]:
    """Retire the current key (if any) and make a new one: (retired, new)."""
    old, new = _KEYS.rotate(session, secret)
    return (_public(old) if old else None), _public(new)


def history(session: Session) -> list[PublicIdentity]:
    return [_public(r) for r in _KEYS.history(session)]

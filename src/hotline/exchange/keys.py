"""This instance's Ed25519 identity for the partner exchange.

Made on first use; the private half is kept sealed (AES-GCM) with a key derived from the
instance secret, so a copy of the database alone cannot sign as us. Key ids are computed the
way release-signing keys are (`hotline.lists.signing.key_id_of`). Rotation retires the current
key and makes a new one; the retired row stays, with its `retired_at`, as the record of which
key signed what and when. Partners must be given the new public key (`hotline partner key`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.exchange.tables import ExchangeKeyRow
from hotline.lists.signing import key_id_of
from hotline.security.crypto import new_sealed_ed25519, open_sealed_ed25519

# Its own purpose, so the exchange key and the list-signing key are sealed independently.
_SEAL_PURPOSE = "exchange-signing-key"


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


def _create(session: Session, secret: bytes, at: datetime) -> ExchangeKeyRow:
    public_raw, sealed = new_sealed_ed25519(secret, _SEAL_PURPOSE)
    row = ExchangeKeyRow(
        key_id=key_id_of(public_raw),
        public_key=base64.b64encode(public_raw).decode(),
        private_sealed=sealed,
        created_at=at,
    )
    session.add(row)
    session.flush()
    return row


def _current(session: Session) -> ExchangeKeyRow | None:
    # FOR UPDATE: two workers signing at first use must not each create a key.
    return session.execute(
        select(ExchangeKeyRow)
        .where(ExchangeKeyRow.retired_at.is_(None))
        .order_by(ExchangeKeyRow.id.desc())
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()


def current(session: Session, secret: bytes) -> PublicIdentity:
    """The current public identity, made on first use (needs a write session)."""
    return _public(_current(session) or _create(session, secret, utcnow()))


def identity(session: Session, secret: bytes) -> Identity:
    """The current key with its private half opened, made on first use."""
    row = _current(session) or _create(session, secret, utcnow())
    private = open_sealed_ed25519(secret, _SEAL_PURPOSE, row.private_sealed)
    return Identity(row.key_id, row.public_key, private)


def rotate(session: Session, secret: bytes) -> tuple[PublicIdentity | None, PublicIdentity]:
    """Retire the current key (if any) and make a new one: (retired, new)."""
    now = utcnow()
    old = _current(session)
    if old is not None:
        old.retired_at = now
    new = _create(session, secret, now)
    return (_public(old) if old else None), _public(new)


def history(session: Session) -> list[PublicIdentity]:
    rows = session.execute(select(ExchangeKeyRow).order_by(ExchangeKeyRow.id)).scalars()
    return [_public(r) for r in rows]

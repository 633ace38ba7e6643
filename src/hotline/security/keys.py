"""The one store for this instance's Ed25519 keys: list releases and the partner exchange keep
their signing keys here, each in its own table and under its own seal purpose.

A key is made on first use; its private half is sealed (AES-256-GCM) with a key derived from
the instance secret and the purpose, so a copy of the database alone cannot sign as us, and
one purpose's key cannot open another's. A key's id is the first 16 hex digits of SHA-256 of
its raw public key. Rotation retires the current key and makes a new one; a retired row stays,
with its `retired_at`, as the record of which key signed what and when.

A table that holds keys has the columns key_id, public_key (text: hex or base64, as the
`encode` of its store says), private_sealed, created_at and retired_at.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.security.crypto import new_sealed_ed25519, open_sealed_ed25519

Row = TypeVar("Row")


def key_id_of(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


def hex_text(raw: bytes) -> str:
    return raw.hex()


def base64_text(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@dataclass(frozen=True)
class KeyStore(Generic[Row]):
    """Sealed Ed25519 keys in `table`, sealed for `purpose`."""

    table: type[Row]
    purpose: str
    encode: Callable[[bytes], str] = hex_text  # how the raw public key is stored as text

    @property
    def _t(self) -> Any:  # the mapped class, with its columns
        return self.table

    def current(self, session: Session) -> Row | None:
        """The key in use, locked: two workers signing at first use must not each make one."""
        t = self._t
        return session.execute(
            select(t).where(t.retired_at.is_(None)).order_by(t.id.desc()).limit(1).with_for_update()
        ).scalar_one_or_none()

    def create(self, session: Session, secret: bytes, at: datetime) -> Row:
        raw_public, sealed = new_sealed_ed25519(secret, self.purpose)
        row: Row = self._t(
            key_id=key_id_of(raw_public),
            public_key=self.encode(raw_public),
            private_sealed=sealed,
            created_at=at,
        )
        session.add(row)
        session.flush()
        return row

    def in_use(self, session: Session, secret: bytes) -> Row:
        """The current key, made on first use (needs a write session)."""
        return self.current(session) or self.create(session, secret, utcnow())

    def private(self, secret: bytes, row: Row) -> Ed25519PrivateKey:
        return open_sealed_ed25519(secret, self.purpose, self._row(row).private_sealed)

    def rotate(self, session: Session, secret: bytes) -> tuple[Row | None, Row]:
        """Retire the current key (if any) and make a new one: (retired, new)."""
        now = utcnow()
        old = self.current(session)
        if old is not None:
            self._row(old).retired_at = now
        return old, self.create(session, secret, now)

    def history(self, session: Session) -> list[Row]:
        """Every key, oldest first, retired ones included."""
        return list(session.execute(select(self._t).order_by(self._t.id)).scalars())

    @staticmethod
    def _row(row: Row) -> Any:
        return row

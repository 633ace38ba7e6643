"""Ed25519 signing of release manifests, and the keyring members verify with.

The keys live in the one Ed25519 key store (hotline.security.keys); a key's id is the first 16
hex digits of SHA-256 of its raw public key. Rotation retires the
signing key and makes a new one; a retired key stays in the keyring with its `retired_at`, so
releases it signed before then still verify, and a manifest dated after it is refused.

The keyring and its checks live in the member client (`hotline_client.release`), the one copy
members and this server verify with; this module signs and keeps the keys.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hotline_client.release import KEYRING_FORMAT, Keyring, PublicKey, SignatureError
from sqlalchemy.orm import Session

from hotline.lists.tables import SigningKeyRow
from hotline.security.keys import KeyStore, hex_text

__all__ = ["KEYRING_FORMAT", "Keyring", "PublicKey", "SignatureError", "Signer", "keyring"]

_SEAL_PURPOSE = "list-signing-key"


@dataclass(frozen=True, slots=True)
class Signer:
    key_id: str
    private: Ed25519PrivateKey

    def sign(self, message: bytes) -> bytes:
        """The detached signature, base64 with a newline (what `manifest.sig` holds)."""
        return base64.b64encode(self.private.sign(message)) + b"\n"


# -- keys in the database (hotline.security.keys) ---------------------------------------------

_KEYS = KeyStore(SigningKeyRow, _SEAL_PURPOSE, hex_text)


def _public(row: SigningKeyRow) -> PublicKey:
    return PublicKey(row.key_id, bytes.fromhex(row.public_key), row.created_at, row.retired_at)


def signer(session: Session, secret: bytes) -> Signer:
    """The current signing key, made on first use."""
    row = _KEYS.in_use(session, secret)
    return Signer(row.key_id, _KEYS.private(secret, row))


def rotate(session: Session, secret: bytes) -> tuple[PublicKey | None, PublicKey]:
    """Retire the current key (if any) and make a new one: (retired, new)."""
    old, new = _KEYS.rotate(session, secret)
    return (_public(old) if old else None), _public(new)


def keyring(session: Session) -> Keyring:
    return Keyring([_public(r) for r in _KEYS.history(session)])

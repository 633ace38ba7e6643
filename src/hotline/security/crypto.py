"""Keys derived from the one secret, and AES-GCM for small values kept at rest."""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose; keys for different purposes are independent."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"hotline", info=purpose.encode()
    ).derive(secret)


class DecryptionError(Exception):
    """Ciphertext that was not made with this key, or was altered."""


class Sealer:
    """AES-256-GCM with a random nonce; `purpose` is bound as associated data."""

    def __init__(self, key: bytes, purpose: str) -> None:
        self._aead = AESGCM(key)
        self._aad = purpose.encode()

    def seal(self, plaintext: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, self._aad)

    def open(self, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], self._aad)
        except (InvalidTag, ValueError) as exc:
            raise DecryptionError("cannot decrypt: wrong key or altered data") from exc


def sealer_for(secret: bytes, purpose: str) -> Sealer:
    return Sealer(derive_key(secret, purpose), purpose)


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()


def hmac_hex(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()

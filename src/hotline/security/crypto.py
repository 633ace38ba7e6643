"""Keys derived from the one secret, and AES-GCM for small values kept at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
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


def new_sealed_ed25519(secret: bytes, purpose: str) -> tuple[bytes, str]:
    """A fresh Ed25519 key: (raw public key, base64 of the private key sealed for `purpose`).
    List signing and the partner exchange both keep their keys this way."""
    private = Ed25519PrivateKey.generate()
    sealed = sealer_for(secret, purpose).seal(private.private_bytes_raw())
    return private.public_key().public_bytes_raw(), base64.b64encode(sealed).decode()


def open_sealed_ed25519(secret: bytes, purpose: str, sealed_b64: str) -> Ed25519PrivateKey:
    raw = sealer_for(secret, purpose).open(base64.b64decode(sealed_b64))
    return Ed25519PrivateKey.from_private_bytes(raw)

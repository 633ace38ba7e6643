"""Ed25519 signing of release manifests, and the keyring members verify with.

The keys live in the one Ed25519 key store (hotline.security.keys); a key's id is the first 16
hex digits of SHA-256 of its raw public key. Rotation retires the
signing key and makes a new one; a retired key stays in the keyring with its `retired_at`, so
releases it signed before then still verify, and a manifest dated after it is refused.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from hotline.lists.tables import SigningKeyRow
from hotline.security.keys import KeyStore, hex_text, key_id_of

KEYRING_FORMAT = "hotline-keyring"
_SEAL_PURPOSE = "list-signing-key"


class SignatureError(Exception):
    """A signature that does not verify; the message says why."""


@dataclass(frozen=True, slots=True)
class PublicKey:
    key_id: str
    public_raw: bytes
    created_at: datetime
    retired_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "public_key": base64.b64encode(self.public_raw).decode(),
            "created_at": self.created_at.isoformat(),
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
        }


@dataclass(frozen=True, slots=True)
class Signer:
    key_id: str
    private: Ed25519PrivateKey

    def sign(self, message: bytes) -> bytes:
        """The detached signature, base64 with a newline (what `manifest.sig` holds)."""
        return base64.b64encode(self.private.sign(message)) + b"\n"


class Keyring:
    """The public keys a verifier trusts, by key id."""

    def __init__(self, keys: list[PublicKey]) -> None:
        self.keys = {k.key_id: k for k in keys}

    def verify(self, message: bytes, signature: bytes, key_id: str, signed_at: datetime) -> None:
        key = self.keys.get(key_id)
        if key is None:
            raise SignatureError(f"signed by key {key_id}, which is not in the keyring")
        if key.retired_at is not None and signed_at > key.retired_at:
            raise SignatureError(
                f"key {key_id} was retired at {key.retired_at.isoformat()}, before this was signed"
            )
        try:
            raw = base64.b64decode(signature.strip(), validate=True)
            Ed25519PublicKey.from_public_bytes(key.public_raw).verify(raw, message)
        except (InvalidSignature, ValueError) as exc:
            raise SignatureError("the signature does not match the manifest") from exc

    def to_json(self) -> dict[str, Any]:
        return {"format": KEYRING_FORMAT, "keys": [k.to_json() for k in self.keys.values()]}

    @classmethod
    def parse(cls, data: Any) -> Keyring:
        if not isinstance(data, dict) or data.get("format") != KEYRING_FORMAT:
            raise ValueError(f"not a {KEYRING_FORMAT} file")
        keys = []
        try:
            for item in data["keys"]:
                raw = base64.b64decode(item["public_key"], validate=True)
                if len(raw) != 32:
                    raise ValueError("an Ed25519 public key is 32 bytes")
                if key_id_of(raw) != item["key_id"]:
                    raise ValueError(f"key id {item['key_id']} does not match its public key")
                retired = item.get("retired_at")
                keys.append(
                    PublicKey(
                        item["key_id"],
                        raw,
                        datetime.fromisoformat(item["created_at"]),
                        datetime.fromisoformat(retired) if retired else None,
                    )
                )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed keyring ({exc})") from exc
        return cls(keys)

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            return cls.parse(json.loads(path.read_text(encoding="utf-8")))
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not JSON") from exc


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

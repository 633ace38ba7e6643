"""Check a downloaded release (or delta) folder before trusting a byte of it.

A release folder holds `manifest.json` (canonical JSON naming the list, its version and the
size and SHA-256 of every file), `manifest.sig` (a detached Ed25519 signature of those bytes,
base64) and the files. `verify_release` checks the signature against a keyring (the
hotline's published `keyring.json`), then every file's size and SHA-256; a missing, altered
or extra file fails, and nothing is returned until all of it passed.

This module is the one copy of the keyring and of these checks: the server's
`hotline lists verify` (`hotline.lists.verify`, `hotline.lists.signing`) calls it too.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

KEYRING_FORMAT = "hotline-keyring"
MANIFEST_FORMAT = "hotline-release"
MANIFEST_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"


class ReleaseError(Exception):
    """The release cannot be trusted; the message names what failed."""


class SignatureError(ReleaseError):
    """A signature that does not verify; the message says why."""


def key_id_of(public_raw: bytes) -> str:
    """A key's id: the first 16 hex digits of SHA-256 of its raw public key."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


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


class Keyring:
    """The public keys a verifier trusts, by key id. A retired key still verifies what it
    signed before its `retired_at`, and nothing dated after."""

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
        """ValueError names what is wrong."""
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
    def load(cls, path: str | Path) -> Keyring:
        path = Path(path)
        try:
            return cls.parse(json.loads(path.read_text(encoding="utf-8")))
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not JSON") from exc


@dataclass(frozen=True, slots=True)
class ReleaseFile:
    name: str
    format: str
    bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class VerifiedRelease:
    """A folder whose signature and files all checked out."""

    folder: Path
    list: str
    version: int
    kind: str  # "full" or "delta"
    created_at: datetime
    key_id: str
    entries: int
    files: tuple[ReleaseFile, ...]
    since: int | None = None
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    def path(self, name: str) -> Path:
        """A file the manifest lists; KeyError for any other name."""
        if not any(f.name == name for f in self.files):
            raise KeyError(f"{name} is not in this release")
        return self.folder / name


def _manifest(data: bytes) -> tuple[dict[str, Any], tuple[ReleaseFile, ...], datetime]:
    try:
        body = json.loads(data)
    except ValueError as exc:
        raise ReleaseError("the manifest is not JSON") from exc
    if not isinstance(body, dict) or body.get("format") != MANIFEST_FORMAT:
        raise ReleaseError("not a hotline release manifest")
    if body.get("format_version") != MANIFEST_VERSION:
        raise ReleaseError(f"manifest format_version {body.get('format_version')!r} is unknown")
    try:
        files = tuple(
            ReleaseFile(str(f["name"]), str(f["format"]), int(f["bytes"]), str(f["sha256"]))
            for f in body["files"]
        )
        created = datetime.fromisoformat(body["created_at"])
        for key in ("list", "version", "kind", "key_id", "entries"):
            body[key]
    except (KeyError, TypeError, ValueError) as exc:
        raise ReleaseError(f"the manifest is incomplete or malformed ({exc})") from exc
    return body, files, created


def verify_release(folder: str | Path, keyring: Keyring) -> VerifiedRelease:
    """Check `folder` against `keyring`; ReleaseError (or SignatureError) says what failed."""
    folder = Path(folder)
    try:
        data = (folder / MANIFEST).read_bytes()
        signature = (folder / SIGNATURE).read_bytes()
    except FileNotFoundError as exc:
        raise ReleaseError(f"{Path(exc.filename).name} is missing from {folder}") from exc
    except OSError as exc:
        raise ReleaseError(f"cannot read {folder}: {exc.strerror}") from exc
    body, files, created = _manifest(data)
    keyring.verify(data, signature, str(body["key_id"]), created)
    listed = {MANIFEST, SIGNATURE}
    for item in files:
        if "/" in item.name or "\\" in item.name or item.name.startswith("."):
            raise ReleaseError(f"the manifest names an unsafe file name {item.name!r}")
        path = folder / item.name
        if not path.is_file():
            raise ReleaseError(f"{item.name} is missing")
        size = path.stat().st_size
        if size != item.bytes:
            raise ReleaseError(f"{item.name} has {size} bytes; the manifest says {item.bytes}")
        if sha256_file(path) != item.sha256:
            raise ReleaseError(f"{item.name} does not match its SHA-256 in the manifest")
        listed.add(item.name)
    extra = sorted(p.name for p in folder.iterdir() if p.name not in listed)
    if extra:
        raise ReleaseError(f"files not covered by the manifest: {', '.join(extra)}")
    since = body.get("since")
    return VerifiedRelease(
        folder=folder,
        list=str(body["list"]),
        version=int(body["version"]),
        kind=str(body["kind"]),
        created_at=created,
        key_id=str(body["key_id"]),
        entries=int(body["entries"]),
        files=files,
        since=since if isinstance(since, int) else None,
        manifest=body,
    )

"""Check a release (or delta) folder: the manifest's signature by a key in the keyring, and
every file's size and SHA-256; a missing, altered or extra file fails the check."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hotline.lists.model import Manifest
from hotline.lists.release import MANIFEST, SIGNATURE, sha256_file
from hotline.lists.signing import Keyring, SignatureError


class VerifyError(Exception):
    """The release cannot be trusted; the message names what failed."""


@dataclass(frozen=True, slots=True)
class Verified:
    manifest: Manifest
    files: int
    bytes: int


def verify_dir(folder: Path, keyring: Keyring) -> Verified:
    try:
        data = (folder / MANIFEST).read_bytes()
        signature = (folder / SIGNATURE).read_bytes()
    except FileNotFoundError as exc:
        raise VerifyError(f"{Path(exc.filename).name} is missing from {folder}") from exc
    except OSError as exc:
        raise VerifyError(f"cannot read {folder}: {exc.strerror}") from exc
    try:
        manifest = Manifest.from_bytes(data)
    except ValueError as exc:
        raise VerifyError(str(exc)) from exc
    try:
        keyring.verify(data, signature, manifest.key_id, manifest.created_at)
    except SignatureError as exc:
        raise VerifyError(str(exc)) from exc
    listed = {MANIFEST, SIGNATURE}
    total = 0
    for item in manifest.files:
        if "/" in item.name or "\\" in item.name or item.name.startswith("."):
            raise VerifyError(f"the manifest names an unsafe file name {item.name!r}")
        path = folder / item.name
        if not path.is_file():
            raise VerifyError(f"{item.name} is missing")
        size = path.stat().st_size
        if size != item.bytes:
            raise VerifyError(f"{item.name} has {size} bytes; the manifest says {item.bytes}")
        if sha256_file(path) != item.sha256:
            raise VerifyError(f"{item.name} does not match its SHA-256 in the manifest")
        listed.add(item.name)
        total += size
    extra = sorted(p.name for p in folder.iterdir() if p.name not in listed)
    if extra:
        raise VerifyError(f"files not covered by the manifest: {', '.join(extra)}")
    return Verified(manifest, len(manifest.files), total)

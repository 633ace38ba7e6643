"""Check a release (or delta) folder: the manifest's signature by a key in the keyring, and
every file's size and SHA-256; a missing, altered or extra file fails the check.

The checks are the member client's (`hotline_client.release.verify_release`), so a member and
`hotline lists verify` trust exactly the same folders; this adds the server's typed manifest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from hotline_client.release import Keyring, ReleaseError, verify_release

from hotline.lists.model import Manifest


class VerifyError(Exception):
    """The release cannot be trusted; the message names what failed."""


@dataclass(frozen=True, slots=True)
class Verified:
    manifest: Manifest
    files: int
    bytes: int


def verify_dir(folder: Path, keyring: Keyring) -> Verified:
    try:
        checked = verify_release(folder, keyring)
        manifest = Manifest.from_bytes(json.dumps(checked.manifest).encode())
    except (ReleaseError, ValueError) as exc:
        raise VerifyError(str(exc)) from exc
    return Verified(manifest, len(manifest.files), checked.bytes)

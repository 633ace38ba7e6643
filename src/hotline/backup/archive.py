"""The backup file: one tar stream (optionally encrypted whole), written and read in one
pass, with no file ever held in memory.

Writing hashes each file as tar reads it, so the manifest (the last member) states exactly
the bytes that went in. Reading accepts regular files with safe names only (no links,
devices, absolute paths or `..`), writes each into a fresh staging folder (or nowhere, for
`check`), and only returns once every file matches the manifest and, for an encrypted
backup, the last chunk has been authenticated.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from hotline.backup.encryption import DecryptingReader, EncryptingWriter, is_encrypted
from hotline.backup.errors import USAGE, BackupError
from hotline.backup.manifest import MANIFEST_NAME, FileEntry, Manifest, check_member_name

_READ = 1 << 20
_MAX_MANIFEST = 256 << 20


class _HashingReader:
    """What tar reads a file through: counts and hashes the bytes on their way in."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


class _Output:
    """The archive file itself: counted and hashed, so the operator can record its digest."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._fh.write(data)
        self.digest.update(data)
        self.size += len(data)
        return len(data)


@dataclass(frozen=True, slots=True)
class Written:
    size: int
    sha256: str


class ArchiveWriter:
    """`add_file` each file, then `finish(manifest)`; the caller owns (and syncs) `fh`."""

    def __init__(self, fh: BinaryIO, passphrase: bytes | None) -> None:
        self._output = _Output(fh)
        self._encrypting = (
            EncryptingWriter(self._output, passphrase) if passphrase is not None else None  # type: ignore[arg-type]
        )
        target = self._encrypting or self._output
        # Closed in finish(); stream mode ("w|") never seeks, so it writes through the cipher.
        self._tar = tarfile.open(  # noqa: SIM115
            fileobj=cast(BinaryIO, target),
            mode="w|",
            format=tarfile.PAX_FORMAT,
        )

    def add_file(self, name: str, path: Path) -> FileEntry:
        try:
            check_member_name(name)
        except BackupError as exc:
            raise BackupError(
                f"cannot back up {path}: hotline never writes a file of that name (remove it)",
                USAGE,
            ) from exc
        with open(path, "rb") as fh:
            info = tarfile.TarInfo(name)
            stat = os.fstat(fh.fileno())
            info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), 0o600
            reader = _HashingReader(fh)
            self._tar.addfile(info, cast(BinaryIO, reader))
        return FileEntry(name, reader.size, reader.digest.hexdigest())

    def abort(self) -> None:
        """After a failure: close the tar stream while its file is still open (its bytes go
        to a partial file the caller deletes), so nothing writes to it later."""
        with contextlib.suppress(Exception):
            self._tar.close()

    def finish(self, manifest: Manifest) -> Written:
        data = manifest.encode()
        info = tarfile.TarInfo(MANIFEST_NAME)
        info.size, info.mtime, info.mode = len(data), int(manifest.created_at.timestamp()), 0o600
        self._tar.addfile(info, io.BytesIO(data))
        self._tar.close()  # writes the end-of-archive blocks; leaves the file open
        if self._encrypting is not None:
            self._encrypting.finish()
        return Written(self._output.size, self._output.digest.hexdigest())


def _store(member: tarfile.TarFile, info: tarfile.TarInfo, dest: Path | None) -> FileEntry:
    source = member.extractfile(info)
    assert source is not None  # a regular file always has a reader
    digest, size = hashlib.sha256(), 0
    out = None
    if dest is not None:
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        out = os.fdopen(os.open(dest, flags, 0o600), "wb")
    try:
        while chunk := source.read(_READ):
            digest.update(chunk)
            size += len(chunk)
            if out is not None:
                out.write(chunk)
    finally:
        if out is not None:
            out.close()
    return FileEntry(info.name, size, digest.hexdigest())


def open_source(fh: BinaryIO, passphrase: bytes | None) -> BinaryIO:
    """The plain tar stream of a backup file: decrypted when it is encrypted."""
    first = fh.read(8)
    fh.seek(0)
    if not is_encrypted(first):
        return fh
    if passphrase is None:
        raise BackupError(
            "the backup is encrypted: give its passphrase (--passphrase-file, or the "
            "environment variable named by --passphrase-env)",
            USAGE,
        )
    return DecryptingReader(fh, passphrase)  # type: ignore[return-value]


def read(path: Path, passphrase: bytes | None, staging: Path | None) -> Manifest:
    """Read and check a whole backup: each file goes to `staging/NAME` (or is only hashed
    when `staging` is None). Returns the manifest once everything matches it; BackupError
    otherwise (the caller removes the staging folder)."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file", USAGE)
    with open(path, "rb") as fh:
        source = open_source(fh, passphrase)
        found: dict[str, FileEntry] = {}
        manifest_bytes: bytes | None = None
        try:
            with tarfile.open(fileobj=source, mode="r|") as tar:
                for info in tar:
                    if info.name == MANIFEST_NAME and info.isreg():
                        if manifest_bytes is not None or info.size > _MAX_MANIFEST:
                            raise BackupError("the archive holds more than one manifest")
                        reader = tar.extractfile(info)
                        assert reader is not None
                        manifest_bytes = reader.read()
                        continue
                    check_member_name(info.name)
                    if not info.isreg():
                        raise BackupError(
                            f"the archive holds {info.name!r}, which is a link or special "
                            "file, not a regular file; a hotline backup holds none"
                        )
                    if info.name in found or manifest_bytes is not None:
                        raise BackupError(f"the archive holds {info.name!r} out of place")
                    found[info.name] = _store(tar, info, staging / info.name if staging else None)
            while source.read(_READ):  # to the end: an encrypted file's last chunk is checked
                pass
        except (tarfile.TarError, EOFError) as exc:
            raise BackupError(f"the archive is damaged or truncated ({exc})") from exc
        except OSError as exc:  # two members whose paths collide, a full disk
            raise BackupError(f"cannot stage the backup's files: {exc}") from exc
    if manifest_bytes is None:
        raise BackupError("the archive has no manifest: it is incomplete (truncated?)")
    manifest = Manifest.decode(manifest_bytes)
    _compare(manifest, found)
    return manifest


def _compare(manifest: Manifest, found: dict[str, FileEntry]) -> None:
    listed = {f.name: f for f in manifest.files}
    missing = sorted(set(listed) - set(found))
    if missing:
        raise BackupError(
            f"the archive is incomplete: {len(missing)} file(s) missing, e.g. {missing[0]}"
        )
    extra = sorted(set(found) - set(listed))
    if extra:
        raise BackupError(f"the archive holds a file its manifest does not list: {extra[0]}")
    for name, entry in listed.items():
        if found[name] != entry:
            raise BackupError(
                f"{name} does not match the manifest (size or SHA-256 differs): the backup "
                "was altered or damaged"
            )

"""The archive layer on its own: an encrypted backup cut at a chunk boundary in the tar's
trailing padding is refused, and `check` writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.backup import archive, encryption
from hotline.backup.errors import BackupError
from hotline.backup.manifest import SQLITE_MEMBER, Manifest
from hotline.db.base import utcnow

PASS = b"correct horse battery staple"


def write(path: Path, tmp_path: Path, passphrase: bytes | None) -> None:
    db_copy = tmp_path / "db.bin"
    db_copy.write_bytes(b"not really a database" * 50)
    with open(path, "wb") as fh:
        writer = archive.ArchiveWriter(fh, passphrase)
        entry = writer.add_file(SQLITE_MEMBER, db_copy)
        writer.finish(Manifest(utcnow(), "0", "sqlite", "0001", [entry]))


def test_encrypted_backup_is_read_to_its_authenticated_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks: the tar's trailing zero padding fills several whole chunks at the end.
    monkeypatch.setattr(encryption, "CHUNK", 512)
    path = tmp_path / "b.enc"
    write(path, tmp_path, PASS)
    assert archive.read(path, PASS, None).files[0].name == SQLITE_MEMBER
    sealed = path.read_bytes()
    # Drop the last chunk: only padding, which tar itself never needs to read.
    path.write_bytes(sealed[: len(sealed) - (512 + 16)])
    with pytest.raises(BackupError, match="truncated"):
        archive.read(path, PASS, None)


def test_check_writes_nothing_and_staging_gets_each_file(tmp_path: Path) -> None:
    path = tmp_path / "b.tar"
    write(path, tmp_path, None)
    before = sorted(tmp_path.rglob("*"))
    archive.read(path, None, None)
    assert sorted(tmp_path.rglob("*")) == before
    staging = tmp_path / "staging"
    staging.mkdir()
    archive.read(path, None, staging)
    assert (staging / SQLITE_MEMBER).read_bytes() == b"not really a database" * 50

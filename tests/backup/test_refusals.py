"""What restore refuses, with a clear message and nothing written: a truncated or altered
archive, a wrong or missing passphrase, unsafe names (`..`, absolute, links), a backup from a
newer schema, a target that is not empty. And what `create` refuses: a missing passphrase,
a file that exists, missing or outdated PostgreSQL client tools."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hotline.backup import postgres_backup, restore
from hotline.backup.errors import USAGE, BackupError
from hotline.config import Settings
from hotline.db import migrate
from hotline.db.engine import Database
from hotline.grading.media_store import MediaStore
from hotline.security import audit, users
from tests.backup.support import PASSPHRASE, Instance, drawn_png, empty_target, of
from tests.conftest import TEST_SECRET


def small_source(db: Database, settings: Settings) -> Instance:
    with db.write() as session:
        users.create_user(session, "ana", "a long enough password", ["analyst"])
    MediaStore(settings.data_dir / "media", settings.secret).put(1, drawn_png(2))
    return of(settings)


@pytest.fixture
def sqlite_source(tmp_path: Path, sqlite_template: Path) -> Iterator[Instance]:
    """A small SQLite instance of its own (these refusals do not depend on the backend)."""
    data = tmp_path / "source"
    data.mkdir()
    shutil.copy(sqlite_template, data / "hotline.db")
    db = Database(f"sqlite:///{data / 'hotline.db'}")
    with db.write() as session:
        users.create_user(session, "ana", "a long enough password", ["analyst"])
        audit.record(session, "test", "user.created", "user", "ana")
    db.dispose()
    MediaStore(data / "media", TEST_SECRET.encode()).put(1, drawn_png(2))
    yield Instance(data, db.url)


def backup(source: Instance, out: Path, *extra: str) -> Path:
    source.ok("backup", "create", "--out", str(out), *extra)
    return out


def target_of(tmp_path: Path) -> Instance:
    data = tmp_path / "target"
    return Instance(data, f"sqlite:///{data / 'hotline.db'}")


def refused(target: Instance, archive: Path, message: str, code: int = 1, **env: str) -> None:
    result = target.run("backup", "restore", str(archive), **env)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert not target.data_dir.exists(), "a refused restore wrote something"


def repack(
    source: Path, dest: Path, edit: Callable[[tarfile.TarFile, tarfile.TarInfo, bytes], None]
) -> Path:
    """Copy a plain backup member by member through `edit(out, info, data)`."""
    with tarfile.open(source) as src, tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as out:
        for info in src.getmembers():
            reader = src.extractfile(info)
            edit(out, info, reader.read() if reader else b"")
    return dest


def add(out: tarfile.TarFile, info: tarfile.TarInfo, data: bytes) -> None:
    info.size = len(data)
    out.addfile(info, io.BytesIO(data))


# -- damaged, altered, encrypted -----------------------------------------------------------------


def test_truncated_archive(sqlite_source: Instance, tmp_path: Path) -> None:
    source = sqlite_source
    plain = backup(source, tmp_path / "b.tar")
    whole = plain.read_bytes()
    # Cut inside the last member's data: a cut that only drops the end-of-archive blocks and
    # padding loses nothing (every member is whole and hashes right) and may restore.
    with tarfile.open(plain) as archive:
        last = max(archive.getmembers(), key=lambda m: m.offset_data + m.size)
    inside_last = last.offset_data + max(1, last.size // 2)
    for n, keep in enumerate([len(whole) // 2, 1024, inside_last]):
        cut = tmp_path / f"cut{n}.tar"
        cut.write_bytes(whole[:keep])
        result = target_of(tmp_path).run("backup", "restore", str(cut))
        assert result.exit_code == 1, result.output
        assert "truncated" in result.output or "incomplete" in result.output
        assert not (tmp_path / "target").exists()
    sealed = backup(source, tmp_path / "b.enc", "--encrypt").read_bytes()
    (tmp_path / "cut.enc").write_bytes(sealed[: len(sealed) - 100])
    refused(target_of(tmp_path), tmp_path / "cut.enc", "truncated")


def test_tampered_file(sqlite_source: Instance, tmp_path: Path) -> None:
    source = sqlite_source
    plain = backup(source, tmp_path / "b.tar")

    def flip_media(out: tarfile.TarFile, info: tarfile.TarInfo, data: bytes) -> None:
        if info.name.startswith("media/"):
            data = bytes([data[0] ^ 1]) + data[1:]
        add(out, info, data)

    tampered = repack(plain, tmp_path / "t.tar", flip_media)
    refused(target_of(tmp_path), tampered, "does not match the manifest")
    assert "does not match" in source.run("backup", "check", str(tampered)).output

    def drop_media(out: tarfile.TarFile, info: tarfile.TarInfo, data: bytes) -> None:
        if not info.name.startswith("media/"):
            add(out, info, data)

    refused(target_of(tmp_path), repack(plain, tmp_path / "d.tar", drop_media), "incomplete")


def test_passphrase(sqlite_source: Instance, tmp_path: Path) -> None:
    source = sqlite_source
    sealed = backup(source, tmp_path / "b.enc", "--encrypt")
    assert PASSPHRASE.encode() not in sealed.read_bytes()
    target = target_of(tmp_path)
    refused(target, sealed, "wrong passphrase", HOTLINE_BACKUP_PASSPHRASE="not the passphrase")
    refused(target, sealed, "the backup is encrypted", USAGE, HOTLINE_BACKUP_PASSPHRASE="")
    # From a file instead of the environment; its first line is the passphrase.
    phrase = tmp_path / "phrase"
    phrase.write_text(PASSPHRASE + "\n")
    assert "intact" in source.ok(
        "backup", "check", str(sealed), "--passphrase-file", str(phrase),
        HOTLINE_BACKUP_PASSPHRASE="",
    )  # fmt: skip


def test_create_refusals(sqlite_source: Instance, tmp_path: Path) -> None:
    source = sqlite_source
    out = tmp_path / "b.enc"
    for env, message in [("", "needs a passphrase"), ("short", "at least 12")]:
        result = source.run("backup", "create", "--out", str(out), "--encrypt",
                            HOTLINE_BACKUP_PASSPHRASE=env)  # fmt: skip
        assert result.exit_code == USAGE and message in result.output
        assert not out.exists()
    backup(source, out)
    result = source.run("backup", "create", "--out", str(out))
    assert result.exit_code == USAGE and "already exists" in result.output
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob(".hotline-backup-*"))


# -- unsafe names ---------------------------------------------------------------------------------


# kind: (member name, what the refusal says)
UNSAFE = {
    "dotdot": ("../evil", "unsafe name"),
    "absolute": ("/tmp/evil-hotline", "unsafe name"),
    "nested": ("media/../../evil", "unsafe name"),
    "unknown": ("keys/secret.key", "no known kind"),
    "symlink": ("media/000000/link", "link or special file"),
    "hardlink": ("media/000000/link", "link or special file"),
}


def _evil(kind: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(UNSAFE[kind][0])
    if kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    if kind == "hardlink":
        info.type, info.linkname = tarfile.LNKTYPE, "manifest.json"
    return info


@pytest.mark.parametrize("kind", sorted(UNSAFE))
def test_unsafe_names(sqlite_source: Instance, tmp_path: Path, kind: str) -> None:
    source = sqlite_source
    plain = backup(source, tmp_path / "b.tar")

    def smuggle(out: tarfile.TarFile, info: tarfile.TarInfo, data: bytes) -> None:
        if info.name == "manifest.json":
            evil = _evil(kind)
            if evil.isreg():
                add(out, evil, b"evil")
            else:
                out.addfile(evil)
        add(out, info, data)

    evil = repack(plain, tmp_path / "evil.tar", smuggle)
    refused(target_of(tmp_path), evil, UNSAFE[kind][1])
    assert not (tmp_path / "evil").exists() and not Path("/tmp/evil-hotline").exists()


# -- schema ---------------------------------------------------------------------------------------


def test_backup_from_a_newer_schema(sqlite_source: Instance, tmp_path: Path) -> None:
    source = sqlite_source
    plain = backup(source, tmp_path / "b.tar")

    def newer(out: tarfile.TarFile, info: tarfile.TarInfo, data: bytes) -> None:
        if info.name == "manifest.json":
            doc = json.loads(data)
            doc["database"]["alembic_revision"] = "9999_from_the_future"
            data = json.dumps(doc).encode()
        add(out, info, data)

    refused(target_of(tmp_path), repack(plain, tmp_path / "n.tar", newer), "newer version")


def test_an_older_backup_is_migrated(tmp_path: Path) -> None:
    data = tmp_path / "old"
    old = Database(f"sqlite:///{data / 'hotline.db'}")
    migrate.upgrade(old, "0010_media_vpdq")
    old.dispose()
    source = Instance(data, old.url)
    backup(source, tmp_path / "old.tar")
    target = target_of(tmp_path)
    printed = target.ok("backup", "restore", str(tmp_path / "old.tar"))
    assert "upgraded from 0010_media_vpdq" in printed
    restored = Database(target.database_url)
    try:
        assert migrate.is_current(restored)
    finally:
        restored.dispose()


# -- the target -----------------------------------------------------------------------------------


def test_non_empty_target(db: Database, settings: Settings, tmp_path: Path) -> None:
    source = small_source(db, settings)
    archive = backup(source, tmp_path / "b.tar")
    media_before = sorted(p.name for p in (settings.data_dir / "media").rglob("*"))
    # The source itself: its database holds users.
    result = source.run("backup", "restore", str(archive))
    assert result.exit_code == 1 and "not empty" in result.output and "users" in result.output
    assert sorted(p.name for p in (settings.data_dir / "media").rglob("*")) == media_before
    with empty_target(tmp_path, db) as target:
        # An empty database, but something already in the media folder.
        (target.data_dir / "media").mkdir(parents=True)
        (target.data_dir / "media" / "stray").write_bytes(b"x")
        result = target.run("backup", "restore", str(archive))
        assert result.exit_code == 1 and "not empty" in result.output, result.output
        assert sorted(p.name for p in target.data_dir.iterdir()) == ["media"]
        (target.data_dir / "media" / "stray").unlink()
        assert "restored" in target.ok("backup", "restore", str(archive))


def test_postgres_client_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError, match="not installed") as missing:
        postgres_backup.check_tool("pg_dump", 15)
    assert missing.value.exit_code == USAGE
    fake = tmp_path / "pg_dump"
    fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 13.9'\n")
    fake.chmod(0o755)
    with pytest.raises(BackupError, match="version 13 but the server is PostgreSQL 15") as old:
        postgres_backup.check_tool("pg_dump", 15)
    assert old.value.exit_code == USAGE
    assert postgres_backup.check_tool("pg_dump", 12) == 13


def test_connection_keeps_the_password_out_of_the_arguments() -> None:
    conn = postgres_backup.connection(
        "postgresql+psycopg://hl:s3cr'et@db.example.com:6543/hot?options=-csearch_path%3Done"
    )
    assert "s3cr" not in conn.conninfo and conn.password == "s3cr'et"
    assert "host='db.example.com'" in conn.conninfo and "dbname='hot'" in conn.conninfo
    assert conn.schema == "one" and conn.env["PGPASSWORD"] == "s3cr'et"


def test_a_failed_database_step_takes_the_files_back(
    sqlite_source: Instance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = backup(sqlite_source, tmp_path / "b.tar")
    placed: list[str] = []

    def fail_after_files(settings: Settings, *_args: object) -> None:
        placed.extend(p.name for p in settings.data_dir.iterdir())
        raise BackupError("pg_restore failed: (simulated)")

    monkeypatch.setattr(restore, "_place_database", fail_after_files)
    target = target_of(tmp_path)
    target.data_dir.mkdir()  # there already, so it stays: what is in it must be taken back
    result = target.run("backup", "restore", str(archive))
    assert result.exit_code == 1 and "simulated" in result.output
    assert "media" in placed  # the files had been moved into place before the failure
    assert list(target.data_dir.iterdir()) == []


def test_restore_under_another_key_says_so(sqlite_source: Instance, tmp_path: Path) -> None:
    archive = backup(sqlite_source, tmp_path / "b.tar")
    target = target_of(tmp_path)
    result = target.run("backup", "restore", str(archive), HOTLINE_SECRET_KEY="another" * 8)
    assert result.exit_code == 1 and "does not verify with this instance's key" in result.output


def test_client_tools_are_needed_for_postgresql_only(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    source = small_source(db, settings)
    out = tmp_path / "b.tar"
    result = source.run("backup", "create", "--out", str(out), PATH=str(tmp_path))
    if db.is_sqlite:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == USAGE and "pg_dump is not installed" in result.output
        assert not out.exists()
    inside = settings.data_dir / "media" / "b.tar"
    result = source.run("backup", "create", "--out", str(inside))
    assert result.exit_code == USAGE and "which the backup copies" in result.output


def test_colliding_names(sqlite_source: Instance, tmp_path: Path) -> None:
    plain = backup(sqlite_source, tmp_path / "b.tar")

    def collide(out: tarfile.TarFile, info: tarfile.TarInfo, data: bytes) -> None:
        if info.name.startswith("media/"):
            add(out, tarfile.TarInfo(info.name.rsplit("/", 1)[0]), b"a file where a folder is")
        add(out, info, data)

    refused(target_of(tmp_path), repack(plain, tmp_path / "c.tar", collide), "cannot stage")


def test_a_stray_file_name_is_named_at_create(sqlite_source: Instance, tmp_path: Path) -> None:
    (sqlite_source.data_dir / "media" / "a stray file").write_bytes(b"x")
    result = sqlite_source.run("backup", "create", "--out", str(tmp_path / "b.tar"))
    assert result.exit_code == USAGE and "a stray file" in result.output
    assert not (tmp_path / "b.tar").exists()


def test_a_target_file_that_is_no_database(sqlite_source: Instance, tmp_path: Path) -> None:
    archive = backup(sqlite_source, tmp_path / "b.tar")
    target = target_of(tmp_path)
    target.data_dir.mkdir()
    (target.data_dir / "hotline.db").write_bytes(b"not a database at all" * 100)
    result = target.run("backup", "restore", str(archive))
    assert result.exit_code == 1 and "cannot be read as a database" in result.output
    assert (target.data_dir / "hotline.db").read_bytes() == b"not a database at all" * 100

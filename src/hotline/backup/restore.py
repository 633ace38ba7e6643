"""`hotline backup restore`: into an empty instance only, checked whole before anything lands.

1. The target must be empty (no casework in its database, nothing at the file places).
2. The whole backup is read into a staging folder inside the data directory: decrypted,
   every name checked, every file hashed against the manifest. The database copy is checked
   (SQLite's own check; the revision must be one this code knows, i.e. not newer).
3. Files are moved into place (renames), then the database: SQLite by moving the file into
   place, PostgreSQL by `pg_restore --single-transaction`. If the database step fails, the
   files placed are removed again. Then migrations bring an older backup up to date.
"""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.exc import OperationalError

from hotline.backup import archive, audit_entry, places, postgres_backup, sqlite_backup
from hotline.backup.errors import USAGE, BackupError
from hotline.backup.manifest import AUDIT_ANCHORS, Manifest
from hotline.config import Settings
from hotline.db import migrate
from hotline.db.engine import Database


@dataclass(frozen=True, slots=True)
class Restored:
    manifest: Manifest
    revision: str | None  # after migrations
    upgraded: bool


def check(path: Path, passphrase: bytes | None) -> Manifest:
    """Read a backup through without writing anything: decryption, names, sizes, hashes."""
    return archive.read(path, passphrase, None)


def restore(settings: Settings, path: Path, passphrase: bytes | None) -> Restored:
    made_data_dir = not settings.data_dir.exists()  # before Database() makes it for SQLite
    db = Database(settings.database_url)
    try:
        _refuse_non_empty(settings, db)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        staging = settings.data_dir / f".restore-{secrets.token_hex(4)}"
        staging.mkdir(mode=0o700)
        try:
            manifest = archive.read(path, passphrase, staging)
            _check_database(settings, db, manifest, staging)
            placed = _place_files(settings, staging)
            try:
                _place_database(settings, db, manifest, staging)
            except BaseException:
                _remove(placed)
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        if made_data_dir:
            shutil.rmtree(settings.data_dir, ignore_errors=True)
        raise
    finally:
        db.dispose()
    # A fresh engine: the one above may have seen the database before it was replaced.
    db = Database(settings.database_url)
    try:
        upgraded = migrate.current_revision(db) != migrate.head_revision(db)
        if upgraded:
            migrate.upgrade(db)
        revision = migrate.current_revision(db)
        problem = audit_entry.chain_problem(db, settings)
        if problem is not None:
            # Appending under the wrong key would only lengthen a chain nobody can check.
            raise BackupError(
                f"restored, but the audit chain does not verify with this instance's key "
                f"({problem}): run hotline with the secret key (or HOTLINE_AUDIT_KEY) of the "
                "instance that was backed up"
            )
        audit_entry.record(
            db,
            settings,
            "backup.restored",
            path.name,
            {
                "created_at": manifest.created_at.isoformat(),
                "from_revision": manifest.alembic_revision,
                "revision": revision,
            },
        )
    finally:
        db.dispose()
    return Restored(manifest, revision, upgraded)


def _refuse_non_empty(settings: Settings, db: Database) -> None:
    if db.is_sqlite:
        target = sqlite_backup.database_path(settings.database_url)
        if target.exists():
            places.refuse_if_data(f"the database {target}", places.sqlite_casework(target))
    else:
        conn = postgres_backup.connection(settings.database_url)
        schema = conn.schema or postgres_backup.DEFAULT_SCHEMA
        try:
            places.refuse_if_data("the database", places.casework_in(db.reader))
            tables = postgres_backup.tables_in(db, schema)
        except OperationalError as exc:
            raise BackupError(
                f"cannot reach the target database: {exc.orig or exc}", USAGE
            ) from exc
        if tables:
            raise BackupError(
                f"the target database already has {tables} table(s) in schema {schema}: "
                "restore needs an empty PostgreSQL database (createdb a new one, point "
                "HOTLINE_DATABASE_URL at it, and restore before starting hotline on it); "
                "nothing was written"
            )
    in_the_way = places.files_in_the_way(settings)
    if in_the_way:
        raise BackupError(
            f"the target is not empty: {in_the_way[0]} already exists (or is not empty). "
            "Restore only into an empty instance; nothing was written"
        )


def _check_database(settings: Settings, db: Database, manifest: Manifest, staging: Path) -> None:
    backend = "sqlite" if db.is_sqlite else "postgresql"
    if manifest.backend != backend:
        raise BackupError(
            f"this is a {manifest.backend} backup and the target database is {backend}: "
            f"set HOTLINE_DATABASE_URL to a {manifest.backend} database",
            USAGE,
        )
    revision = manifest.alembic_revision
    try:
        known = revision is not None and (
            ScriptDirectory.from_config(migrate.alembic_config(db)).get_revision(revision)
            is not None
        )
    except CommandError:
        known = False
    if not known:
        raise BackupError(
            f"the backup's database is at revision {revision!r}, which this hotline does not "
            f"know (its newest is {migrate.head_revision(db)}): the backup was made by a newer "
            "version. Restore it with that version or newer"
        )
    copy = staging / manifest.database_member
    if db.is_sqlite:
        sqlite_backup.check_copy(copy)
        if sqlite_backup.revision(copy) != revision:
            raise BackupError("the database in the backup is not at the manifest's revision")
        return
    conn = postgres_backup.connection(settings.database_url)
    schema = conn.schema or postgres_backup.DEFAULT_SCHEMA
    if manifest.postgres_schema != schema:
        raise BackupError(
            f"the backup holds schema {manifest.postgres_schema!r} and the target URL uses "
            f"{schema!r}: set the search_path in HOTLINE_DATABASE_URL to match",
            USAGE,
        )
    major = postgres_backup.check_tool("pg_restore", postgres_backup.server_major(db))
    if manifest.pg_dump_major is not None and major < manifest.pg_dump_major:
        raise BackupError(
            f"the backup was written by pg_dump {manifest.pg_dump_major}; pg_restore {major} "
            "cannot read it: install newer PostgreSQL client tools",
            USAGE,
        )


def _place_files(settings: Settings, staging: Path) -> list[Path]:
    placed: list[Path] = []
    try:
        for role, target in places.folders(settings).items():
            staged = staging / role
            if not staged.is_dir():
                continue
            if target.is_dir():
                target.rmdir()  # checked empty above
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(staged, target)
            placed.append(target)
        anchors = sorted((staging / AUDIT_ANCHORS).glob("*"))
        if len(anchors) > 1:
            raise BackupError("the backup holds more than one audit anchor file")
        if anchors:
            anchor = places.anchor_path(settings)
            if anchor is None:
                raise BackupError(
                    "the backup holds an audit anchor file but HOTLINE_AUDIT_ANCHOR_PATH is a "
                    "URL here: set it to a file path for the restore",
                    USAGE,
                )
            anchor.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(anchors[0], anchor)
            placed.append(anchor)
    except BaseException:
        _remove(placed)
        raise
    return placed


def _remove(placed: list[Path]) -> None:
    """Take back what a failed restore moved into place (the places were empty before)."""
    for p in placed:
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink(missing_ok=True)


def _place_database(settings: Settings, db: Database, manifest: Manifest, staging: Path) -> None:
    copy = staging / manifest.database_member
    if not db.is_sqlite:
        postgres_backup.restore(postgres_backup.connection(settings.database_url), copy)
        return
    db.dispose()  # no connection of ours may hold the file being replaced
    target = sqlite_backup.database_path(settings.database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    beside = target.with_name(f".{target.name}.restore-{secrets.token_hex(4)}")
    shutil.move(copy, beside)  # a rename when on the same file system
    try:
        for suffix in ("-wal", "-shm"):  # an empty database's leftovers (checked empty)
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        beside.replace(target)
    except BaseException:
        beside.unlink(missing_ok=True)
        raise

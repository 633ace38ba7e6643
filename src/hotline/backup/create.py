"""`hotline backup create`: the database first (a consistent copy), then the files, then the
manifest, into OUT.partial, renamed to OUT only once complete and synced.

The database is copied before the files so that a row never points at a file taken later
than it: media written during the backup is left out (its row is too), and media purged
during it shows as unavailable, as it would have a moment later anyway.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hotline import __version__
from hotline.backup import archive, audit_entry, places, postgres_backup, sqlite_backup
from hotline.backup.errors import USAGE, BackupError
from hotline.backup.manifest import POSTGRES_MEMBER, SQLITE_MEMBER, Manifest
from hotline.config import Settings
from hotline.db import migrate
from hotline.db.base import utcnow
from hotline.db.engine import Database


@dataclass(frozen=True, slots=True)
class Created:
    path: Path
    manifest: Manifest
    size: int
    sha256: str  # of the backup file as written: record it beside the file
    encrypted: bool


def create(settings: Settings, out: Path, passphrase: bytes | None) -> Created:
    if out.exists():
        raise BackupError(f"{out} already exists; choose a new file name", USAGE)
    if not out.parent.is_dir():
        raise BackupError(f"{out.parent} is not a folder", USAGE)
    for folder in places.folders(settings).values():
        if out.absolute().is_relative_to(folder.absolute()):
            raise BackupError(f"{out} is inside {folder}, which the backup copies", USAGE)
    partial = out.with_name(out.name + ".partial")
    with tempfile.TemporaryDirectory(prefix=".hotline-backup-", dir=out.parent) as scratch:
        db = Database(settings.database_url)
        try:
            manifest_fields, db_member, db_file = _database_copy(settings, db, Path(scratch))
            try:
                fh = open(partial, "xb", opener=lambda p, f: os.open(p, f, 0o600))  # noqa: SIM115
            except FileExistsError as exc:
                raise BackupError(
                    f"{partial} exists: another backup is being written, or one was "
                    "interrupted (delete it)",
                    USAGE,
                ) from exc
            try:
                with fh:
                    writer = archive.ArchiveWriter(fh, passphrase)
                    try:
                        files = [writer.add_file(db_member, db_file)]
                        os.unlink(db_file)  # the copy is in the archive: free the space early
                        for name, path in places.files_to_copy(settings):
                            files.append(writer.add_file(name, path))
                        manifest = Manifest(
                            created_at=utcnow(),
                            hotline_version=__version__,
                            files=files,
                            **manifest_fields,  # type: ignore[arg-type]
                        )
                        written = writer.finish(manifest)
                    except BaseException:
                        writer.abort()
                        raise
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(partial, out)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            # Only at the schema this code writes: an older database is copied as it is.
            if migrate.is_current(db):
                audit_entry.record(
                    db,
                    settings,
                    "backup.created",
                    out.name,
                    {
                        "sha256": written.sha256,
                        "files": len(files),
                        "encrypted": passphrase is not None,
                        "revision": manifest.alembic_revision,
                    },
                )
        finally:
            db.dispose()
    return Created(out, manifest, written.size, written.sha256, passphrase is not None)


def _database_copy(
    settings: Settings, db: Database, scratch: Path
) -> tuple[dict[str, object], str, Path]:
    """Copy the database into `scratch`: (the manifest's database fields, member, copy)."""
    if db.is_sqlite:
        copy = scratch / "hotline.sqlite3"
        sqlite_backup.snapshot(sqlite_backup.database_path(settings.database_url), copy)
        revision = sqlite_backup.revision(copy)
        fields: dict[str, object] = {"backend": "sqlite", "alembic_revision": revision}
        member = SQLITE_MEMBER
    else:
        conn = postgres_backup.connection(settings.database_url)
        major = postgres_backup.check_tool("pg_dump", postgres_backup.server_major(db))
        revision = migrate.current_revision(db)
        copy = scratch / "hotline.pgdump"
        postgres_backup.dump(conn, copy)
        fields = {
            "backend": "postgresql",
            "alembic_revision": revision,
            "postgres_schema": conn.schema or postgres_backup.DEFAULT_SCHEMA,
            "pg_dump_major": major,
        }
        member = POSTGRES_MEMBER
    if revision is None:
        raise BackupError("the database is not migrated: there is nothing to back up", USAGE)
    return fields, member, copy

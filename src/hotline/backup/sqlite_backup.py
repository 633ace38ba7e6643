"""SQLite: a consistent copy through the online backup API (safe while hotline runs: the copy
is one read transaction's snapshot, WAL included), and the checks a restored copy passes."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url

from hotline.backup.errors import USAGE, BackupError


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)


def database_path(url: str) -> Path:
    name = make_url(url).database
    if not name or name == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up", USAGE)
    return Path(name)


def snapshot(source: Path, dest: Path) -> None:
    """Copy the live database at `source` into a new self-contained file at `dest`."""
    if not source.exists():
        raise BackupError(f"there is no database at {source}", USAGE)
    with (
        closing(sqlite3.connect(source)) as src,
        closing(sqlite3.connect(dest)) as out,
    ):
        src.backup(out)
        # One file, no -wal beside it: the copy travels alone.
        out.execute("PRAGMA journal_mode=DELETE")


def revision(path: Path) -> str | None:
    """The Alembic revision recorded in the database file at `path` (None if not migrated)."""
    with closing(_read_only(path)) as conn:
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:
            return None
    return str(row[0]) if row else None


def check_copy(path: Path) -> None:
    """A restored copy must open and pass SQLite's own structural check."""
    try:
        with closing(_read_only(path)) as conn:
            result = conn.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"the database in the backup does not open ({exc})") from exc
    if not result or result[0] != "ok":
        raise BackupError(f"the database in the backup fails SQLite's check: {result}")

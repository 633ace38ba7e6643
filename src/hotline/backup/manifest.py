"""The manifest: what a backup holds and how to check it (manifest.json, the archive's last
member).

Archive member names are `ROLE/PATH`: the role says where a file goes back on restore
(`database`, `media`, `releases`, `audit-anchors`), PATH is relative to that place. Names are
checked here, once, for both writing and reading, so a member can never name a place outside
its role's folder.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hotline.backup.errors import BackupError

FORMAT = "hotline-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"

DATABASE = "database"
MEDIA = "media"
RELEASES = "releases"
AUDIT_ANCHORS = "audit-anchors"
ROLES = (DATABASE, MEDIA, RELEASES, AUDIT_ANCHORS)

SQLITE_MEMBER = f"{DATABASE}/hotline.sqlite3"
POSTGRES_MEMBER = f"{DATABASE}/hotline.pgdump"

_PART = re.compile(r"[A-Za-z0-9._-]{1,255}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MAX_DEPTH = 12


def check_member_name(name: str) -> tuple[str, str]:
    """(role, path) of an archive member name; BackupError for anything that could land
    outside its role's folder (absolute, `..`, odd characters) or has no known role."""
    parts = name.split("/")
    if (
        name.startswith("/")
        or len(parts) < 2
        or len(parts) > _MAX_DEPTH
        or any(p in ("", ".", "..") or not _PART.fullmatch(p) for p in parts)
    ):
        raise BackupError(f"the archive holds a file with an unsafe name: {name!r}")
    if parts[0] not in ROLES:
        raise BackupError(f"the archive holds a file of no known kind: {name!r}")
    return parts[0], "/".join(parts[1:])


@dataclass(frozen=True, slots=True)
class FileEntry:
    name: str  # the archive member name, ROLE/PATH
    size: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.name, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class Manifest:
    created_at: datetime
    hotline_version: str
    backend: str  # "sqlite" or "postgresql"
    alembic_revision: str | None
    files: list[FileEntry]
    # PostgreSQL only: the schema dumped and the major version of the pg_dump that made it.
    postgres_schema: str | None = None
    pg_dump_major: int | None = None
    format_version: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        database: dict[str, Any] = {
            "backend": self.backend,
            "alembic_revision": self.alembic_revision,
        }
        if self.backend == "postgresql":
            database |= {"schema": self.postgres_schema, "pg_dump_major": self.pg_dump_major}
        return {
            "format": FORMAT,
            "format_version": self.format_version,
            "created_at": self.created_at.isoformat(),
            "hotline_version": self.hotline_version,
            "database": database,
            "files": [f.to_json() for f in self.files],
        }

    def encode(self) -> bytes:
        return (json.dumps(self.to_json(), indent=1) + "\n").encode()

    @property
    def database_member(self) -> str:
        return SQLITE_MEMBER if self.backend == "sqlite" else POSTGRES_MEMBER

    @classmethod
    def decode(cls, data: bytes) -> Manifest:
        try:
            doc = json.loads(data)
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise BackupError("the archive's manifest.json is not a hotline backup manifest")
            if doc.get("format_version") != FORMAT_VERSION:
                raise BackupError(
                    f"backup format version {doc.get('format_version')!r} is not one this "
                    f"hotline reads ({FORMAT_VERSION}); restore with the version that made it"
                )
            database = doc["database"]
            backend = database["backend"]
            if backend not in ("sqlite", "postgresql"):
                raise BackupError(f"unknown database backend {backend!r} in the manifest")
            files = []
            for item in doc["files"]:
                name, size, digest = item["path"], item["size"], item["sha256"]
                check_member_name(name)
                if not isinstance(size, int) or size < 0 or not _SHA256.fullmatch(digest):
                    raise BackupError(f"the manifest's entry for {name!r} is malformed")
                files.append(FileEntry(name, size, digest))
            major = database.get("pg_dump_major")
            manifest = cls(
                created_at=datetime.fromisoformat(doc["created_at"]),
                hotline_version=str(doc["hotline_version"]),
                backend=backend,
                alembic_revision=database.get("alembic_revision"),
                files=files,
                postgres_schema=database.get("schema"),
                pg_dump_major=int(major) if major is not None else None,
            )
        except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
            raise BackupError(f"the archive's manifest.json is malformed ({exc})") from exc
        if len({f.name for f in files}) != len(files):
            raise BackupError("the manifest lists a file twice")
        if manifest.database_member not in {f.name for f in files}:
            raise BackupError("the manifest lists no database")
        return manifest

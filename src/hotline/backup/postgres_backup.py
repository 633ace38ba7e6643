"""PostgreSQL: `pg_dump` in custom format, `pg_restore --single-transaction` back.

The client tools must be at least as new as the server (an older pg_dump refuses or, worse,
misses what it does not know). The connection is handed to them as a libpq keyword string
with the password in PGPASSWORD, so it never shows in the process list. When the URL sets a
`search_path` (one schema per instance, as the test suite runs), only that schema is dumped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from hotline.backup.errors import USAGE, BackupError
from hotline.db.engine import Database

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")
_SEARCH_PATH = re.compile(r"search_path\s*=\s*([A-Za-z_][A-Za-z0-9_$]*)")
DEFAULT_SCHEMA = "public"


@dataclass(frozen=True, slots=True)
class Connection:
    conninfo: str  # libpq keywords, no password
    password: str | None
    schema: str | None  # the search_path schema named in the URL, if any

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def connection(url: str) -> Connection:
    parsed = make_url(url)
    words: dict[str, str] = {}
    for key, value in (
        ("host", parsed.host),
        ("port", str(parsed.port) if parsed.port else None),
        ("user", parsed.username),
        ("dbname", parsed.database),
    ):
        if value:
            words[key] = value
    schema = None
    for key, given in parsed.query.items():
        text_value = given if isinstance(given, str) else ",".join(given)
        words[key] = text_value
        if key == "options" and (found := _SEARCH_PATH.search(text_value)):
            schema = found.group(1)
    conninfo = " ".join(f"{k}={_quote(v)}" for k, v in words.items())
    return Connection(conninfo, parsed.password, schema)


def _tool_major(tool: str) -> int:
    path = shutil.which(tool)
    if path is None:
        raise BackupError(
            f"{tool} is not installed; install the PostgreSQL client tools of the server's "
            "version (Debian: apt-get install postgresql-client)",
            USAGE,
        )
    # Fixed argument lists, no shell: S603 guards against neither.
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    found = _VERSION.search(out.stdout)
    if found is None:
        raise BackupError(f"cannot tell {tool}'s version from {out.stdout.strip()!r}", USAGE)
    return int(found.group(1))


def server_major(db: Database) -> int:
    with db.reader.connect() as conn:
        return int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000


def check_tool(tool: str, server: int) -> int:
    """The tool's major version; BackupError (exit 2) if it is missing or older than the
    server."""
    major = _tool_major(tool)
    if major < server:
        raise BackupError(
            f"{tool} is version {major} but the server is PostgreSQL {server}: install the "
            f"client tools of version {server} or newer (an older {tool} cannot read a newer "
            "server's catalogue)",
            USAGE,
        )
    return major


def _run(args: list[str], conn: Connection, what: str) -> None:
    done = subprocess.run(args, env=conn.env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()
        raise BackupError(f"{what} failed: {detail[-1] if detail else done.returncode}")


def dump(conn: Connection, dest: Path) -> None:
    args = ["pg_dump", "--format=custom", f"--file={dest}", f"--dbname={conn.conninfo}"]
    if conn.schema:
        args.append(f"--schema={conn.schema}")
    _run(args, conn, "pg_dump")


def restore(conn: Connection, dump_file: Path) -> None:
    """Into the configured database, all or nothing (one transaction, stop at the first
    error); objects are owned by the connecting user, grants are left to the operator."""
    _run(
        [
            "pg_restore",
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            f"--dbname={conn.conninfo}",
            str(dump_file),
        ],
        conn,
        "pg_restore",
    )


def tables_in(db: Database, schema: str) -> int:
    with db.reader.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM information_schema.tables "
                    "WHERE table_schema = :s AND table_type = 'BASE TABLE'"
                ),
                {"s": schema},
            ).scalar_one()
        )

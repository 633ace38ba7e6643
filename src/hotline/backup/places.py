"""Where an instance keeps what a backup holds, and whether a restore target is empty.

Files: DATA_DIR/media (sealed media, copied as they are: they stay sealed with a key derived
from the instance secret), DATA_DIR/releases (signed list releases) and the audit anchor file
(`audit_anchor_path`, by default DATA_DIR/audit-anchors.jsonl). The list-signing and
exchange identity keys are rows in the database, sealed the same way, so they travel with it.
Never included: the secret key (HOTLINE_SECRET_KEY, or DATA_DIR/secret.key outside
production) and the demo credentials.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, inspect, literal, select, table
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError

from hotline.backup.errors import BackupError
from hotline.backup.manifest import AUDIT_ANCHORS, MEDIA, RELEASES
from hotline.config import Settings

# Tables whose rows are the hotline's casework: any row in one makes a target "not empty".
# Others may hold rows a fresh start writes (migrations' audit head, advice content, jobs).
CASEWORK_TABLES = (
    "users",
    "reports",
    "reported_urls",
    "media_items",
    "grades",
    "audit_log",
    "hash_lists",
    "list_releases",
    "list_signing_keys",
    "members",
    "takedown_cases",
    "partner_hotlines",
    "exchange_keys",
)


def anchor_path(settings: Settings) -> Path | None:
    """The audit anchor file; None when checkpoints go to a URL instead (nothing to copy)."""
    # getattr: the setting arrived with `hotline audit anchor`; older settings lack it.
    configured = str(getattr(settings, "audit_anchor_path", "") or "")
    if "://" in configured:
        return None
    return Path(configured) if configured else settings.data_dir / "audit-anchors.jsonl"


def folders(settings: Settings) -> dict[str, Path]:
    return {MEDIA: settings.data_dir / "media", RELEASES: settings.data_dir / "releases"}


def _skipped(name: str) -> bool:
    # Files being written right now: media's `.tmp`, a release's `.tmp-*` staging folder.
    return name.endswith(".tmp") or name.startswith(".tmp-")


def files_to_copy(settings: Settings) -> Iterator[tuple[str, Path]]:
    """(archive member name, path) of every file to back up, in a stable order; links are
    not followed (nothing hotline writes is a link)."""
    for role, root in folders(settings).items():
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not _skipped(d))
            for name in sorted(names):
                path = Path(folder) / name
                if _skipped(name) or path.is_symlink() or not path.is_file():
                    continue
                yield f"{role}/{path.relative_to(root).as_posix()}", path
    anchors = anchor_path(settings)
    if anchors is not None and anchors.is_file():
        yield f"{AUDIT_ANCHORS}/{anchors.name}", anchors


def casework_in(engine: Engine) -> list[str]:
    """The casework tables that hold at least one row."""
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        return [
            t
            for t in CASEWORK_TABLES
            if t in present
            and conn.execute(select(literal(1)).select_from(table(t)).limit(1)).first() is not None
        ]


def sqlite_casework(path: Path) -> list[str]:
    engine = create_engine(f"sqlite:///file:{path.absolute()}?mode=ro&uri=true")
    try:
        return casework_in(engine)
    except DatabaseError as exc:
        raise BackupError(
            f"{path} is there but cannot be read as a database ({exc.orig}); move it away"
        ) from exc
    finally:
        engine.dispose()


def files_in_the_way(settings: Settings) -> list[Path]:
    """Files already at the places a restore writes to (a folder counts if not empty)."""
    found = [p for p in folders(settings).values() if p.is_dir() and any(p.iterdir())]
    found += [p for p in folders(settings).values() if p.exists() and not p.is_dir()]
    anchors = anchor_path(settings)
    if anchors is not None and anchors.exists():
        found.append(anchors)
    return found


def refuse_if_data(where: str, tables: list[str]) -> None:
    if tables:
        raise BackupError(
            f"the target is not empty: {where} already holds {', '.join(tables)}. Restore "
            "only into an empty instance (a new database and data directory); nothing was "
            "written"
        )

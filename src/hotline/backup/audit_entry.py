"""The audit entries of backups and restores, appended under this instance's audit key, and
the check that a restored chain verifies under it (the key is not in the backup)."""

from __future__ import annotations

from typing import Any

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.security import audit
from hotline.security.audit_keys import audit_key, use_key

ACTOR = "cli"


def chain_problem(db: Database, settings: Settings) -> str | None:
    """Why the audit chain does not verify under this instance's key, or None if it does."""
    use_key(db, audit_key(settings))
    with db.read() as session:
        result = audit.verify(session)
    return None if result.ok else str(result.problem)


def record(
    db: Database, settings: Settings, action: str, name: str, detail: dict[str, Any]
) -> None:
    use_key(db, audit_key(settings))
    with db.write() as session:
        audit.record(session, ACTOR, action, "backup", name, detail)

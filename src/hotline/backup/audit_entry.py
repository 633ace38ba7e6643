"""The audit entries of backups and restores, appended under this instance's audit key."""

from __future__ import annotations

from typing import Any

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.security import audit
from hotline.security.audit_keys import audit_key, use_key

ACTOR = "cli"


def record(
    db: Database, settings: Settings, action: str, name: str, detail: dict[str, Any]
) -> None:
    use_key(db, audit_key(settings))
    with db.write() as session:
        audit.record(session, ACTOR, action, "backup", name, detail)

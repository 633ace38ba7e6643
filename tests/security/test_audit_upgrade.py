"""Upgrading a deployment whose audit log predates keyed rows (revision 0011): the old rows
stay as they were, one keyed row pins them, and verification checks each part its own way."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hotline.db import migrate
from hotline.db.engine import Database
from hotline.security import audit
from hotline.security.audit_keys import chain_key_from, use_default_key, use_key
from tests.conftest import BACKENDS, POSTGRES_URL, TEST_SECRET

GENESIS = "0" * 64


@pytest.fixture(params=BACKENDS)
def old_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database migrated only as far as the revision before keyed rows."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'old.db'}")
        migrate.upgrade(db, "0010_media_vpdq")
        yield db
        db.dispose()
        return
    schema = f"hotline_upgrade_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    db = Database(url.render_as_string(hide_password=False))
    migrate.upgrade(db, "0010_media_vpdq")
    yield db
    db.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def write_legacy_rows(db: Database, n: int) -> None:
    """Rows as the code before revision 0011 wrote them: SHA-256 over \\x1f-joined fields."""
    prev = GENESIS
    with db.writer.begin() as conn:
        for seq in range(1, n + 1):
            at = datetime(2026, 1, 1, 12, 0, seq, 123456, tzinfo=UTC)
            fields = [
                prev,
                str(seq),
                at.isoformat(),
                "analyst1",
                "report.view",
                "report",
                f"R{seq}",
                "{}",
            ]
            row_hash = hashlib.sha256("\x1f".join(fields).encode()).hexdigest()
            conn.execute(
                text(
                    "INSERT INTO audit_log (seq, at, actor, action, object_type, object_id, "
                    "detail, prev_hash, hash) VALUES (:seq, :at, 'analyst1', 'report.view', "
                    "'report', :oid, '{}', :prev, :hash)"
                ),
                {
                    "seq": seq,
                    "at": at if not db.is_sqlite else at.replace(tzinfo=None),
                    "oid": f"R{seq}",
                    "prev": prev,
                    "hash": row_hash,
                },
            )
            prev = row_hash
        conn.execute(
            text("UPDATE audit_head SET last_seq = :n, last_hash = :h WHERE id = 1"),
            {"n": n, "h": prev},
        )


def test_upgrade_keeps_legacy_rows_and_pins_them(old_db: Database) -> None:
    db = old_db
    write_legacy_rows(db, 3)
    use_key(db, chain_key_from(TEST_SECRET.encode()))
    migrate.upgrade(db)
    with db.read() as session:
        result = audit.verify(session)
        (rekey,) = audit.page(session, None, 1)
    assert result.ok and result.last_seq == 4 and result.keyed_from == 4
    assert rekey.action == audit.REKEY_ACTION and rekey.detail == {"legacy_rows": 3}
    with db.write() as session:
        audit.record(session, "analyst1", "report.view", "report", "R5")
    with db.read() as session:
        assert audit.verify(session).ok
    # A legacy row edited (its hashes recomputed the old way) no longer meets the keyed row.
    with db.writer.begin() as conn:
        if db.is_sqlite:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("UPDATE audit_log SET object_id = 'R9' WHERE seq = 3"))
    with db.read() as session:
        broken = audit.verify(session)
    assert not broken.ok and broken.problem == "row 3 was altered"


def test_upgrade_of_a_used_log_needs_the_key(old_db: Database) -> None:
    write_legacy_rows(old_db, 2)
    use_default_key(None)
    try:
        with pytest.raises(RuntimeError, match="keying the chain needs the audit key"):
            migrate.upgrade(old_db)
    finally:
        use_default_key(chain_key_from(TEST_SECRET.encode()))


def test_upgrade_of_an_empty_log_adds_no_row(old_db: Database) -> None:
    use_default_key(None)
    try:
        migrate.upgrade(old_db)  # no key needed: nothing to pin
    finally:
        use_default_key(chain_key_from(TEST_SECRET.encode()))
    with old_db.read() as session:
        result = audit.verify(session)
    assert result.ok and result.last_seq == 0

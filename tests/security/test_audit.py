"""The audit chain notices an edited, removed or truncated row, and the database refuses
edits in the first place."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from hotline.db.engine import Database
from hotline.security import audit


def write_entries(db: Database, n: int) -> None:
    for i in range(n):
        with db.write() as session:
            audit.record(session, "analyst1", "report.view", "report", f"R{i}", {"i": i})


def test_chain_verifies(db: Database) -> None:
    write_entries(db, 5)
    with db.read() as session:
        result = audit.verify(session)
        assert result.ok and result.rows_checked == 5
        assert [e.object_id for e in audit.recent(session, 2)] == ["R4", "R3"]


def test_rolled_back_work_leaves_no_entry(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as session:
        audit.record(session, "a", "x", "y", "1", {})
        raise RuntimeError("the work failed")
    write_entries(db, 1)
    with db.read() as session:
        result = audit.verify(session)
    assert result.ok and result.rows_checked == 1


def test_database_refuses_update_and_delete(db: Database) -> None:
    write_entries(db, 1)
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), db.writer.begin() as conn:
            conn.execute(text(statement))


@pytest.fixture
def unguarded(db: Database) -> Iterator[Database]:
    """What someone with full database rights could do before tampering: drop the triggers.
    Put back afterwards, since PostgreSQL tests share one schema."""
    with db.writer.begin() as conn:
        if db.is_sqlite:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
    yield db
    if not db.is_sqlite:
        with db.writer.begin() as conn:
            conn.execute(
                text(
                    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                    "FOR EACH ROW EXECUTE FUNCTION hotline_audit_append_only()"
                )
            )


def test_edited_row_is_named(unguarded: Database) -> None:
    db = unguarded
    write_entries(db, 6)
    with db.writer.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 4"))
    with db.read() as session:
        result = audit.verify(session)
    assert not result.ok and result.seq == 4 and "altered" in (result.problem or "")
    assert result.rows_checked == 3


def test_removed_row_is_named(unguarded: Database) -> None:
    db = unguarded
    write_entries(db, 6)
    with db.writer.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    with db.read() as session:
        result = audit.verify(session)
    assert not result.ok and result.seq == 2 and "missing" in (result.problem or "")


def test_truncated_tail_is_noticed(unguarded: Database) -> None:
    db = unguarded
    write_entries(db, 6)
    with db.writer.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq >= 5"))
    with db.read() as session:
        result = audit.verify(session)
    assert not result.ok and result.seq == 5


def test_cli_verify_exits_1_and_names_the_row(unguarded: Database, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    db = unguarded
    from hotline.cli import app

    write_entries(db, 3)
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    # The CLI works on an existing instance only (it never creates one in the cwd).
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact: 3 rows" in ok.output
    with db.writer.begin() as conn:
        conn.execute(text("UPDATE audit_log SET detail = '{\"i\": 99}' WHERE seq = 2"))
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "row 2 was altered" in broken.output

"""What someone with the database's rights (or a superuser's) can do to the audit log, and
`hotline audit verify` naming each: a TRUNCATE, rows rewritten and the head moved, a chain
reset or cut after a checkpoint, a field separator planted in a name, the head row removed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from typer.testing import Result

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.security import audit
from tests.conftest import TEST_SECRET

GENESIS = "0" * 64


def write_entries(db: Database, n: int, actor: str = "analyst1") -> None:
    for i in range(n):
        with db.write() as session:
            audit.record(session, actor, "report.view", "report", f"R{i}", {"i": i})


@pytest.fixture
def superuser(db: Database) -> Callable[[], Iterator[Connection]]:
    """A transaction with the triggers out of the way, as a superuser (or the tables' owner)
    could have: PostgreSQL's replica mode skips them; SQLite's are dropped (a per-test copy)."""
    from contextlib import contextmanager

    @contextmanager
    def begin() -> Iterator[Connection]:
        with db.writer.begin() as conn:
            if db.is_sqlite:
                for trigger in (
                    "audit_log_no_update",
                    "audit_log_no_delete",
                    "audit_head_no_delete",
                ):
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
            else:
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            yield conn

    return begin


def unkeyed_hash(prev: str, row: dict[str, object]) -> str:
    """The best an attacker without the key can do: the same encoding, plain SHA-256."""
    payload = json.dumps(
        [
            prev,
            row["seq"],
            str(row["at_iso"]),
            row["actor"],
            row["action"],
            row["object_type"],
            row["object_id"],
            row["detail"],
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def legacy_hash(prev: str, row: dict[str, object]) -> str:
    fields = [
        prev,
        str(row["seq"]),
        str(row["at_iso"]),
        row["actor"],
        row["action"],
        row["object_type"],
        row["object_id"],
        row["detail"],
    ]
    return hashlib.sha256("\x1f".join(str(f) for f in fields).encode()).hexdigest()


def rechain(
    conn: Connection,
    db: Database,
    scheme: Callable[..., str],
    version: int,
    edit: Callable[[dict[str, object]], None] = lambda row: None,
) -> None:
    """Rewrite every row's hashes with `scheme` (after `edit`), and move the head to match."""
    with db.read() as session:
        rows = [
            {
                "seq": e.seq,
                "at_iso": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "object_type": e.object_type,
                "object_id": e.object_id,
                "detail": json.dumps(e.detail, sort_keys=True, separators=(",", ":")),
            }
            for e in reversed(audit.recent(session, 10_000))
        ]
    prev = GENESIS
    for row in rows:
        edit(row)
        row_hash = scheme(prev, row)
        conn.execute(
            text(
                "UPDATE audit_log SET actor = :actor, action = :action, prev_hash = :prev, "
                "hash = :hash, chain_version = :version WHERE seq = :seq"
            ),
            {
                "actor": row["actor"],
                "action": row["action"],
                "prev": prev,
                "hash": row_hash,
                "version": version,
                "seq": row["seq"],
            },
        )
        prev = row_hash
    conn.execute(
        text("UPDATE audit_head SET last_seq = :seq, last_hash = :hash WHERE id = 1"),
        {"seq": len(rows), "hash": prev},
    )


def broken(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.output


# -- what the database refuses -----------------------------------------------------------------


def test_truncate_is_refused_on_postgresql(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has no TRUNCATE; its DELETE triggers stand in")
    write_entries(db, 2)
    for table in ("audit_log", "audit_head"):
        with (
            pytest.raises(DBAPIError, match="append-only: TRUNCATE refused"),
            db.writer.begin() as conn,
        ):
            conn.execute(text(f"TRUNCATE {table}"))
    with db.read() as session:
        assert audit.verify(session).rows_checked == 2


def test_head_row_cannot_be_deleted(db: Database) -> None:
    with pytest.raises(DBAPIError, match="append-only"), db.writer.begin() as conn:
        conn.execute(text("DELETE FROM audit_head"))


# -- what verify names ----------------------------------------------------------------------


def test_intact_chain_verifies(db: Database, cli: Callable[..., Result]) -> None:
    write_entries(db, 4)
    result = cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "intact: 4 rows" in result.output and "no checkpoints" in result.output


def test_rewritten_rows_with_the_head_moved_are_named(
    db: Database, cli: Callable[..., Result], superuser: Callable[[], Iterator[Connection]]
) -> None:
    write_entries(db, 5)

    def reassign(row: dict[str, object]) -> None:
        if row["seq"] == 3:
            row["actor"] = "someone-else"

    with superuser() as conn:
        rechain(conn, db, unkeyed_hash, audit.KEYED, reassign)
    output = broken(cli("audit", "verify"))
    # Without the key even row 1's recomputed hash is wrong: the first row is named.
    assert "row 1 was altered" in output


def test_chain_rewritten_as_legacy_rows_is_named(
    db: Database, cli: Callable[..., Result], superuser: Callable[[], Iterator[Connection]]
) -> None:
    """The old unkeyed scheme is recomputable by anyone: a chain rewritten in it verifies row
    by row, but no keyed re-key row follows it."""
    write_entries(db, 4)
    with superuser() as conn:
        rechain(conn, db, legacy_hash, audit.LEGACY)
    output = broken(cli("audit", "verify"))
    assert "rows up to 4 use the unkeyed legacy scheme" in output


def test_separator_planted_in_a_username_is_named(
    db: Database, cli: Callable[..., Result], superuser: Callable[[], Iterator[Connection]]
) -> None:
    """A name holding \\x1f could be re-split (actor and action swap characters) without
    changing the old hash; the keyed encoding quotes every field, so the hash changes."""
    write_entries(db, 1)
    with db.write() as session:
        audit.record(session, "eve\x1freport", "view", "report", "R9", {})
    with db.read() as session:
        assert audit.verify(session).ok  # a strange name is no tampering by itself
    with superuser() as conn:
        conn.execute(
            text("UPDATE audit_log SET actor = 'eve', action = :a WHERE seq = 2"),
            {"a": "report\x1fview"},
        )
    assert "row 2 was altered" in broken(cli("audit", "verify"))


def test_legacy_row_holding_the_separator_is_named(
    db: Database, cli: Callable[..., Result], superuser: Callable[[], Iterator[Connection]]
) -> None:
    write_entries(db, 2)

    def plant(row: dict[str, object]) -> None:
        if row["seq"] == 2:
            row["actor"] = "eve\x1freport.view"

    with superuser() as conn:
        rechain(conn, db, legacy_hash, audit.LEGACY, plant)
    assert "row 2 holds the field separator" in broken(cli("audit", "verify"))


def test_missing_head_row_is_an_error_not_a_traceback(
    db: Database, cli: Callable[..., Result], superuser: Callable[[], Iterator[Connection]]
) -> None:
    write_entries(db, 2)
    with superuser() as conn:
        conn.execute(text("DELETE FROM audit_head"))
    assert "head row (audit_head) is missing" in broken(cli("audit", "verify"))
    with pytest.raises(RuntimeError, match="audit_head row is missing"), db.write() as session:
        audit.record(session, "a", "b", "c", "d")


# -- against checkpoints ---------------------------------------------------------------------


def test_tail_deleted_after_a_checkpoint_is_named(
    db: Database, cli: Callable[..., Result], superuser: Callable[[], Iterator[Connection]]
) -> None:
    write_entries(db, 8)
    assert cli("audit", "anchor").exit_code == 0
    with db.read() as session:
        row5 = audit.page(session, 6, 1)[0]
        row5_hash = session.execute(text("SELECT hash FROM audit_log WHERE seq = 5")).scalar_one()
    assert row5.seq == 5
    with superuser() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq > 5"))
        conn.execute(text("UPDATE audit_head SET last_seq = 5, last_hash = :h"), {"h": row5_hash})
    with db.read() as session:
        assert audit.verify(session).ok  # the chain alone cannot tell
    output = broken(cli("audit", "verify"))
    assert "tail deleted after checkpoint 8: the chain ends at row 5" in output
    # Nor is the damage blessed by a new checkpoint.
    assert "tail deleted after checkpoint 8" in broken(cli("audit", "anchor"))


def test_truncated_and_reset_chain_is_named(
    db: Database, cli: Callable[..., Result], superuser: Callable[[], Iterator[Connection]]
) -> None:
    write_entries(db, 3)
    assert cli("audit", "anchor").exit_code == 0
    with superuser() as conn:
        conn.execute(text("DELETE FROM audit_log" if db.is_sqlite else "TRUNCATE audit_log"))
        conn.execute(text("UPDATE audit_head SET last_seq = 0, last_hash = :g"), {"g": GENESIS})
    assert "the chain was reset: it has no rows" in broken(cli("audit", "verify"))
    # The app goes on appending: a genuine chain again, but not the one the checkpoint saw.
    write_entries(db, 4, actor="after-reset")
    output = broken(cli("audit", "verify"))
    assert "row 3 differs from checkpoint 3" in output and "rewritten or reset" in output


def test_altered_checkpoint_is_named(
    db: Database, cli: Callable[..., Result], tmp_path: Path
) -> None:
    write_entries(db, 3)
    assert cli("audit", "anchor").exit_code == 0
    anchors = tmp_path / "data" / "audit-anchors.jsonl"
    record = json.loads(anchors.read_text())
    assert record["seq"] == 3 and record["hash"] and record["signature"]
    record["seq"] = 2  # to make a shortened chain look expected
    anchors.write_text(json.dumps(record) + "\n")
    assert "has a bad signature" in broken(cli("audit", "verify"))
    record["key_id"] = "0" * 16
    anchors.write_text(json.dumps(record) + "\n")
    assert "was signed by key 0000000000000000" in broken(cli("audit", "verify"))
    anchors.write_text("not json\n")
    assert "is not JSON" in broken(cli("audit", "verify"))


def test_checkpoints_accumulate_and_verify(db: Database, cli: Callable[..., Result]) -> None:
    write_entries(db, 2)
    assert cli("audit", "anchor").exit_code == 0
    write_entries(db, 2)
    anchored = cli("audit", "anchor")
    assert anchored.exit_code == 0 and "checkpoint: row 4" in anchored.output
    result = cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "matches 2 checkpoints" in result.output and "latest: row 4" in result.output


# -- the key ---------------------------------------------------------------------------------


def test_verify_needs_the_same_key(
    db: Database, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_entries(db, 2)
    assert cli("audit", "verify").exit_code == 0
    monkeypatch.setenv("HOTLINE_AUDIT_KEY", "another-audit-key-" + "k" * 30)
    assert "row 1 was altered" in broken(cli("audit", "verify"))
    monkeypatch.setenv("HOTLINE_AUDIT_KEY", "too-short")
    assert cli("audit", "verify").exit_code == 2


def test_own_audit_key_keys_the_chain_and_needs_no_web_secret(
    db: Database, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    from hotline.security.audit_keys import audit_key, use_key

    own = settings.model_copy(update={"audit_key": SecretStr("operator-audit-key-" + "q" * 30)})
    use_key(db, audit_key(own))
    try:
        write_entries(db, 2)
    finally:
        use_key(db, audit_key(settings))
    assert "row 1 was altered" in broken(cli("audit", "verify"))  # the web secret's key
    monkeypatch.delenv("HOTLINE_SECRET_KEY")
    monkeypatch.setenv("HOTLINE_AUDIT_KEY", "operator-audit-key-" + "q" * 30)
    result = cli("audit", "verify")
    assert result.exit_code == 0 and "intact: 2 rows" in result.output


def test_old_secret_as_audit_key_survives_a_secret_rotation(
    db: Database, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What docs/security.md tells an operator rotating HOTLINE_SECRET_KEY to do."""
    write_entries(db, 2)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", "rotated-secret-" + TEST_SECRET[::-1])
    assert "row 1 was altered" in broken(cli("audit", "verify"))
    monkeypatch.setenv("HOTLINE_AUDIT_KEY", TEST_SECRET)
    result = cli("audit", "verify")
    assert result.exit_code == 0 and "intact: 2 rows" in result.output


def test_row_encoding_is_the_documented_json_array() -> None:
    """orjson's bytes equal json.dumps(…, ensure_ascii=False, separators=(",", ":")), what
    docs/security.md describes and revision 0011 computes the re-key row with."""
    from datetime import UTC, datetime

    at = datetime(2026, 12, 4, 16, 0, 0, 123456, tzinfo=UTC)
    for name in ("eve\x1freport", 'quote" back\\slash', "\x00\x07\n\t\x7f", "é ✓ 𝄞 \u2028", ""):
        fields = ["a" * 64, 7, at, name, "view", "report", name, '{"k":"v"}']
        expected = json.dumps(
            [fields[0], 7, at.isoformat(), *fields[3:]], ensure_ascii=False, separators=(",", ":")
        ).encode()
        assert audit._encode(*fields) == expected, name  # type: ignore[arg-type]


def test_rewritten_head_hash_is_named(
    db: Database, cli: Callable[..., Result], superuser: Callable[[], Iterator[Connection]]
) -> None:
    write_entries(db, 3)
    with superuser() as conn:
        conn.execute(text("UPDATE audit_head SET last_hash = :h"), {"h": "e" * 64})
    assert "the head row's hash is not row 3's" in broken(cli("audit", "verify"))


def test_removed_checkpoint_file_is_named(
    db: Database, cli: Callable[..., Result], tmp_path: Path
) -> None:
    write_entries(db, 2)
    assert cli("audit", "anchor").exit_code == 0
    (tmp_path / "data" / "audit-anchors.jsonl").unlink()
    output = broken(cli("audit", "verify"))
    assert "checkpoints were written" in output and "the file was removed or emptied" in output

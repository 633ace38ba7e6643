"""SQLite the Datasette way: WAL, one writer connection per process, every write in
BEGIN IMMEDIATE, readers on their own connections. SQLite only by nature."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from hotline.db.engine import Database
from hotline.security import audit
from hotline.security.tables import AuditHeadRow


@pytest.fixture
def sqlite_path(tmp_path: Path, sqlite_template: Path) -> Path:
    path = tmp_path / "hotline.db"
    shutil.copy(sqlite_template, path)
    return path


@pytest.fixture
def sqlite_db(sqlite_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{sqlite_path}")
    yield database
    database.dispose()


def raw(path: Path) -> sqlite3.Connection:
    """Another process's view of the file: a plain connection that waits for no lock."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    return conn


def test_a_new_file_database_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "hotline.db"
    db = Database(f"sqlite:///{path}")
    try:
        db.ping()
        with db.writer.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        with db.reader.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        db.dispose()
    # WAL is a property of the file, so any later connection (another process) finds it too.
    other = raw(path)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        other.close()


def test_the_writer_pool_holds_one_connection(sqlite_db: Database) -> None:
    pool = sqlite_db.writer.pool
    assert pool.size() == 1
    assert pool._max_overflow == 0
    assert sqlite_db.reader is not sqlite_db.writer


def test_a_write_holds_the_write_lock_from_its_first_statement(
    sqlite_db: Database, sqlite_path: Path
) -> None:
    """BEGIN IMMEDIATE takes the write lock at the start, even before anything is written, so
    a transaction that reads and then writes can never find its snapshot stale."""
    other = raw(sqlite_path)
    try:
        with sqlite_db.write() as session:
            session.execute(select(AuditHeadRow.last_seq)).scalar_one()  # only a read so far
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again once the write transaction ended
        other.execute("ROLLBACK")
        # A read transaction takes no write lock: writers are never blocked by readers.
        with sqlite_db.read() as session:
            session.execute(select(AuditHeadRow.last_seq)).scalar_one()
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
    finally:
        other.close()


def test_threads_writing_at_once_share_the_one_writer_connection(sqlite_db: Database) -> None:
    threads_n, per_thread = 4, 10
    start = threading.Barrier(threads_n)
    connections: set[int] = set()
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            start.wait(timeout=10)
            for i in range(per_thread):
                with sqlite_db.write() as session:
                    connections.add(id(session.connection().connection.dbapi_connection))
                    audit.record(session, f"thread{n}", "test.write", "thing", str(i), {})
        except BaseException as exc:  # collected and re-raised in the test's own thread
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads_n)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not errors, errors
    assert len(connections) == 1
    with sqlite_db.read() as session:
        result = audit.verify(session)
    assert result.ok and result.rows_checked == threads_n * per_thread


def test_two_processes_reading_then_writing_both_succeed(sqlite_path: Path) -> None:
    """Two Database objects on one file stand for two processes (the web app and a worker).
    Each transaction reads the audit head and then appends. With a deferred BEGIN the second
    would read a snapshot that the first then makes stale, and fail at once with "database is
    locked"; BEGIN IMMEDIATE makes it wait for the first instead."""
    first, second = Database(f"sqlite:///{sqlite_path}"), Database(f"sqlite:///{sqlite_path}")
    first_has_read, second_has_read = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def run_first() -> None:
        try:
            with first.write() as session:
                session.execute(select(AuditHeadRow.last_seq)).scalar_one()
                first_has_read.set()
                # The second may now try to read too; with BEGIN IMMEDIATE it cannot start.
                second_has_read.wait(timeout=0.5)
                audit.record(session, "web", "test.write", "thing", "1", {})
        except BaseException as exc:
            errors.append(exc)

    def run_second() -> None:
        try:
            assert first_has_read.wait(timeout=10)
            with second.write() as session:
                session.execute(select(AuditHeadRow.last_seq)).scalar_one()
                second_has_read.set()
                audit.record(session, "worker", "test.write", "thing", "2", {})
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
        with first.read() as session:
            result = audit.verify(session)
            actors = session.execute(text("SELECT actor FROM audit_log ORDER BY seq")).scalars()
            assert list(actors) == ["web", "worker"]
        assert result.ok and result.rows_checked == 2
    finally:
        first.dispose()
        second.dispose()

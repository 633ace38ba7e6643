"""Engines and transactions.

SQLite is done the Datasette way: one writer connection (writes are serialised in-process and
start with BEGIN IMMEDIATE, so they never deadlock upgrading a read lock), separate
connections for reads, WAL so readers never block the writer. PostgreSQL uses one pooled
engine for both.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

_BUSY_TIMEOUT_MS = 30_000


def _sqlite_engine(url: str, *, begin: str, pool_size: int) -> Engine:
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
        connect_args={"check_same_thread": False, "timeout": _BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves instead of pysqlite's implicit deferred BEGIN.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


class Database:
    """The one way code reaches the database: `with db.write() as s` or `with db.read() as s`."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # pool_size=1: exactly one writer connection in this process.
            self.writer = _sqlite_engine(url, begin="BEGIN IMMEDIATE", pool_size=1)
            self.reader = _sqlite_engine(url, begin="BEGIN", pool_size=8)
        else:
            self.writer = create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
            self.reader = self.writer
        self._autocommit: Engine | None = None
        self._autocommit_lock = threading.Lock()
        self._write_sessions = sessionmaker(self.writer, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.reader, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits when the block ends and rolls back on any error."""
        with self._write_sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only view; its transaction ends (rolled back) when the block closes. Objects
        loaded inside stay readable afterwards (closing detaches rather than expires them)."""
        with self._read_sessions() as session:
            yield session

    @property
    def autocommit_reader(self) -> Engine:
        """For hot single-statement reads on bare DB-API connections (the match API's key
        check). On PostgreSQL, a small pool of its own in autocommit with nothing done on
        checkout or return: through the main pool the same read also paid a ping and a
        ROLLBACK round trip, four times the query. Nothing tests a connection before handing
        it out, so a caller retries once on the driver's `OperationalError` (the database was
        restarted). On SQLite, the reader engine (already autocommit)."""
        if self.is_sqlite:
            return self.reader
        with self._autocommit_lock:  # key reads come from many threads at once
            if self._autocommit is None:
                self._autocommit = create_engine(
                    self.url,
                    pool_size=4,
                    max_overflow=4,
                    pool_reset_on_return=None,
                    isolation_level="AUTOCOMMIT",
                )
            return self._autocommit

    def ping(self) -> None:
        with self.reader.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        if self._autocommit is not None:
            self._autocommit.dispose()
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()

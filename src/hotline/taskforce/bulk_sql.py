"""Bulk statements on the driver: IN lists and many-row inserts of a million-row import.

SQLAlchemy compiles an `IN` of 2,000 values parameter by parameter and processes each row of
an executemany through the ORM's machinery; for a million rows that cost more than the
database itself. These helpers send plain statements with positional parameters to the
driver (every value bound, never spliced into the text).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, Table
from sqlalchemy.orm import Session

from hotline.db.engine import Database

IN_CHUNK = 2000  # values in one IN list (SQLite allows 32,766 parameters)
# Values copied into PostgreSQL's temporary table at once: a batch's 50,000 keys in one COPY
# and one statement, not 25 rounds of four statements (0.5 -> 0.2 s a batch's key check).
PG_IN_CHUNK = 100_000
# PostgreSQL re-reads the items table's size after an import's first ANALYSE_FIRST_AT new
# rows, then each time its additions double (`PlannerStatistics`).
ANALYSE_FIRST_AT = 20_000
# SQLite page cache of the import's writer connection, in KiB (SQLite's default is 2 MiB).
IMPORT_CACHE_KIB = 256 * 1024


@contextmanager
def import_cache(db: Database) -> Iterator[None]:
    """SQLite: the writer connection's page cache raised to `IMPORT_CACHE_KIB` for the length
    of an import, then set back. A batch of items inserts keys at random places in the
    items' key index, and clustering rewrites rows all over the table: through a 2 MiB cache
    every such page was written out (spilled into the WAL) and read back again and again,
    about 6.7 million reads and 6.9 million writes for a million rows (docs/benchmarks.md).
    Only the writer connection (one a process), only while the import runs; PostgreSQL:
    nothing changes."""
    if not db.is_sqlite:
        yield
        return
    with db.writer.connect() as connection:
        before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        connection.exec_driver_sql(f"PRAGMA cache_size = -{int(IMPORT_CACHE_KIB)}")
    try:
        yield
    finally:
        with db.writer.connect() as connection:
            connection.exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")


class PlannerStatistics:
    """Let PostgreSQL re-read the size of a table an import is filling, as the exchange feeds
    do (`lists.feed_store.refresh_planner_statistics`). A first import grows the items table
    from nothing far faster than autovacuum re-analyses it; planned from the stale figures,
    each batch's key check scanned the whole table (0.1 s for the second batch of 50,000,
    1.4 s for the fifth, until autovacuum caught up). SQLite needs nothing: its planner takes
    the key index for `key IN (...)` whatever the table's size."""

    def __init__(self, db: Database, table: str) -> None:
        self._db = db
        self._table = table  # a table name from our code, never from input
        self._added = 0
        self._next = ANALYSE_FIRST_AT

    def added(self, rows: int) -> None:
        self._added += rows
        if self._db.is_sqlite or self._added < self._next:
            return
        with self._db.write() as session:
            session.connection().exec_driver_sql(f"ANALYZE {self._table}")
        self._next = 2 * self._added


def select_in(
    session: Session, sql: str, fixed: Sequence[Any], values: Sequence[Any]
) -> Iterator[tuple[Any, ...]]:
    """Rows of `sql`, each of whose `IN ({in})` takes `values`, and whose `{p}` placeholders
    take `fixed` (written after every `{in}`); `IN_CHUNK` values a query.

    SQLite: a list of placeholders. PostgreSQL: the values are copied into a temporary table
    (dropped at commit) that the statement reads, as an array of 2,000 hashes costs more to
    send and parse than the lookup itself."""
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    lists = sql.count("{in}")
    size = PG_IN_CHUNK if postgres else IN_CHUNK
    for start in range(0, len(values), size):
        chunk = list(values[start : start + size])
        if postgres:
            _load_values(session, chunk)
            text = sql.replace("{in}", "SELECT v FROM taskforce_values").replace("{p}", "%s")
            params: tuple[Any, ...] = tuple(fixed)
        else:
            text = sql.replace("{in}", ", ".join(["?"] * len(chunk))).replace("{p}", "?")
            params = (*(chunk * lists), *fixed)
        for row in connection.exec_driver_sql(text, params):
            yield tuple(row)


def _load_values(session: Session, values: list[Any]) -> None:
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute("CREATE TEMP TABLE IF NOT EXISTS taskforce_values (v text) ON COMMIT DROP")
    cursor.execute("DELETE FROM taskforce_values")
    with cursor.copy("COPY taskforce_values (v) FROM STDIN") as copy:
        for value in values:
            copy.write_row((value,))


def insert_many(
    session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert `rows` (tuples in `columns` order, values already as the driver takes them):
    an executemany on SQLite, COPY on PostgreSQL (one stream, not a statement a row)."""
    if not rows:
        return
    # Table and column names come from the ORM's table, never from input; values are bound.
    names = ", ".join(columns)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join(["?"] * len(columns))
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)  # noqa: S608


def bind_value(session: Session, column: Column[Any], value: Any) -> Any:
    """`value` as the driver takes it for `column` (a UTC datetime on SQLite: its text)."""
    dialect = session.get_bind().dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process else value

"""The import's bulk settings: SQLite's page cache raised for the import's writer connection
only while it runs, and set back after (also when the import fails); PostgreSQL's join
settings for the clusters' update set back after that one statement."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from hotline.db.engine import Database
from hotline.taskforce import bulk_sql, clustering
from tests.taskforce.conftest import run_import


def _cache_size(db: Database) -> int:
    with db.write() as session:
        return int(session.connection().exec_driver_sql("PRAGMA cache_size").scalar() or 0)


def test_sqlite_page_cache_is_raised_during_an_import_only(db: Database, tmp_path: Path) -> None:
    if not db.is_sqlite:
        pytest.skip("a SQLite setting")
    before = _cache_size(db)
    path = tmp_path / "hashes.csv"
    path.write_text("id,md5\n" + "".join(f"r{n},{n:032x}\n" for n in range(5)))
    during: list[int] = []
    run_import(
        db, "cache", [path], None, batch_rows=2, after_batch=lambda: during.append(_cache_size(db))
    )
    assert during and set(during) == {-bulk_sql.IMPORT_CACHE_KIB}
    assert _cache_size(db) == before != -bulk_sql.IMPORT_CACHE_KIB


def test_sqlite_page_cache_is_set_back_when_an_import_fails(db: Database, tmp_path: Path) -> None:
    if not db.is_sqlite:
        pytest.skip("a SQLite setting")
    before = _cache_size(db)
    path = tmp_path / "hashes.csv"
    path.write_text("id,md5\n" + "".join(f"r{n},{n:032x}\n" for n in range(5)))

    def stop() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_import(db, "killed", [path], None, batch_rows=2, after_batch=stop)
    assert _cache_size(db) == before


def test_postgres_planner_settings_of_the_cluster_update_stay_with_it(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("a PostgreSQL setting")
    with db.write() as session:
        clustering._assign(session, [])
        shown = [
            session.execute(text(f"SHOW {name}")).scalar()
            for name in ("enable_hashjoin", "enable_mergejoin")
        ]
    assert shown == ["on", "on"]

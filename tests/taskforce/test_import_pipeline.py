"""The import's pipelined writes: batches written in order by one writer thread while the next
is read (a failed write stops the import with the batches before it kept, and a re-run
resumes); PostgreSQL re-reads the items table's size as an import fills it; the clusters
written by two transactions at once on PostgreSQL, every batch tried even when one fails."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from hotline.db.engine import Database
from hotline.taskforce import bulk_sql, clustering, store
from hotline.taskforce.tables import CaseItemRow
from tests.taskforce.conftest import run_import


def _manifest(path: Path, rows: int) -> Path:
    path.write_text("id,md5\n" + "".join(f"r{n},{n:032x}\n" for n in range(rows)))
    return path


def _items(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(CaseItemRow)) or 0)


def test_a_failed_write_stops_the_import_keeping_the_batches_before_it(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _manifest(tmp_path / "h.csv", 10)
    real = store.write_batch
    calls = {"n": 0}

    def fails_third(*args: Any, **kwargs: Any) -> store.Counts:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "write_batch", fails_third)
    with pytest.raises(RuntimeError, match="went away"):
        run_import(db, "half", [path], None, batch_rows=2)
    assert calls["n"] == 3  # the writer did not run ahead of the failure
    assert _items(db) == 4
    monkeypatch.setattr(store, "write_batch", real)
    report = run_import(db, "half", [path], None, batch_rows=2)
    assert report.sources[0].outcome == "resumed"
    assert _items(db) == 10


def test_writes_run_on_the_writer_thread_and_known_material_is_looked_up_ahead(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _manifest(tmp_path / "h.csv", 6)
    threads: list[str] = []
    ahead: list[object] = []
    real = store.write_batch

    def spy(*args: Any, **kwargs: Any) -> store.Counts:
        threads.append(threading.current_thread().name)
        ahead.append(kwargs.get("known_ahead"))
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "write_batch", spy)
    run_import(db, "ahead", [path], None, batch_rows=2)
    assert len(threads) == 3
    assert all(name.startswith("taskforce-write") for name in threads)
    assert all(isinstance(known, store.KnownAhead) for known in ahead)


def test_postgresql_rereads_the_items_table_size_as_an_import_grows_it(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planned from the empty table's figures, each batch's key check scanned every item."""
    monkeypatch.setattr(bulk_sql, "ANALYSE_FIRST_AT", 2)
    ran: list[str] = []
    real = bulk_sql.PlannerStatistics.added

    def spy(self: bulk_sql.PlannerStatistics, rows: int) -> None:
        before = self._next
        real(self, rows)
        if self._next != before:
            ran.append("analyse")

    monkeypatch.setattr(bulk_sql.PlannerStatistics, "added", spy)
    run_import(db, "grows", [_manifest(tmp_path / "h.csv", 8)], None, batch_rows=2)
    if db.is_sqlite:
        assert ran == []  # SQLite's planner needs nothing
        return
    assert ran == ["analyse"] * 3  # after 2, 4 and 8 items: each time the additions double
    with db.read() as session:
        count = session.execute(
            text(
                "SELECT analyze_count FROM pg_stat_user_tables"
                " WHERE schemaname = current_schema() AND relname = 'taskforce_items'"
            )
        ).scalar()
    assert count == 3


def test_every_cluster_batch_is_tried_and_the_first_error_raised() -> None:
    tried: list[int] = []
    lock = threading.Lock()

    def write(chunk: int) -> int:
        with lock:
            tried.append(chunk)
        if chunk == 2:
            raise ValueError("batch 2 failed")
        return chunk * 10

    with pytest.raises(ValueError, match="batch 2"):
        clustering._each(write, [1, 2, 3, 4], writers=2)
    assert sorted(tried) == [1, 2, 3, 4]
    assert clustering._each(write, [1, 3], writers=2) == [10, 30]
    assert clustering._each(write, [3, 1], writers=1) == [30, 10]


def test_postgresql_writes_cluster_batches_from_two_threads(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "h.csv"
    path.write_text(
        "id,md5,pdq,pdq_quality\n"
        + "".join(f"r{n},{n:032x},{(n * 0x9E3779B97F4A7C15) % 2**256:064x},90\n" for n in range(12))
    )
    run_import(db, "pairs", [path], None, batch_rows=100, cluster_radius=0)
    threads: list[str] = []
    real = clustering._write_new

    def spy(*args: Any, **kwargs: Any) -> int:
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(clustering, "_write_new", spy)
    with db.write() as session:  # the clusters again, a few items a batch
        session.execute(text("DELETE FROM taskforce_clusters"))
        session.execute(text("UPDATE taskforce_items SET cluster_id = NULL"))
    case_set = _case_set_id(db)
    report = clustering.cluster_new(db, case_set, radius=0, batch=3)
    assert report.clusters == 12 and len(threads) == 4
    with db.read() as session:
        assigned = session.scalar(
            select(func.count()).select_from(CaseItemRow).where(CaseItemRow.cluster_id.is_not(None))
        )
    assert assigned == 12
    if db.is_sqlite:
        assert set(threads) == {threading.current_thread().name}  # one writer
    else:
        assert all(name.startswith("cluster-write") for name in threads)


def _case_set_id(db: Database) -> int:
    with db.read() as session:
        return int(session.execute(text("SELECT id FROM taskforce_case_sets")).scalar_one())

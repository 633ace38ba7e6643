"""A hashing task that fails as a whole (its worker died, or it raised past `hash_chunk`'s own
catch) costs only the file that made it fail: the chunk is tried again one file a task, on a
real LocalCluster, and the set goes on."""

from __future__ import annotations

import os
from pathlib import Path

import dask
from distributed import Client

from hotline.db.engine import Database
from hotline.taskforce import cluster, importer, store
from hotline.taskforce.cluster import Failed, Hashed, hash_chunk
from tests.taskforce.conftest import drawn, run_import

CRASH = b"CRASH"  # the test task's trigger: not media, and never reaches the decoder


def crashing_task(chunk: list[tuple[int, bytes]]) -> list[Hashed | Failed]:
    """`hash_chunk`, except that a chunk holding a CRASH file raises, as a decoder crash
    outside its catch would."""
    if any(data.startswith(CRASH) for _index, data in chunk):
        raise RuntimeError("decoder crashed")
    return hash_chunk(chunk)


def _folder(root: Path) -> Path:
    root.mkdir()
    for seed in range(4):
        (root / f"a{seed}.png").write_bytes(drawn(seed))
    (root / "b-crash.png").write_bytes(CRASH + b" benign bytes")
    for seed in range(4, 7):
        (root / f"c{seed}.png").write_bytes(drawn(seed))
    return root  # 8 files, the fifth makes its task fail


def test_a_failed_chunk_is_retried_one_file_at_a_time(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    folder = _folder(tmp_path / "set")
    # Chunks of three: the crash file's chunk holds two good files as well.
    report = run_import(
        db, "crashes", [folder], dask_client, chunk_files=3, hash_task=crashing_task
    )
    assert [s.outcome for s in report.sources] == ["imported"]
    assert (report.case_set.files, report.case_set.items, report.case_set.failed) == (8, 7, 1)
    with db.read() as session:
        row = store.find(session, "crashes")
        assert row is not None
        items = store.items_of(session, row.id)
    hashed = sorted(r.member for r in items if r.status == "hashed")
    assert hashed == [f"a{s}.png" for s in range(4)] + [f"c{s}.png" for s in range(4, 7)]
    (failed,) = [r for r in items if r.status == "failed"]
    assert failed.member == "b-crash.png"
    assert failed.reason == f"{importer.WORKER_FAILED}: RuntimeError: decoder crashed"
    # The cursor moved past it: a re-run is a no-op, never the same file again.
    again = run_import(db, "crashes", [folder], dask_client, hash_task=crashing_task)
    assert [s.outcome for s in again.sources] == ["already imported"]


def dying_task(chunk: list[tuple[int, bytes]]) -> list[Hashed | Failed]:
    """`hash_chunk`, except that a chunk holding a CRASH file kills its worker process, as a
    segfault in a decoder would."""
    if any(data.startswith(CRASH) for _index, data in chunk):
        os._exit(70)
    return hash_chunk(chunk)


def test_a_worker_that_dies_costs_only_its_file(db: Database, tmp_path: Path) -> None:
    folder = _folder(tmp_path / "set")
    # Worker processes (a death is a process's), and no retry of a task that killed one.
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        cluster.connect(workers=1, processes=True) as client,
    ):
        report = run_import(db, "dies", [folder], client, chunk_files=3, hash_task=dying_task)
    assert (report.case_set.files, report.case_set.items, report.case_set.failed) == (8, 7, 1)
    with db.read() as session:
        row = store.find(session, "dies")
        assert row is not None
        (failed,) = [r for r in store.items_of(session, row.id) if r.status == "failed"]
    assert failed.member == "b-crash.png"
    assert failed.reason is not None
    assert failed.reason.startswith(f"{importer.WORKER_FAILED}: KilledWorker")

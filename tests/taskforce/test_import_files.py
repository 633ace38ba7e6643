"""Folders and archives imported on a real Dask cluster: duplicates collapse, bad files are
recorded and never stop the set, re-runs are no-ops, a killed import resumes exactly."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from distributed import Client
from sqlalchemy import select

from hotline.db.engine import Database
from hotline.grading.media_store import MediaStore
from hotline.grading.tables import MediaItemRow
from hotline.hashing.media import hash_bytes
from hotline.taskforce import importer, store
from hotline.taskforce.tables import CaseItemRow, CaseSourceRow
from tests.taskforce.conftest import drawn, family_folder, run_import


def _items(db: Database, name: str) -> list[CaseItemRow]:
    with db.read() as session:
        row = store.find(session, name)
        assert row is not None
        return store.items_of(session, row.id)


def _summary(rows: list[CaseItemRow]) -> list[tuple[str, str, int, str | None]]:
    return sorted((r.key, r.status, r.copies, r.pdq) for r in rows)


def test_folder_import_hashes_collapses_duplicates_and_records_failures(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    folder = family_folder(tmp_path / "set")
    report = run_import(db, "op-example", [folder], dask_client)
    assert [s.outcome for s in report.sources] == ["imported"]
    case = report.case_set
    assert (case.files, case.items, case.duplicates, case.failed) == (14, 12, 1, 1)
    rows = _items(db, "op-example")
    a0 = hashlib.sha256(drawn(0)).hexdigest()
    dup = next(r for r in rows if r.key == a0)
    assert dup.copies == 2 and dup.sha256 == a0 and dup.status == "hashed" and dup.pdq
    failed = [r for r in rows if r.status == "failed"]
    assert [(r.member, r.reason.split(":")[0]) for r in failed] == [
        ("notes.txt", "unsupported_media")
    ]
    with db.read() as session:
        source = session.execute(select(CaseSourceRow)).scalar_one()
    assert (source.kind, source.state, source.members, source.done) == ("folder", "done", 14, 14)
    assert source.imported_by == "cli:tester" and len(source.sha256) == 64


def test_hashes_on_workers_equal_the_library(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    folder = tmp_path / "one"
    folder.mkdir()
    data = drawn(5, fmt="JPEG")
    (folder / "x.jpg").write_bytes(data)
    run_import(db, "same", [folder], dask_client)
    (row,) = _items(db, "same")
    expected = hash_bytes(data)
    assert (row.md5, row.sha1, row.sha256) == (
        expected.digests.md5,
        expected.digests.sha1,
        expected.digests.sha256,
    )
    assert expected.pdq is not None and row.pdq == expected.pdq.hex


def _zip_of(folder: Path, path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(folder).as_posix())
    return path


def _tar_of(folder: Path, path: Path) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.add(file, file.relative_to(folder).as_posix())
    return path


def test_zip_and_tar_gz_give_the_folders_items(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    folder = family_folder(tmp_path / "set")
    run_import(db, "folder", [folder], dask_client)
    run_import(db, "zip", [_zip_of(folder, tmp_path / "set.zip")], dask_client)
    run_import(db, "tar", [_tar_of(folder, tmp_path / "set.tar.gz")], dask_client)
    expected = _summary(_items(db, "folder"))
    hashed = [r for r in expected if r[1] != "failed"]
    for name in ("zip", "tar"):
        got = _summary(_items(db, name))
        assert [r for r in got if r[1] != "failed"] == hashed
        assert sum(1 for r in got if r[1] == "failed") == 1
    with db.read() as session:
        sources = session.execute(select(CaseSourceRow).order_by(CaseSourceRow.id)).scalars()
        digests = {s.kind: s.sha256 for s in sources}
    assert digests["zip"] == hashlib.sha256((tmp_path / "set.zip").read_bytes()).hexdigest()


def test_the_same_set_imported_twice_is_a_no_op(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    folder = family_folder(tmp_path / "set")
    archive = _zip_of(folder, tmp_path / "set.zip")
    run_import(db, "twice", [archive], dask_client)
    before = _summary(_items(db, "twice"))
    again = run_import(db, "twice", [archive], dask_client)
    assert again.nothing_new
    assert [s.outcome for s in again.sources] == ["already imported"]
    assert _summary(_items(db, "twice")) == before
    assert again.case_set.files == 14

    def no_cluster() -> Client:
        raise AssertionError("a no-op re-run starts no cluster")

    lazy = run_import(db, "twice", [archive], importer.LazyClient(no_cluster))
    assert lazy.nothing_new


class Killed(Exception):
    pass


def test_a_killed_import_resumes_where_it_stopped_and_adds_nothing_twice(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    folder = family_folder(tmp_path / "set")
    archive = _tar_of(folder, tmp_path / "set.tar.gz")
    run_import(db, "clean", [archive], dask_client, chunk_files=3)
    batches = 0

    def stop_after_two() -> None:
        nonlocal batches
        batches += 1
        if batches == 2:
            raise Killed

    with pytest.raises(Killed):
        run_import(db, "killed", [archive], dask_client, chunk_files=3, after_batch=stop_after_two)
    with db.read() as session:
        source = session.execute(
            select(CaseSourceRow).where(CaseSourceRow.state == "importing")
        ).scalar_one()
    assert source.done == 6  # two batches of three members committed, the cursor with them
    assert len(_items(db, "killed")) < 12
    resumed = run_import(db, "killed", [archive], dask_client, chunk_files=3)
    assert [s.outcome for s in resumed.sources] == ["resumed"]
    assert resumed.sources[0].counts.files == 8
    clean, killed = _items(db, "clean"), _items(db, "killed")

    def rows(items: list[CaseItemRow]) -> list[tuple[object, ...]]:
        return [(r.member, r.sha256, r.pdq, r.copies, r.status, r.reason) for r in items]

    assert rows(killed) == rows(clean)  # same rows, same order: nothing twice, nothing lost
    assert resumed.case_set.files == 14 and resumed.case_set.duplicates == 1


def test_media_is_sealed_at_rest_unless_hash_only(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    folder = tmp_path / "two"
    folder.mkdir()
    (folder / "a.png").write_bytes(drawn(1))
    (folder / "b.png").write_bytes(drawn(2))
    media = MediaStore(tmp_path / "media", b"k" * 32)
    run_import(db, "kept", [folder], dask_client, hash_only=False, media=media)
    rows = _items(db, "kept")
    assert all(r.stored for r in rows)
    assert media.get(rows[0].id) in (drawn(1), drawn(2))
    assert drawn(1) not in (tmp_path / "media").rglob("*.sealed").__next__().read_bytes()
    run_import(db, "not-kept", [folder], dask_client, hash_only=True, media=media)
    assert not any(r.stored for r in _items(db, "not-kept"))


def test_non_media_files_fail_without_stopping_the_set(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a.png").write_bytes(drawn(1))
    (folder / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)  # a broken PNG
    (folder / "c.bin").write_bytes(io.BytesIO(b"\x00\x01\x02").read())
    (folder / "d.png").write_bytes(drawn(2))
    report = run_import(db, "mixed", [folder], dask_client)
    assert (report.case_set.items, report.case_set.failed) == (2, 2)
    reasons = {r.member: r.reason for r in _items(db, "mixed") if r.status == "failed"}
    assert set(reasons) == {"b.png", "c.bin"} and all(reasons.values())


def test_a_near_duplicate_of_graded_media_is_known_and_never_kept(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    graded = hash_bytes(drawn(0))
    assert graded.pdq is not None
    now = datetime.now(UTC)
    with db.write() as session:
        row = MediaItemRow(
            url_id=None,
            source_url="https://example.org/a.png",
            kind="image",
            md5=graded.digests.md5,
            sha1=graded.digests.sha1,
            sha256=graded.digests.sha256,
            pdq=graded.pdq.hex,
            pdq_quality=graded.pdq.quality,
            byte_count=10,
            status="agreed",
            stored=False,
            purge_after=None,
            inherited_from=None,
            final_grade=json.dumps({"category": "B"}),
            qa_sampled=False,
            decided_at=now,
            created_at=now,
        )
        session.add(row)
        session.flush()
        media_id = row.id
    folder = tmp_path / "near"
    folder.mkdir()
    (folder / "smaller.png").write_bytes(drawn(0, size=(80, 60)))  # other bytes, same picture
    (folder / "other.png").write_bytes(drawn(2))
    media = MediaStore(tmp_path / "media", b"k" * 32)
    report = run_import(db, "near", [folder], dask_client, hash_only=False, media=media)
    assert report.case_set.known == 1
    rows = {r.member: r for r in _items(db, "near")}
    known = rows["smaller.png"]
    assert known.status == "known"
    assert (known.known_from, known.known_category, known.stored) == (
        f"media:{media_id}",
        "B",
        False,
    )
    assert rows["other.png"].status == "hashed" and rows["other.png"].stored


def test_a_folder_file_changed_in_place_at_the_same_size_is_a_new_source(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    folder = tmp_path / "changing"
    folder.mkdir()
    (folder / "a.png").write_bytes(drawn(1))
    notes = folder / "notes.txt"
    notes.write_bytes(b"first")
    os.utime(notes, ns=(1_000_000_000, 1_000_000_000))
    first = run_import(db, "changing", [folder], dask_client)
    assert [s.outcome for s in first.sources] == ["imported"]
    notes.write_bytes(b"other")  # the same size, other bytes
    os.utime(notes, ns=(2_000_000_000, 2_000_000_000))
    again = run_import(db, "changing", [folder], dask_client)
    assert [s.outcome for s in again.sources] == ["imported"]
    with db.read() as session:
        shas = session.execute(select(CaseSourceRow.sha256)).scalars().all()
    assert len(set(shas)) == 2
    (item,) = [r for r in _items(db, "changing") if r.status == "hashed"]
    assert item.copies == 2  # the unchanged image, seen in both sources

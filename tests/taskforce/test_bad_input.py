"""Bad sources: each refused or recorded with a clear reason, nothing half-written."""

from __future__ import annotations

import dataclasses
import io
import random
import tarfile
import zipfile
from contextlib import nullcontext
from pathlib import Path

import pytest
from distributed import Client
from sqlalchemy import func, select

from hotline.db.engine import Database
from hotline.errors import Conflict, InvalidInput
from hotline.taskforce import store
from hotline.taskforce.model import SourceKind
from hotline.taskforce.tables import CaseItemRow, CaseSourceRow
from tests.taskforce.conftest import LIMITS, drawn, run_import


def _item_count(db: Database) -> int:
    with db.read() as session:
        return session.execute(select(func.count()).select_from(CaseItemRow)).scalar_one()


def _source(db: Database) -> CaseSourceRow:
    with db.read() as session:
        return session.execute(select(CaseSourceRow)).scalar_one()


def _refused(db: Database, dask_client: Client, path: Path, **limits: int) -> str:
    report = run_import(
        db, "bad", [path], dask_client, limits=dataclasses.replace(LIMITS, **limits)
    )
    (source,) = report.sources
    assert source.outcome == "refused", source
    row = _source(db)
    assert row.state == "refused" and row.reason == source.reason and row.done == 0
    assert _item_count(db) == 0  # nothing of it written
    assert source.reason
    return source.reason


def _tar(path: Path, entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w") as archive:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def test_a_corrupt_zip_is_refused(db: Database, dask_client: Client, tmp_path: Path) -> None:
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    assert "not a readable zip archive" in _refused(db, dask_client, path)


def test_a_zip_with_a_damaged_member_is_refused_whole(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "damaged.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.png", drawn(1))
        archive.writestr("b.png", drawn(2))
    data = bytearray(path.read_bytes())
    at = data.find(drawn(2)[100:120])
    data[at : at + 8] = b"XXXXXXXX"  # the CRC no longer matches
    path.write_bytes(bytes(data))
    assert "corrupt zip archive" in _refused(db, dask_client, path)


def test_a_truncated_tar_gz_is_refused(db: Database, dask_client: Client, tmp_path: Path) -> None:
    path = tmp_path / "cut.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for seed in range(4):
            info = tarfile.TarInfo(f"img{seed}.png")
            data = drawn(seed)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert "corrupt tar archive" in _refused(db, dask_client, path)


def test_an_empty_set_is_refused(db: Database, dask_client: Client, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _refused(db, dask_client, empty) == "the source holds no files"


def test_a_zip_bomb_is_refused_by_its_ratio(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.png", b"\0" * 2_000_000)
    assert "compression ratio above 100" in _refused(db, dask_client, path)


def test_a_tar_gz_bomb_is_refused_by_the_archive_ratio(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "bomb.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("zeros.png")
        info.size = 2_000_000
        archive.addfile(info, io.BytesIO(b"\0" * info.size))
    assert "compression ratio above 100" in _refused(db, dask_client, path)


def test_one_zip_member_over_the_ratio_refuses_the_archive(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "hidden.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("noise.bin", random.Random(1).randbytes(400_000))  # ratio about 1
        archive.writestr("zeros.png", b"\0" * 300_000)  # ratio about 1000
    # The archive as a whole unpacks to under twice its size: only the member's ratio bites.
    assert "zeros.png: a compression ratio above 100" in _refused(db, dask_client, path)


def test_caps_on_file_count_and_total_size(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    path = _tar(
        tmp_path / "many.tar",
        [(tarfile.TarInfo(f"f{i}.png"), drawn(i)) for i in range(5)],
    )
    assert "more than 4 files" in _refused(db, dask_client, path, max_members=4)
    with db.write() as session:  # a second case set for the second cap
        session.execute(CaseSourceRow.__table__.delete())
    assert "unpacks to more than 2,000 bytes" in _refused(
        db, dask_client, path, max_total_bytes=2000, max_ratio=1000
    )


def test_links_escaping_paths_and_devices_are_recorded_per_file(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    link = tarfile.TarInfo("link.png")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = tarfile.TarInfo("hard.png")
    hard.type, hard.linkname = tarfile.LNKTYPE, "ok.png"
    device = tarfile.TarInfo("dev")
    device.type = tarfile.CHRTYPE
    path = _tar(
        tmp_path / "tricks.tar",
        [
            (tarfile.TarInfo("ok.png"), drawn(1)),
            (tarfile.TarInfo("../escape.png"), drawn(2)),
            (tarfile.TarInfo("/abs/olute.png"), drawn(3)),
            (link, None),
            (hard, None),
            (device, None),
        ],
    )
    report = run_import(db, "tricks", [path], dask_client)
    assert report.sources[0].outcome == "imported"
    with db.read() as session:
        case = store.find(session, "tricks")
        assert case is not None
        rows = store.items_of(session, case.id)
    reasons = {r.member: r.reason for r in rows if r.status == "failed"}
    assert reasons == {
        "../escape.png": "a path escaping the archive ('..')",
        "/abs/olute.png": "an absolute path inside the archive",
        "link.png": "a link; links are not followed",
        "hard.png": "a link; links are not followed",
        "dev": "not a regular file (a device, socket or pipe)",
    }
    assert [r.member for r in rows if r.status == "hashed"] == ["ok.png"]


def test_zip_links_and_escapes_are_recorded(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "tricks.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ok.png", drawn(1))
        archive.writestr("../../up.png", drawn(2))
        link = zipfile.ZipInfo("link.png")
        link.external_attr = 0o120777 << 16  # a symlink's mode
        archive.writestr(link, "/etc/passwd")
    run_import(db, "ziptricks", [path], dask_client)
    with db.read() as session:
        case = store.find(session, "ziptricks")
        assert case is not None
        reasons = {r.member: r.reason for r in store.items_of(session, case.id) if r.reason}
    assert reasons == {
        "../../up.png": "a path escaping the archive ('..')",
        "link.png": "a link; links are not followed",
    }


def test_absolute_zip_member_names_are_recorded_and_nothing_is_written_outside(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    target = tmp_path / "outside" / "x.png"  # where a naive extraction would write
    (tmp_path / "in").mkdir()
    path = tmp_path / "in" / "absolute.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ok.png", drawn(1))
        archive.writestr(zipfile.ZipInfo("/etc/x.png"), drawn(2))
        archive.writestr(zipfile.ZipInfo(str(target)), drawn(3))
        archive.writestr(zipfile.ZipInfo("C:/x.png"), drawn(4))
    assert {i.filename for i in zipfile.ZipFile(path).infolist()} >= {"/etc/x.png", str(target)}
    report = run_import(db, "absolute", [path], dask_client)
    assert report.sources[0].outcome == "imported"
    with db.read() as session:
        case = store.find(session, "absolute")
        assert case is not None
        rows = store.items_of(session, case.id)
    absolute = "an absolute path inside the archive"
    assert {r.member: r.reason for r in rows if r.status == "failed"} == {
        "/etc/x.png": absolute,
        str(target): absolute,
        "C:/x.png": absolute,
    }
    assert [r.member for r in rows if r.status == "hashed"] == ["ok.png"]
    assert not target.parent.exists() and list((tmp_path / "in").iterdir()) == [path]
    assert not any(r.stored for r in rows)  # hash-only: no bytes kept anywhere


def test_a_folder_symlink_is_not_followed(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a.png").write_bytes(drawn(1))
    outside = tmp_path / "outside.png"
    outside.write_bytes(drawn(2))
    (folder / "b.png").symlink_to(outside)
    report = run_import(db, "links", [folder], dask_client)
    assert (report.case_set.items, report.case_set.failed) == (1, 1)


def test_files_over_the_size_cap_fail(db: Database, dask_client: Client, tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "big.png").write_bytes(drawn(1, size=(800, 600)))
    (folder / "small.png").write_bytes(drawn(2, size=(16, 12)))
    limits = dataclasses.replace(LIMITS, max_member_bytes=2000)
    report = run_import(db, "caps", [folder], dask_client, limits=limits)
    assert (report.case_set.items, report.case_set.failed) == (1, 1)


def test_missing_or_unknown_sources_are_refused_before_anything_is_written(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    odd = tmp_path / "list.docx"
    odd.write_bytes(b"x")
    with pytest.raises(InvalidInput) as caught:
        run_import(db, "none", [tmp_path / "missing", odd], dask_client)
    assert len(caught.value.fields) == 2
    with db.read() as session:
        assert store.find(session, "none") is None


def test_a_bad_case_set_name_is_refused(db: Database, dask_client: Client, tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a.png").write_bytes(drawn(1))
    with pytest.raises(InvalidInput):
        run_import(db, "  ", [folder], dask_client)


def test_a_source_added_twice_at_once_is_a_conflict_not_a_crash(db: Database) -> None:
    with db.write() as session:
        case = store.create(session, "race", hash_only=True, by="a")
    for by in ("a", "b"):
        with db.write() as session, pytest.raises(Conflict) if by == "b" else nullcontext():
            store.add_source(
                session,
                case.id,
                kind=SourceKind.csv,
                name="h.csv",
                sha256="a" * 64,
                byte_count=1,
                members=1,
                by=by,
            )

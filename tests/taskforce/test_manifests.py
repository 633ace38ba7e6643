"""Hash manifests (CSV, VICS JSON): streamed, checked whole before anything is written,
duplicate rows collapsed, known hashes marked known."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hotline.db.engine import Database
from hotline.grading.tables import MediaItemRow
from hotline.lists.formats import VICS_ODATA
from hotline.matching.tables import HashListEntryRow, HashListRow
from hotline.taskforce import manifests, store
from hotline.taskforce.tables import CaseItemRow, CaseSourceRow
from tests.taskforce.conftest import run_import

MD5 = "0" * 31 + "1"
SHA1 = "a" * 40
SHA256 = "b" * 64
PDQ = "c" * 64


def _rows(db: Database, name: str) -> list[CaseItemRow]:
    with db.read() as session:
        case = store.find(session, name)
        assert case is not None
        return store.items_of(session, case.id)


def _csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_manifest_is_imported_with_duplicates_collapsed(db: Database, tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "hashes.csv",
        [
            "id,MD5,sha1,sha256,pdq,pdq_quality",
            f"r1,{MD5},{SHA1},{SHA256},{PDQ},90",
            f"r2,{MD5.upper()},{SHA1},{SHA256},,",  # the same file again
            f"r3,{'d' * 32},,,,",
            f"r4,,,,{'e' * 64},40",
        ],
    )
    report = run_import(db, "manifest", [path], None, batch_rows=2)
    case = report.case_set
    assert (case.files, case.items, case.duplicates, case.failed) == (4, 3, 1, 0)
    rows = _rows(db, "manifest")
    assert [(r.key, r.copies, r.kind, r.member) for r in rows] == [
        (SHA256, 2, "hash", "r1"),
        (f"md5:{'d' * 32}", 1, "hash", "r3"),
        (f"pdq:{'e' * 64}", 1, "hash", "r4"),
    ]
    assert rows[0].pdq == PDQ and rows[0].pdq_quality == 90


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (f"r2,{'g' * 32},,,,", "md5 must be hexadecimal"),
        (f"r2,{'a' * 31},,,,", "md5 must be 32 hex digits, not 31 characters"),
        (f"r2,,{'a' * 41},,,", "sha1 must be 40 hex digits"),
        (f"r2,,,{'a' * 63},,", "sha256 must be 64 hex digits"),
        ("r2,,,,,", "no hash"),
        (f"r2,,,,{PDQ},101", "pdq_quality must be a whole number from 0 to 100"),
        (f"r2,{MD5}", "2 fields; the header has 6"),
    ],
)
def test_a_bad_row_refuses_the_manifest_and_writes_nothing(
    db: Database, tmp_path: Path, line: str, problem: str
) -> None:
    path = _csv(
        tmp_path / "bad.csv",
        ["id,md5,sha1,sha256,pdq,pdq_quality", f"r1,{MD5},,,,", line, f"r3,{'f' * 32},,,,"],
    )
    report = run_import(db, "bad", [path], None)
    (source,) = report.sources
    assert source.outcome == "refused"
    assert source.reason is not None and "line 3: " + problem in source.reason
    with db.read() as session:
        assert session.execute(select(func.count()).select_from(CaseItemRow)).scalar_one() == 0
        row = session.execute(select(CaseSourceRow)).scalar_one()
    assert (row.state, row.reason) == ("refused", source.reason)


def test_unknown_columns_and_empty_manifests_are_refused(db: Database, tmp_path: Path) -> None:
    misspelt = _csv(tmp_path / "a.csv", ["id,md55", f"r1,{MD5}"])
    empty = _csv(tmp_path / "b.csv", ["md5"])
    report = run_import(db, "cols", [misspelt, empty], None)
    reasons = [s.reason for s in report.sources]
    assert reasons[0] is not None and "unknown or repeated columns md55" in reasons[0]
    assert reasons[1] == "the manifest holds no rows"


def _vics(records: list[dict[str, object]]) -> bytes:
    return json.dumps({"odata.metadata": VICS_ODATA, "value": records}).encode()


def test_vics_manifest_is_streamed_record_by_record(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(manifests, "_READ", 7)  # records cut across many reads
    records: list[dict[str, object]] = [
        {
            "MediaID": i,
            "Category": 1,
            "MD5": f"{i:032x}",
            "SHA1": f"{i:040x}",
            "AlternativeHashes": [
                {"HashName": "SHA256", "HashValue": f"{i:064x}"},
                {"HashName": "PDQ", "HashValue": f"{i + 7:064x}"},
            ],
        }
        for i in range(1, 6)
    ]
    records.append(dict(records[0], MediaID=99))  # an exact duplicate of record 1
    path = tmp_path / "case.json"
    path.write_bytes(_vics(records))
    report = run_import(db, "vics", [path], None, batch_rows=2)
    assert (report.case_set.items, report.case_set.duplicates) == (5, 1)
    rows = _rows(db, "vics")
    assert rows[0].key == f"{1:064x}" and rows[0].copies == 2 and rows[0].member == "MediaID=1"
    assert rows[0].pdq == f"{8:064x}" and rows[0].md5 == f"{1:032x}"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (_vics([{"MD5": MD5}])[:-2], "the array is not closed"),
        (_vics([{"MD5": MD5}])[:-10], "not valid JSON: Unterminated string"),
        (
            b'{"value": [{"MD5": "' + MD5.encode() + b'"}, {"MD5": 12}]}',
            "record 2: md5 must be text",
        ),
        (b'{"other": []}', 'a VICS file is an object with a "value" array'),
        (b'[{"MD5": "xyz"}]', "record 1: md5 must be 32 hex digits"),
        (b'[{"MD5": "' + MD5.encode() + b'"} {]', "not valid JSON"),
    ],
)
def test_bad_vics_files_are_refused(
    db: Database, tmp_path: Path, data: bytes, problem: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(data)
    (source,) = run_import(db, "badvics", [path], None).sources
    assert source.outcome == "refused" and source.reason is not None
    assert problem in source.reason


def test_a_manifest_imported_twice_is_a_no_op(db: Database, tmp_path: Path) -> None:
    path = _csv(tmp_path / "h.csv", ["md5", MD5, "f" * 32])
    run_import(db, "again", [path], None)
    report = run_import(db, "again", [path], None)
    assert report.nothing_new and report.case_set.files == 2 and report.case_set.items == 2


def test_a_killed_manifest_import_resumes(db: Database, tmp_path: Path) -> None:
    path = _csv(tmp_path / "h.csv", ["md5", *(f"{i:032x}" for i in range(10)), f"{3:032x}"])
    calls = 0

    def stop() -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_import(db, "resume", [path], None, batch_rows=3, after_batch=stop)
    assert len(_rows(db, "resume")) == 6
    report = run_import(db, "resume", [path], None, batch_rows=3)
    assert report.sources[0].outcome == "resumed"
    rows = _rows(db, "resume")
    assert [r.key for r in rows] == [f"md5:{i:032x}" for i in range(10)]
    assert rows[3].copies == 2
    assert (report.case_set.files, report.case_set.items, report.case_set.duplicates) == (11, 10, 1)


def _graded_media(db: Database, sha256: str) -> int:
    now = datetime.now(UTC)
    with db.write() as session:
        row = MediaItemRow(
            url_id=None, source_url="https://example.org/a.png", kind="image", md5="1" * 32,
            sha1="2" * 40, sha256=sha256, pdq=None, pdq_quality=None, byte_count=10,
            status="agreed", stored=False, purge_after=None, inherited_from=None,
            final_grade=json.dumps({"category": "A"}), qa_sampled=False, decided_at=now,
            created_at=now,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def _list_entry(db: Database, md5: str) -> int:
    now = datetime.now(UTC)
    with db.write() as session:
        bank = HashListRow(
            name="imported", source="vics:x.json", version=1, created_at=now, updated_at=now
        )
        session.add(bank)
        session.flush()
        entry = HashListEntryRow(
            list_id=bank.id, md5=md5, category="vics-1", added_at=now, changed_in=1, added_in=1
        )
        session.add(entry)
        session.flush()
        return entry.id


def test_known_items_are_marked_from_graded_media_and_imported_lists(
    db: Database, tmp_path: Path
) -> None:
    media_id = _graded_media(db, SHA256)
    entry_id = _list_entry(db, "9" * 32)
    path = _csv(
        tmp_path / "k.csv",
        ["md5,sha256", f",{SHA256}", f"{'9' * 32},", f"{'8' * 32},"],
    )
    report = run_import(db, "known", [path], None)
    assert report.case_set.known == 2
    rows = _rows(db, "known")
    assert [(r.status, r.known_from, r.known_category, r.stored) for r in rows] == [
        ("known", f"media:{media_id}", "A", False),
        ("known", f"list:imported#{entry_id}", "vics-1", False),
        ("hashed", None, None, False),
    ]

"""Case-set export: VICS JSON and CSV with the derived jurisdiction categories, read back by
our own imports (`hotline lists import --format vics`, `hotline taskforce import`), streamed in
batches, and never half-written. Hashes are made up; media are never involved."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from hotline.db.engine import Database
from hotline.errors import Forbidden, InvalidInput, NotFound
from hotline.grading import service
from hotline.grading.model import parse_grade
from hotline.lists import imports
from hotline.lists.formats import VICS_ODATA
from hotline.matching.model import NewEntry
from hotline.security.permissions import Actor, Role
from hotline.security.tables import AuditRow
from hotline.taskforce import actions, export, store
from hotline.taskforce.tables import CaseItemRow
from tests.known.support import add_media, digests, graded, graders, imported_list
from tests.taskforce.conftest import run_import

OPERATOR = Actor.operator("tester")


def _grade(db: Database, by: list[int], n: int, fields: dict[str, object]) -> int:
    """A media item (made-up hashes from n) that two graders agreed on with these fields."""
    with db.write() as session:
        media_id = add_media(session, n=n)
        for grader in by:
            service.submit_grade(
                session, media_id, grader, parse_grade(fields), required=2, qa_share=0
            )
    return media_id


def _graded_set(db: Database, tmp_path: Path) -> dict[str, str]:
    """Case set "op": one item known from a graded image (B, 11-13), one from an imported
    VICS list (vics-3), one from a StopNCII list (no mapping), two items graded in the set (C
    drawn; not illegal, no child), two not graded yet, one failure. Returns item keys by role."""
    by = graders(db)
    graded(db, by, n=101, category="B")
    imported_list(db, "partner-vics", [NewEntry(category="vics-3", md5=digests(102)[0])])
    imported_list(db, "ncii", [NewEntry(category="stopncii", md5=digests(103)[0])])
    drawn_c = _grade(
        db, by, 201, {"category": "C", "age_band": "7-10", "non_photographic": "drawn"}
    )
    no_child = _grade(db, by, 202, {"category": "not_illegal"})
    rows = {
        "media": digests(101),
        "vics": digests(102),
        "ncii": digests(103),
        "drawn": digests(301),
        "not_illegal": digests(302),
        "open1": digests(303),
        "open2": digests(304),
    }
    manifest = tmp_path / "op.csv"
    lines = ["md5,sha1,sha256,pdq"]
    for role, (md5, sha1, sha256) in rows.items():
        if role in ("media", "vics", "ncii"):  # known by their MD5 alone
            lines.append(f"{md5},,,")
        else:
            lines.append(f"{md5},{sha1},{sha256},{'ab' * 32 if role == 'drawn' else ''}")
    manifest.write_text("\n".join(lines) + "\n")
    report = run_import(db, "op", [manifest], None)
    assert report.case_set.known == 3
    keys = {
        role: (sha256 if role not in ("media", "vics", "ncii") else f"md5:{md5}")
        for role, (md5, _sha1, sha256) in rows.items()
    }
    with db.write() as session:
        # What grading leaves behind: the item points at the media row that carries its grade.
        for role, media_id in (("drawn", drawn_c), ("not_illegal", no_child)):
            session.execute(
                update(CaseItemRow).where(CaseItemRow.key == keys[role]).values(media_id=media_id)
            )
        source_id = session.execute(select(CaseItemRow.source_id).limit(1)).scalar_one()
        store.write_batch(
            session,
            report.case_set.id,
            source_id,
            items=[],
            failures=[store.NewFailure(99, "broken.png", "not an image")],
            done=len(rows),
            media=None,
        )
    return keys


def _export(db: Database, path: Path, fmt: str, name: str = "op") -> export.ExportResult:
    return actions.export_case_set(db, OPERATOR, name, fmt, path)


def test_vics_export_reads_back_through_the_lists_import(db: Database, tmp_path: Path) -> None:
    _graded_set(db, tmp_path)
    out = tmp_path / "op.json"
    result = _export(db, out, "vics")
    assert result.written == 4
    assert result.left_out == {export.FAILED: 1, export.UNMAPPED: 1, export.NOT_GRADED: 2}
    media = json.loads(out.read_bytes())["value"]
    by_md5 = {m["MD5"].lower(): m for m in media}
    assert by_md5[digests(101)[0]]["Category"] == 1  # B, a photograph: VICS 1
    assert by_md5[digests(101)[0]]["Tags"] == "UK category B"  # one string, as VICS tools read it
    assert by_md5[digests(102)[0]]["Category"] == 3  # the imported VICS list's own category
    assert by_md5[digests(301)[0]]["Category"] == 3  # C, drawn: VICS 3
    assert by_md5[digests(302)[0]]["Category"] == 0  # not illegal, no child: non-pertinent
    assert {"HashName": "PDQ", "HashValue": "ab" * 32} in by_md5[digests(301)[0]][
        "AlternativeHashes"
    ]

    batch = imports.parse("vics", out.read_bytes(), source_name=out.name)
    assert batch.problems == []
    assert batch.skipped == {"VICS category 0 (non-pertinent)": 1}
    back = {e.md5: e for e in batch.entries}
    assert {md5: e.category for md5, e in back.items()} == {
        digests(101)[0]: "vics-1",
        digests(102)[0]: "vics-3",
        digests(301)[0]: "vics-3",
    }
    drawn = back[digests(301)[0]]
    assert (drawn.sha1, drawn.sha256, drawn.pdq) == (digests(301)[1], digests(301)[2], "ab" * 32)


def test_vics_export_is_a_taskforce_manifest(db: Database, tmp_path: Path) -> None:
    _graded_set(db, tmp_path)
    out = tmp_path / "op.json"
    _export(db, out, "vics")
    report = run_import(db, "op-again", [out], None)
    assert report.case_set.items == 4
    with db.read() as session:
        again = {
            (i.md5, i.sha1, i.sha256, i.pdq) for i in store.items_of(session, report.case_set.id)
        }
        original = {
            (i.md5, i.sha1, i.sha256, i.pdq)
            for i in store.items_of(session, store.find(session, "op").id)  # type: ignore[union-attr]
            if i.md5 in {digests(n)[0] for n in (101, 102, 301, 302)}
        }
    assert again == original


def test_csv_export_has_the_categories_and_every_jurisdiction(db: Database, tmp_path: Path) -> None:
    _graded_set(db, tmp_path)
    out = tmp_path / "op.csv"
    result = _export(db, out, "CSV")
    assert result.format == "csv" and result.written == 4
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "id", "category", "md5", "sha1", "sha256", "pdq", "pdq_quality", "vpdq", "added_at",
        "canada", "interpol_baseline", "us_vics",
    ]  # fmt: skip
    by_md5 = {r["md5"]: r for r in rows}
    known = by_md5[digests(101)[0]]
    assert (known["category"], known["us_vics"], known["canada"]) == ("B", "1", "child_pornography")
    assert known["interpol_baseline"] == "not_baseline"  # 11-13 is past the baseline's bands
    assert by_md5[digests(102)[0]]["category"] == "vics-3"
    assert by_md5[digests(102)[0]]["us_vics"] == "3"
    assert by_md5[digests(102)[0]]["canada"] == ""  # nothing to derive it from: left blank
    drawn = by_md5[digests(301)[0]]
    assert (drawn["category"], drawn["us_vics"], drawn["pdq"]) == ("C", "3", "ab" * 32)
    assert by_md5[digests(302)[0]]["category"] == "not_illegal"
    assert result.sha256 and len(out.read_bytes()) == result.bytes


def test_items_stream_in_batches_with_their_lookups(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _graded_set(db, tmp_path)
    whole = _export(db, tmp_path / "whole.json", "vics")
    monkeypatch.setattr(export, "BATCH", 2)  # every lookup crosses a batch boundary
    small = _export(db, tmp_path / "small.json", "vics")
    assert (small.written, small.left_out, small.sha256) == (
        whole.written,
        whole.left_out,
        whole.sha256,
    )


def test_the_export_is_audited_and_permission_checked(db: Database, tmp_path: Path) -> None:
    _graded_set(db, tmp_path)
    result = _export(db, tmp_path / "op.json", "vics")
    with db.read() as session:
        row = session.execute(
            select(AuditRow).where(AuditRow.action == "taskforce.exported")
        ).scalar_one()
    detail = json.loads(row.detail)
    assert row.actor == "cli:tester"
    assert detail["written"] == 4 and detail["sha256"] == result.sha256
    assert detail["format"] == "vics" and detail["file"] == "op.json"
    analyst = Actor(7, "ana", frozenset({Role.analyst}), mfa_passed=True)
    with pytest.raises(Forbidden):
        actions.export_case_set(db, analyst, "op", "vics", tmp_path / "no.json")
    assert not (tmp_path / "no.json").exists()


def test_bad_inputs_write_nothing(db: Database, tmp_path: Path) -> None:
    _graded_set(db, tmp_path)
    with pytest.raises(NotFound):
        _export(db, tmp_path / "x.json", "vics", name="no such set")
    with pytest.raises(InvalidInput):
        _export(db, tmp_path / "x.json", "xml")
    with pytest.raises(OSError):
        _export(db, tmp_path / "missing-folder" / "x.json", "vics")
    assert list(tmp_path.glob("*.json")) == []
    assert list(tmp_path.glob(".*partial")) == []


def test_a_failure_mid_write_leaves_the_old_file_and_no_partial(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _graded_set(db, tmp_path)
    out = tmp_path / "op.json"
    out.write_text("the previous export")
    real = export.ReleaseEntry

    def broken(*args: object, **kwargs: object) -> object:
        if kwargs.get("id", 0) and broken.calls >= 2:  # type: ignore[attr-defined]
            raise RuntimeError("disk gone")
        broken.calls += 1  # type: ignore[attr-defined]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    broken.calls = 0  # type: ignore[attr-defined]
    monkeypatch.setattr(export, "ReleaseEntry", broken)
    with pytest.raises(RuntimeError):
        _export(db, out, "vics")
    assert out.read_text() == "the previous export"
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []
    with db.read() as session:
        audited = session.execute(
            select(AuditRow).where(AuditRow.action == "taskforce.exported")
        ).all()
    assert audited == []


def test_the_command(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.cli import app
    from tests.conftest import TEST_SECRET

    _graded_set(db, tmp_path)
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HOTLINE_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("HOTLINE_MODE", "development")
    runner = CliRunner()
    out = tmp_path / "op.json"
    done = runner.invoke(app, ["taskforce", "export", "op", "--format", "vics", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "exported 4 items of case set 'op'" in done.output
    assert "left out: 1 failed to hash" in done.output
    assert json.loads(out.read_bytes())["value"]

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["taskforce", "export", *args])
        return result.exit_code, result.output

    code, output = run("nope", "--format", "vics", "--out", str(tmp_path / "a.json"))
    assert code == 2 and "no case set named 'nope'" in output
    code, output = run("op", "--format", "xml", "--out", str(tmp_path / "a.json"))
    assert code == 2 and "unknown format 'xml'" in output
    code, output = run("op", "--format", "csv", "--out", str(tmp_path / "gone" / "a.csv"))
    assert code == 1 and "cannot write" in output
    code, output = run("op", "--format", "csv", "--out", str(tmp_path))  # a folder
    assert code == 1 and "cannot write" in output
    assert not (tmp_path / "a.json").exists()
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_only_the_sets_own_items_when_sets_interleave(db: Database, tmp_path: Path) -> None:
    _graded_set(db, tmp_path)
    other = tmp_path / "other.csv"
    other.write_text("md5\n" + digests(101)[0] + "\n")  # known there too: exportable
    run_import(db, "other", [other], None)
    more = tmp_path / "more.csv"  # op's ids now run around other's item
    more.write_text("md5\n" + digests(305)[0] + "\n")
    run_import(db, "op", [more], None)
    result = _export(db, tmp_path / "op.json", "vics")
    assert result.written == 4
    assert result.left_out[export.NOT_GRADED] == 3
    empty = tmp_path / "empty.csv"
    empty.write_text("md5\n" + digests(306)[0] + "\n")
    run_import(db, "ungraded", [empty], None)
    nothing = _export(db, tmp_path / "ungraded.json", "vics", name="ungraded")
    assert nothing.written == 0
    assert json.loads((tmp_path / "ungraded.json").read_bytes()) == {
        "odata.metadata": VICS_ODATA,
        "value": [],
    }


def test_vics_export_in_a_2_0_profile_reads_back(db: Database, tmp_path: Path) -> None:
    _graded_set(db, tmp_path)
    out = tmp_path / "op-us.json"
    result = actions.export_case_set(db, OPERATOR, "op", "vics", out, "2.0-US")
    assert result.written == 4
    doc = json.loads(out.read_bytes())
    assert doc["@odata.context"].endswith("/2.0.xml/US/$metadata#Media")
    assert "odata.metadata" not in doc
    assert all(isinstance(m["Tags"], str) for m in doc["value"])
    batch = imports.parse("vics", out.read_bytes(), source_name=out.name)
    assert batch.problems == [] and len(batch.entries) == 3
    with pytest.raises(InvalidInput, match="unknown VICS profile"):
        actions.export_case_set(db, OPERATOR, "op", "vics", tmp_path / "x.json", "2.0-fr")
    assert not (tmp_path / "x.json").exists()

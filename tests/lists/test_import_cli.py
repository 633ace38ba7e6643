"""`hotline lists import`, registered as the lead will: a clean file lands as one version
with provenance and is matched; a bad file, or a failure mid-transaction, stores nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import Conflict
from hotline.lists import actions, import_cli
from hotline.lists.formats import VICS_ODATA
from hotline.lists.import_cli import import_command
from hotline.matching import store
from hotline.matching.matcher import DatabaseSource, Matcher
from hotline.matching.model import HashQuery
from hotline.matching.tables import HashListEntryRow, HashListRow
from hotline.security.tables import AuditRow
from tests.matching.helpers import flip_bits, make_list

app = typer.Typer()
app.command()(import_command)

RNG = np.random.default_rng(7)
MD5 = [bytes(RNG.integers(0, 256, 16, dtype=np.uint8)).hex() for _ in range(4)]
PDQ = [bytes(RNG.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(2)]


@pytest.fixture
def runner(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    return CliRunner()


def vics_file(tmp_path: Path, media: list[object]) -> Path:
    path = tmp_path / "case.json"
    path.write_text(json.dumps({"odata.metadata": VICS_ODATA, "value": media}))
    return path


def good_media() -> list[object]:
    return [
        {
            "MediaID": 11,
            "Category": 1,
            "MD5": MD5[0].upper(),
            "AlternativeHashes": [{"HashName": "PDQ", "HashValue": PDQ[0]}],
        },
        {"MediaID": 12, "Category": 3, "MD5": MD5[1]},
        {"MediaID": 13, "Category": 0, "MD5": MD5[2]},
        {"MediaID": 14, "Category": 1, "MD5": MD5[0]},
    ]


def state(db: Database, name: str) -> tuple[int, int, int]:
    """(entries, version, audit records): what a failed import must leave as it was."""
    with db.read() as session:
        info = store.get_list(session, name)
        audits = session.execute(select(func.count()).select_from(AuditRow)).scalar_one()
    return info.entries, info.version, audits


def list_names(db: Database) -> list[str]:
    with db.read() as session:
        return [i.name for i in store.list_lists(session)]


def test_import_creates_a_bank_the_matcher_uses(
    runner: CliRunner, db: Database, tmp_path: Path
) -> None:
    path = vics_file(tmp_path, good_media())
    result = runner.invoke(
        app, ["vics-bank", str(path), "--format", "VICS", "--create", "--description", "test"]
    )
    assert result.exit_code == 0, result.output
    assert "imported 2 entries into vics-bank: version 1, 2 live" in result.stdout
    assert "skipped 2 records" in result.stdout and "1 VICS category 0" in result.stdout
    assert "1 repeated hashes not added twice" in result.stdout

    with db.read() as session:
        rows = session.execute(
            select(
                HashListEntryRow.category, HashListEntryRow.md5, HashListEntryRow.source
            ).order_by(HashListEntryRow.id)
        ).all()
        listed = session.execute(select(HashListRow)).scalar_one()
        audits = session.execute(select(AuditRow).order_by(AuditRow.seq)).scalars().all()
    assert [tuple(r) for r in rows] == [
        ("vics-1", MD5[0], "vics:case.json#MediaID=11"),
        ("vics-3", MD5[1], "vics:case.json#MediaID=12"),
    ]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert listed.description == "test"
    assert listed.source is not None
    assert listed.source.startswith(f"vics:case.json sha256={digest} imported 20")
    assert [a.action for a in audits[-2:]] == ["hash_list.created", "hash_list.imported"]
    detail = json.loads(audits[-1].detail)
    assert detail == {
        "format": "vics",
        "records": 4,
        "added": 2,
        "skipped": 2,
        "duplicates": 1,
        "version": 1,
    }
    assert MD5[0] not in audits[-1].detail

    matcher = Matcher(DatabaseSource(db), refresh_seconds=0)
    answer = matcher.match(
        [
            HashQuery("md5", MD5[1]),
            HashQuery("pdq", flip_bits(PDQ[0], 5)),
            HashQuery("md5", MD5[2]),
        ],
        ["vics-bank"],
    )
    assert [(h.category, h.signal) for h in answer.hits[0]] == [("vics-3", "md5")]
    assert [(h.category, h.distance) for h in answer.hits[1]] == [("vics-1", 5)]
    assert answer.hits[2] == []  # category 0 was skipped


def test_import_into_an_existing_list_adds_one_version(
    runner: CliRunner, db: Database, tmp_path: Path
) -> None:
    make_list(db, "bank")
    path = tmp_path / "bank.csv"
    path.write_text(f"id,category,md5,pdq\nr-1,A,{MD5[0]},{PDQ[0]}\nr-2,B,{MD5[1]},\n")
    result = runner.invoke(app, ["bank", str(path), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert state(db, "bank")[:2] == (2, 1)
    with db.read() as session:
        sources = session.execute(
            select(HashListEntryRow.source).order_by(HashListEntryRow.id)
        ).scalars()
        assert list(sources) == ["csv:bank.csv#line=2&id=r-1", "csv:bank.csv#line=3&id=r-2"]
    matcher = Matcher(DatabaseSource(db), refresh_seconds=0)
    assert [h.category for h in matcher.match([HashQuery("md5", MD5[1])], ["bank"]).hits[0]] == [
        "B"
    ]


def test_a_bad_file_stores_nothing(runner: CliRunner, db: Database, tmp_path: Path) -> None:
    make_list(db, "bank")
    before = state(db, "bank")
    media = [*good_media(), {"MediaID": 20, "Category": 1, "MD5": "not-hex"}, {"MediaID": 21}]
    result = runner.invoke(app, ["bank", str(vics_file(tmp_path, media)), "--format", "vics"])
    assert result.exit_code == 1
    assert "error: record 5: MD5: md5 hash must be 32 hex digits" in result.stderr
    assert "error: record 6: Category:" in result.stderr
    assert "nothing was imported: 2 problems" in result.stderr
    assert state(db, "bank") == before

    # With --create, a bad file does not create the list either.
    result = runner.invoke(
        app, ["new-bank", str(vics_file(tmp_path, media)), "--format", "vics", "--create"]
    )
    assert result.exit_code == 1
    assert list_names(db) == ["bank"]


def test_a_failure_mid_transaction_stores_nothing(
    runner: CliRunner, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_list(db, "bank")
    before = state(db, "bank")

    def refuse(*args: object) -> None:
        raise Conflict("simulated failure after the entries were added")

    monkeypatch.setattr(actions.lists_store, "set_source", refuse)
    path = vics_file(tmp_path, good_media())
    result = runner.invoke(app, ["bank", str(path), "--format", "vics"])
    assert result.exit_code == 2
    assert "simulated failure" in result.stderr
    assert state(db, "bank") == before
    result = runner.invoke(app, ["other", str(path), "--format", "vics", "--create"])
    assert result.exit_code == 2
    assert list_names(db) == ["bank"]


def test_nothing_to_import_exits_1(runner: CliRunner, db: Database, tmp_path: Path) -> None:
    path = vics_file(tmp_path, [{"MediaID": 1, "Category": 0, "MD5": MD5[0]}])
    result = runner.invoke(app, ["bank", str(path), "--format", "vics", "--create"])
    assert result.exit_code == 1
    assert "nothing to import: skipped 1 records (1 VICS category 0 (non-pertinent))" in (
        result.stderr
    )
    assert list_names(db) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bank", "FILE", "--format", "xlsx"], "unknown format 'xlsx'"),
        (["bank", "/nonexistent.csv", "--format", "csv"], "no such file"),
        (["missing", "FILE", "--format", "csv"], "no list called 'missing' (use --create"),
        (["bank", "FILE", "--format", "csv", "--create"], "already exists"),
        (["Not Valid!", "FILE", "--format", "csv"], "lower-case"),
    ],
)
def test_usage_errors_exit_2(
    runner: CliRunner, db: Database, tmp_path: Path, args: list[str], message: str
) -> None:
    make_list(db, "bank")
    before = state(db, "bank")
    path = tmp_path / "bank.csv"
    path.write_text(f"category,md5\nA,{MD5[0]}\n")
    result = runner.invoke(app, [str(path) if a == "FILE" else a for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert state(db, "bank") == before
    assert list_names(db) == ["bank"]


def test_an_oversized_file_is_refused_unread(
    runner: CliRunner, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_cli.imports, "MAX_BYTES", 64)
    path = tmp_path / "big.csv"
    path.write_text("category,md5\n" + "".join(f"A,{m}\n" for m in MD5))
    result = runner.invoke(app, ["bank", str(path), "--format", "csv", "--create"])
    assert result.exit_code == 1
    assert "MiB limit; split it" in result.stderr
    assert list_names(db) == []

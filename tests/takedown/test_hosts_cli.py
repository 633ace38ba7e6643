"""`hotline hosts list|import|export`: exit 0 when done, 2 with the row and column of every
problem in a bad file, and nothing imported then."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.security import audit
from hotline.takedown.tables import HostingProviderRow

HEADER = "name,asns,countries,abuse_email,webhook_url,channel,language,notes\n"
GOOD = (
    HEADER
    + "Alpha Host,64500,GB,abuse@alpha.example,,email,en,first\n"
    + 'Beta Host,64600 64601,FR DE,abuse@beta.example,,email,fr,"with, comma"\n'
)


@pytest.fixture
def runner(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    return CliRunner()


def names(db: Database) -> list[str]:
    with db.read() as session:
        return list(
            session.execute(
                select(HostingProviderRow.name).order_by(HostingProviderRow.name)
            ).scalars()
        )


def test_import_list_export(runner: CliRunner, db: Database, tmp_path: Path) -> None:
    source = tmp_path / "hosts.csv"
    source.write_text(GOOD, encoding="utf-8")
    imported = runner.invoke(app, ["hosts", "import", str(source)])
    assert imported.exit_code == 0, imported.output
    assert "2 added, 0 updated" in imported.stdout
    again = runner.invoke(app, ["hosts", "import", str(source)])
    assert again.exit_code == 0 and "0 added, 2 updated" in again.stdout

    listed = runner.invoke(app, ["hosts", "list", "--json"])
    assert listed.exit_code == 0
    records = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["name"] for r in records] == ["Alpha Host", "Beta Host"]
    assert records[1]["asns"] == [64600, 64601] and records[1]["countries"] == ["DE", "FR"]
    assert records[1]["webhook_secret"] == "not set"
    plain = runner.invoke(app, ["hosts", "list"])
    assert (
        plain.exit_code == 0 and "Alpha Host\tAS 64500\temail abuse@alpha.example" in plain.stdout
    )

    exported = runner.invoke(app, ["hosts", "export"])
    assert exported.exit_code == 0
    assert exported.stdout.splitlines()[0] == HEADER.strip()
    assert (
        'Beta Host,64600 64601,DE FR,abuse@beta.example,,email,fr,"with, comma"' in exported.stdout
    )
    target = tmp_path / "out.csv"
    written = runner.invoke(app, ["hosts", "export", "--output", str(target)])
    assert written.exit_code == 0 and "wrote 2 provider(s)" in written.stderr
    assert target.read_text(encoding="utf-8") == exported.stdout
    with db.read() as session:
        actions = [e.action for e in audit.recent(session, 50)]
    assert actions.count("hosting_provider.exported") == 2
    assert actions.count("hosting_provider.imported") == 2


def test_a_bad_file_exits_2_naming_row_and_column(
    runner: CliRunner, db: Database, tmp_path: Path
) -> None:
    source = tmp_path / "hosts.csv"
    source.write_text(GOOD, encoding="utf-8")
    assert runner.invoke(app, ["hosts", "import", str(source)]).exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER
        + "Gamma Host,64700,GB,abuse@gamma.example,,email,en,\n"
        + "Delta Host,64800 AS-x,GB,abuse@delta.example,,email,en,\n"
        + "Epsilon,64900,ZZ,abuse@epsilon.example,,email,en,\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["hosts", "import", str(bad)])
    assert result.exit_code == 2
    assert "error: row 3, column asns: AS-x is not an AS number" in result.stderr
    assert "error: row 4, column countries: ZZ is not an ISO country code" in result.stderr
    assert "nothing was imported" in result.stderr
    assert names(db) == ["Alpha Host", "Beta Host"]


def test_wrong_columns_and_missing_files(runner: CliRunner, db: Database, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("name,asn\nA,1\n", encoding="utf-8")
    result = runner.invoke(app, ["hosts", "import", str(wrong)])
    assert (
        result.exit_code == 2 and "error: row 1: The first row must name exactly" in result.stderr
    )
    missing = runner.invoke(app, ["hosts", "import", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    assert names(db) == []


def test_help_says_secrets_are_not_imported(runner: CliRunner) -> None:
    result = runner.invoke(app, ["hosts", "import", "--help"])
    assert result.exit_code == 0 and "Webhook secrets are not exported or" in result.stdout

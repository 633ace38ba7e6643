"""`hotline lists release|verify|delta|apply-delta|keys|configure` as an operator and a member
run them: a release verified from its folder and over HTTP from a live server, a member's
copy brought up to date, tampering and unknown keys giving exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.matching import store
from tests.lists.helpers import entries, ids, new_list


@pytest.fixture
def runner(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    return CliRunner()


def run(runner: CliRunner, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_release_verify_and_member_copy(
    runner: CliRunner, db: Database, settings: Settings, tmp_path: Path
) -> None:
    new_list(db, "alpha", entries(3))
    out = run(runner, "lists", "release", "alpha")
    assert "released alpha version 1: 3 entries" in out
    folder = settings.data_dir / "releases" / "alpha" / "1"
    assert "verified alpha full version 1" in run(runner, "lists", "verify", str(folder))

    ring = tmp_path / "keyring.json"
    run(runner, "lists", "keys", "export", "--out", str(ring))
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes((folder / "entries.jsonl").read_bytes())

    with db.write() as session:
        store.withdraw_entries(session, "alpha", ids(db, "alpha")[:1], "found wrong")
    assert "delta from 1: +0 -1" in run(runner, "lists", "release", "alpha")
    out = run(runner, "lists", "delta", "alpha", "--since", "1")
    delta = Path(out.strip().split("; ")[-1])
    out = run(runner, "lists", "apply-delta", str(copy), str(delta), "--keyring", str(ring))
    assert "alpha: version 1 -> 2, +0 -1, 2 entries" in out
    # The updated copy is what `hotline match --list` reads.
    assert json.loads(copy.read_text().splitlines()[0])["version"] == 2

    # Rotation: the old release still verifies with the new keyring.
    assert "retired" in run(runner, "lists", "keys", "rotate")
    run(runner, "lists", "keys", "export", "--out", str(ring))
    run(runner, "lists", "verify", str(folder), "--keyring", str(ring))
    assert "retired" in run(runner, "lists", "keys", "show")


def test_verify_refuses_tampering_and_strangers(
    runner: CliRunner, db: Database, settings: Settings, tmp_path: Path
) -> None:
    new_list(db, "alpha", entries(2))
    run(runner, "lists", "release", "alpha")
    folder = settings.data_dir / "releases" / "alpha" / "1"
    stranger = tmp_path / "stranger.json"
    stranger.write_text(json.dumps({"format": "hotline-keyring", "keys": []}))
    out = run(runner, "lists", "verify", str(folder), "--keyring", str(stranger), code=1)
    assert "not in the keyring" in out
    with (folder / "entries.csv").open("a") as handle:
        handle.write("99,A,,,,,,\n")
    assert "entries.csv" in run(runner, "lists", "verify", str(folder), code=1)
    assert "neither a folder" in run(runner, "lists", "verify", "nowhere", code=2)
    assert "already released" in run(runner, "lists", "release", "alpha", code=2)
    assert "latest is 1" in run(runner, "lists", "delta", "alpha", "--since", "5", code=2)


def test_verify_over_http(
    runner: CliRunner, db: Database, settings: Settings, live_server: str, tmp_path: Path
) -> None:
    new_list(db, "alpha", entries(2))
    with db.write() as session:
        store.create_member(session, "example-platform")
        issued, _ = store.create_key(session, "example-platform", ["alpha"])
    run(runner, "lists", "release", "alpha")
    url = f"{live_server}/api/v1/lists/alpha/releases/latest"
    into = tmp_path / "download"
    out = run(runner, "lists", "verify", url, "--key", issued.key, "--into", str(into))
    assert "verified alpha full version 1" in out
    assert (into / "entries.jsonl").exists()
    out = run(runner, "lists", "verify", url, "--key", "hlk_000000000000_x", code=1)
    assert "401" in out


def test_configure(runner: CliRunner, db: Database) -> None:
    new_list(db, "alpha", [])
    out = run(runner, "lists", "configure", "alpha", "--categories", "A,B", "--fields", "age_band")
    assert json.loads(out) == {
        "categories": ["A", "B"],
        "fields": ["age_band"],
        "formats": ["jsonl", "csv", "vics", "threatexchange"],
        "jurisdictions": True,
        "max_distances": {"pdq": 31},
        "description": "",
    }
    out = run(runner, "lists", "configure", "alpha", "--description", " Known images. ")
    assert json.loads(out)["description"] == "Known images."
    assert "description" in run(
        runner, "lists", "configure", "alpha", "--description", "x" * 501, code=2
    )
    assert "categories" in run(runner, "lists", "configure", "alpha", "--categories", "Z", code=2)
    assert "no list" in run(runner, "lists", "configure", "nope", code=2)

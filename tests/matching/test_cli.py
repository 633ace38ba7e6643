"""`hotline member`, `hotline lists` and `hotline match`, through the composed `hotline` CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.cli import app as cli
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.hashing import hash_bytes
from hotline.matching import keys, list_files, store
from hotline.security.tables import AuditRow
from tests.matching.helpers import BRIDGE, flip_bits, shapes_png

ORIG = BRIDGE / "aaa-orig.jpg"


@pytest.fixture
def runner(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    return CliRunner()


def ok(runner: CliRunner, *args: str, stdin: str | None = None) -> str:
    result = runner.invoke(cli, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return result.stdout


def entries_file(tmp_path: Path, lines: list[object]) -> Path:
    path = tmp_path / "entries.jsonl"
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    )
    return path


def test_members_and_keys(runner: CliRunner, db: Database) -> None:
    ok(runner, "lists", "create", "alpha")
    ok(runner, "lists", "create", "beta")
    assert "added member example-platform" in ok(runner, "member", "add", "example-platform")
    assert json.loads(ok(runner, "member", "list", "--json"))["name"] == "example-platform"
    created = runner.invoke(
        cli,
        [
            "member",
            "key",
            "create",
            "--member",
            "example-platform",
            "--list",
            "alpha",
            "--list",
            "beta",
        ],
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    prefix = keys.prefix_of(key)
    assert prefix and "cannot be shown again" in created.stderr
    listed = ok(runner, "member", "key", "list", "--json")
    record = json.loads(listed)
    assert record["prefix"] == f"hlk_{prefix}" and record["lists"] == ["alpha", "beta"]
    assert record["revoked_at"] is None
    assert key.split("_")[2] not in listed + ok(runner, "member", "key", "list")
    assert "revoked" in ok(runner, "member", "key", "revoke", f"hlk_{prefix}")
    assert json.loads(ok(runner, "member", "key", "list", "--json"))["revoked_at"]
    with db.read() as session:
        actions = [
            r.action for r in session.execute(select(AuditRow).order_by(AuditRow.seq)).scalars()
        ]
        details = " ".join(r.detail for r in session.execute(select(AuditRow)).scalars())
    assert actions[-3:] == ["member.created", "member_key.created", "member_key.revoked"]
    assert key not in details


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["member", "add", "Not Valid!"], "lower-case"),
        (["member", "key", "create", "--member", "ghost", "--list", "alpha"], "no member"),
        (["member", "key", "revoke", "hlk_000000000000"], "no key"),
        (["lists", "create", "alpha"], "already exists"),
        (["lists", "add-entries", "missing", "ENTRIES"], "no list"),
        (["lists", "export", "missing", "--out", "OUT"], "no list"),
        (["lists", "add-entries", "alpha", "/nonexistent.jsonl"], "no such file"),
    ],
)
def test_usage_errors_exit_2(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    ok(runner, "lists", "create", "alpha")
    path = entries_file(tmp_path, [{"md5": "1" * 32, "category": "A"}])
    args = [str(path) if a == "ENTRIES" else str(tmp_path / "o") if a == "OUT" else a for a in args]
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    assert message in result.output


def test_add_entries_is_all_or_nothing(runner: CliRunner, db: Database, tmp_path: Path) -> None:
    ok(runner, "lists", "create", "alpha")
    bad = entries_file(
        tmp_path,
        [
            {"md5": "1" * 32, "category": "A"},
            {"md5": "not hex", "category": "A"},
            "{broken",
            {"pdq": "0" * 64},
            [1, 2],
        ],
    )
    result = runner.invoke(cli, ["lists", "add-entries", "alpha", str(bad)])
    assert result.exit_code == 1
    for line in (
        "line 2: md5",
        "line 3: not JSON",
        "line 4: category",
        "line 5: not a JSON object",
    ):
        assert line in result.output
    assert "nothing was added" in result.output
    with db.read() as session:
        assert store.get_list(session, "alpha").entries == 0
        assert store.get_list(session, "alpha").version == 0
    good = entries_file(
        tmp_path,
        [{"md5": "1" * 32, "category": "A"}, {"pdq": "2" * 64, "pdq_quality": 90, "category": "B"}],
    )
    assert "version 1, 2 live" in ok(runner, "lists", "add-entries", "alpha", str(good))
    assert "version 2, 3 live" in ok(
        runner,
        "lists",
        "add-entries",
        "alpha",
        "-",
        stdin='{"sha1": "' + "3" * 40 + '", "category": "C"}\n',
    )


def test_export_then_match_offline(runner: CliRunner, db: Database, tmp_path: Path) -> None:
    orig = hash_bytes(ORIG.read_bytes())
    assert orig.pdq is not None
    ok(runner, "lists", "create", "alpha", "--pdq-max-distance", "31")
    entries = [
        {"pdq": orig.pdq.hex, "pdq_quality": orig.pdq.quality, "category": "A"},
        {"md5": "1" * 32, "category": "B"},
        {"sha256": "2" * 64, "category": "C"},
    ]
    ok(runner, "lists", "add-entries", "alpha", str(entries_file(tmp_path, entries)))
    ok(runner, "lists", "withdraw", "alpha", "3", "--reason", "regraded as not illegal")
    out = tmp_path / "alpha.jsonl"
    assert "exported 2 entries of alpha version 2" in ok(
        runner, "lists", "export", "alpha", "--out", str(out)
    )
    header, *lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert (header["format"], header["list"], header["version"], header["entries"]) == (
        list_files.FORMAT,
        "alpha",
        2,
        2,
    )
    assert [line["id"] for line in lines] == [1, 2]

    images = tmp_path / "images"
    images.mkdir()
    (images / "blurred.jpg").write_bytes((BRIDGE / "blur-a-little.jpg").read_bytes())
    (images / "other.png").write_bytes(shapes_png(9))
    result = runner.invoke(
        cli,
        [
            "match",
            "--list",
            str(out),
            f"pdq:{flip_bits(orig.pdq.hex, 4)}",
            "md5:" + "1" * 32,
            "sha256:" + "2" * 64,
            str(images),
        ],
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("input") or Path(r["path"]).name for r in records] == [
        f"pdq:{flip_bits(orig.pdq.hex, 4)}",
        "md5:" + "1" * 32,
        "sha256:" + "2" * 64,
        "blurred.jpg",
        "other.png",
    ]
    assert [(m["category"], m["distance"]) for m in records[0]["matches"]] == [("A", 4)]
    assert [m["category"] for m in records[1]["matches"]] == ["B"]
    assert records[2]["matches"] == []  # withdrawn before the export
    assert [m["category"] for m in records[3]["matches"]] == ["A"] and records[3][
        "pdq_quality"
    ] >= 50
    assert records[4]["matches"] == []
    assert all(r["lists"] == [{"name": "alpha", "version": 2}] for r in records)


def test_match_exit_codes(runner: CliRunner, tmp_path: Path) -> None:
    list_file = tmp_path / "l.jsonl"
    list_file.write_text(
        json.dumps(
            {
                "format": list_files.FORMAT,
                "format_version": 1,
                "list": "x",
                "version": 1,
                "pdq_max_distance": 31,
                "entries": 1,
            }
        )
        + "\n"
        + json.dumps({"id": 1, "md5": "1" * 32, "category": "A"})
        + "\n"
    )
    bad_file = tmp_path / "bad.txt"
    bad_file.write_bytes(b"not an image")
    partly = runner.invoke(
        cli, ["match", "--list", str(list_file), "md5:" + "1" * 32, "pdq:xyz", str(bad_file)]
    )
    assert partly.exit_code == 1
    records = [json.loads(line) for line in partly.stdout.splitlines()]
    assert records[0]["matches"][0]["entry_id"] == 1
    assert records[1]["error"].startswith("invalid_hash") and records[2]["error"].startswith(
        "unsupported_media"
    )

    missing = runner.invoke(cli, ["match", "--list", str(list_file), str(tmp_path / "nope.jpg")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    no_list = runner.invoke(
        cli, ["match", "--list", str(tmp_path / "none.jsonl"), "md5:" + "1" * 32]
    )
    assert no_list.exit_code == 2 and "cannot read" in no_list.output
    not_a_list = runner.invoke(cli, ["match", "--list", str(bad_file), "md5:" + "1" * 32])
    assert not_a_list.exit_code == 2 and "line 1" in not_a_list.output


def test_match_offline_with_a_plug_in_signal_type(runner: CliRunner, tmp_path: Path) -> None:
    """The example plug-in (examples/hotline-dhash) offline: `NAME:VALUE` is accepted and
    checked by the plug-in, and a file is hashed by it too, so a list holding only the
    plug-in's hash finds the file and a near copy of it."""
    from hotline_dhash import DHashSignal

    png = shapes_png(3)
    stored = DHashSignal.hash_bytes(png)
    list_file = tmp_path / "l.jsonl"
    header = {
        "format": list_files.FORMAT,
        "format_version": 1,
        "list": "by-plugin",
        "version": 1,
        "pdq_max_distance": 31,
        "entries": 1,
    }
    list_file.write_text(
        json.dumps(header) + "\n" + json.dumps({"id": 7, "dhash": stored, "category": "A"}) + "\n"
    )
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.png").write_bytes(png)
    (images / "b.png").write_bytes(shapes_png(13))
    near = f"{int(stored, 16) ^ 0b111:016x}"  # three bits flipped
    result = runner.invoke(
        cli, ["match", "--list", str(list_file), f"DHASH:{near.upper()}", str(images)]
    )
    assert result.exit_code == 0, result.output
    first, same, other = [json.loads(line) for line in result.stdout.splitlines()]
    assert first["input"] == f"DHASH:{near.upper()}"
    assert [(m["entry_id"], m["distance"], m["signal"]) for m in first["matches"]] == [
        (7, 3, "dhash")
    ]
    assert same["signals"] == {"dhash": stored}
    assert [(m["entry_id"], m["distance"], m["signal"]) for m in same["matches"]] == [
        (7, 0, "dhash")
    ]
    assert other["matches"] == [] and "dhash" in other["signals"]

    bad = runner.invoke(cli, ["match", "--list", str(list_file), "dhash:xyz"])
    assert bad.exit_code == 1
    assert json.loads(bad.stdout)["error"].startswith("invalid_hash")

"""Each capability owns its command group; `hotline.cli` only composes them, and the generated
CLI reference names the program as users type it."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from hotline import cli
from hotline.lists import cli as lists_cli
from hotline.matching import cli as matching_cli

ROOT = Path(__file__).resolve().parents[2]


def test_the_lists_group_is_the_lists_capabilitys() -> None:
    assert not hasattr(matching_cli, "lists_app")  # matching no longer holds it
    groups = {g.name: g.typer_instance for g in cli.app.registered_groups}
    assert groups["lists"] is lists_cli.lists_app
    assert groups["member"] is matching_cli.member_app
    names = set(typer.main.get_command(lists_cli.lists_app).commands)  # type: ignore[attr-defined]
    # Entry commands (entries_cli), imports, releases and keys all hang on the one group.
    assert {"create", "list", "add-entries", "withdraw", "export", "import", "release"} <= names
    assert {"keys", "sync-grades", "sync-urls", "verify", "apply-delta"} <= names


def test_hotline_help_lists_every_group() -> None:
    result = CliRunner().invoke(cli.app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for group in ("db", "user", "audit", "member", "lists", "hosts", "takedown", "partner"):
        assert f" {group} " in result.output
    for command in ("worker", "match", "hash", "serve"):
        assert f" {command} " in result.output


def test_the_cli_reference_says_hotline_not_root() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    assert "Usage: hotline [OPTIONS] COMMAND [ARGS]..." in text
    assert "Usage: root" not in text

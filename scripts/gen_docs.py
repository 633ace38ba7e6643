"""Regenerate the docs that are derived from code: docs/configuration.md and docs/cli.md.

Run `python scripts/gen_docs.py`; tests/foundation/test_docs.py fails when they drift.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def configuration_md() -> str:
    from hotline.config import Settings

    lines = [
        "# Configuration",
        "",
        "Every setting is an environment variable with the prefix `HOTLINE_`, read once at start",
        "into one typed settings object (`hotline.config.Settings`). This page is generated from",
        "that object by `python scripts/gen_docs.py`; a test fails if they differ.",
        "",
        "| variable | default | meaning |",
        "| --- | --- | --- |",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default
        if hasattr(default, "get_secret_value"):
            default = "(none)"
        elif default is None:
            default = "(empty)"
        elif hasattr(default, "value"):
            default = default.value
        elif isinstance(default, bool):
            default = str(default).lower()
        elif default == "":
            default = "(empty)"
        lines.append(f"| `HOTLINE_{name.upper()}` | `{default}` | {field.description} |")
    lines += [
        "",
        "Outside production mode (`HOTLINE_MODE=development` or `hotline serve --demo`), a",
        "missing secret key is generated once and kept in `DATA_DIR/secret.key` (mode 0600).",
        "In production a missing, short or placeholder key stops the start with a message.",
        "",
        "**Which instance a command works on.** With `HOTLINE_DATA_DIR` unset, every command",
        "looks for `./hotline-data`, then for `hotline-data` beside the virtual environment",
        "that runs it (the checkout `scripts/demo.sh` serves from), so `.venv/bin/hotline user",
        "code analyst` works from any directory. When neither exists, `hotline serve` and",
        "`hotline db upgrade` (and `hotline backup restore`) start one in `./hotline-data`;",
        "every other command refuses, naming where it looked, rather than create a second,",
        "empty instance. `hotline serve` notes its mode in `DATA_DIR/instance-mode`, and a",
        "command without `HOTLINE_MODE` reads the data in that mode (a demo's generated secret).",
        "",
        "**The demo's own site.** `hotline serve --demo` also serves a small benign site on",
        "127.0.0.1 (`HOTLINE_DEMO_SITE_PORT`, default the web port plus one; the host console",
        "at `/host`, the mail catcher's inbox at `/mail`) and a mail catcher",
        "(`HOTLINE_DEMO_MAIL_PORT`, default plus two) that its notices go to unless",
        "`HOTLINE_SMTP_HOST` is set; its reports name the site as `demo-site.example.net`, which",
        "only a demo instance's fetcher maps to it (docs/fetcher.md). A host-ranges file",
        "(`DATA_DIR/demo-host-ranges.csv`, unless `HOTLINE_HOSTING_RANGES_CSV` is set) traces",
        "the site to the demo's host directory.",
        "",
    ]
    return "\n".join(lines)


def cli_md() -> str:
    from typing import Any

    import typer
    from typer.testing import CliRunner

    from hotline.cli import app

    runner = CliRunner()

    # Every command, walked from the command tree, so a new command cannot go undocumented.
    def walk(command: Any, path: list[str]) -> list[list[str]]:
        found = [path]
        subcommands = getattr(command, "commands", {})  # groups have them, commands do not
        for name in sorted(subcommands):
            found += walk(subcommands[name], [*path, name])
        return found

    commands = walk(typer.main.get_command(app), [])
    out = [
        "# Command line",
        "",
        "Generated from `hotline --help` by `python scripts/gen_docs.py`; a test fails if it",
        "drifts. Exit codes: 0 success, 1 the command found a problem, 2 usage or settings error.",
        "",
    ]
    for args in commands:
        result = runner.invoke(
            app,
            [*args, "--help"],
            env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"},
            prog_name="hotline",  # what users type, not the test runner's "root"
        )
        title = " ".join(["hotline", *args])
        out += [f"## `{title}`", "", "```text", result.output.rstrip(), "```", ""]
    return "\n".join(out)


def main() -> int:
    (ROOT / "docs" / "configuration.md").write_text(configuration_md())
    (ROOT / "docs" / "cli.md").write_text(cli_md())
    return 0


if __name__ == "__main__":
    sys.exit(main())

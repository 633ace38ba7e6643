"""Docs that are generated from code must match it (run `python scripts/gen_docs.py`)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configuration_doc_lists_every_setting() -> None:
    assert (ROOT / "docs" / "configuration.md").read_text() == _generator().configuration_md()


def test_cli_doc_matches_help_output() -> None:
    assert (ROOT / "docs" / "cli.md").read_text() == _generator().cli_md()


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in readme
    assert "bash scripts/test.sh" in ci

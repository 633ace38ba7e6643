"""The schema fuzz's run record: its seed and the requests sent per operation, printed at the
end of every run that fuzzed (pass or fail), so any run can be replayed."""

from __future__ import annotations

import importlib.util

import pytest

from tests.fuzz import record

# schemathesis is a dev extra: a checkout whose lock does not carry it yet says so at the end.
MISSING = importlib.util.find_spec("schemathesis") is None
collect_ignore = ["test_api_schema.py"] if MISSING else []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if MISSING:
        terminalreporter.section("schema fuzz")
        terminalreporter.write_line("not run: schemathesis is not installed (dev extra)")
    if not record.REQUESTS:
        return
    terminalreporter.section("schema fuzz")
    for line in record.summary():
        terminalreporter.write_line(line)

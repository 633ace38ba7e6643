"""One action, one place (docs/architecture.md, "Actions").

Every module under src/hotline is parsed (ast, nothing imported). Pages, APIs and CLIs
(`*pages.py`, `*api.py`, `cli.py`, `*cli.py`) call actions; the action writes the audit entry.
So an `audit.record`/`audit.record_many` call in one of them fails this test unless it is in
ALLOWED below, named by file and function, with the reason it is still there. The list
should only shrink: moving a caller's audit into an action means deleting its entry.

It also holds the single paths that exist: a report is stored only through
`intake.actions.receive_report`, a grade only through `grading.actions`.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "hotline"
AUDIT_MODULE = "hotline.security.audit"
AUDIT_CALLS = frozenset({"record", "record_many"})

# (file under src/hotline, function) -> why it still audits itself.
ALLOWED: dict[tuple[str, str], str] = {}


def is_caller_module(name: str) -> bool:
    """Pages, APIs and CLIs: the thin callers of actions."""
    return name.endswith(("pages.py", "api.py", "cli.py"))


def _audit_names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Names bound to the audit module, and names bound to its record functions."""
    modules: set[str] = set()
    functions: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "hotline.security":
            modules |= {a.asname or a.name for a in node.names if a.name == "audit"}
        elif isinstance(node, ast.ImportFrom) and node.module == AUDIT_MODULE:
            functions |= {a.asname or a.name for a in node.names if a.name in AUDIT_CALLS}
        elif isinstance(node, ast.Import):
            modules |= {a.asname for a in node.names if a.name == AUDIT_MODULE and a.asname}
    return modules, functions


def _is_audit_call(call: ast.Call, modules: set[str], functions: set[str]) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id in functions
    if isinstance(func, ast.Attribute) and func.attr in AUDIT_CALLS:
        owner = func.value
        if isinstance(owner, ast.Name):
            return owner.id in modules
        # hotline.security.audit.record(...) spelled out
        return ast.unparse(owner) == AUDIT_MODULE
    return False


def audit_calls(source: str) -> list[tuple[str, int]]:
    """(enclosing function, line) of every audit append in `source`; "<module>" outside any."""
    tree = ast.parse(source)
    modules, functions = _audit_names(tree)
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = where
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = child.name if where == "<module>" else where
            if isinstance(child, ast.Call) and _is_audit_call(child, modules, functions):
                found.append((where, child.lineno))
            visit(child, inner)

    visit(tree, "<module>")
    return found


def callers_that_audit(src: Path) -> dict[tuple[str, str], list[int]]:
    found: dict[tuple[str, str], list[int]] = {}
    for path in sorted(src.rglob("*.py")):
        if not is_caller_module(path.name):
            continue
        rel = path.relative_to(src).as_posix()
        for function, line in audit_calls(path.read_text(encoding="utf-8")):
            found.setdefault((rel, function), []).append(line)
    return found


@functools.cache
def _trees(src: Path) -> tuple[tuple[str, ast.Module], ...]:
    """Every module under `src`, parsed once for all the checks."""
    return tuple(
        (path.relative_to(src).as_posix(), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(src.rglob("*.py"))
    )


def calls_to(src: Path, owner: str, names: set[str]) -> set[str]:
    """Files calling `owner.<name>(...)` for a name in `names`."""
    found = set()
    for rel, tree in _trees(src):
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in names
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == owner
            ):
                found.add(rel)
    return found


# -- the tree as it is ---------------------------------------------------------------------------


def test_pages_apis_and_clis_leave_the_audit_entry_to_actions() -> None:
    found = callers_that_audit(SRC)
    unexpected = sorted(
        f"{f}:{fn} (line {lines[0]})" for (f, fn), lines in found.items() if (f, fn) not in ALLOWED
    )
    assert unexpected == [], (
        "call an action (which writes the audit entry) instead; see docs/architecture.md"
    )


def test_the_allow_list_is_empty() -> None:
    """Every page, API and CLI has moved its audit entries into actions: keep it that way."""
    assert ALLOWED == {}


def test_the_allow_list_only_names_what_is_still_there() -> None:
    """An entry whose call has moved into an action is deleted, so the list shrinks."""
    found = callers_that_audit(SRC)
    assert sorted(f"{f}:{fn}" for f, fn in ALLOWED if (f, fn) not in found) == []


def test_moved_callers_stay_moved() -> None:
    found = {f for f, _fn in callers_that_audit(SRC)}
    for done in (
        "security/pages.py",
        "security/cli.py",
        "security/audit_pages.py",
        "intake/pages.py",
        "intake/api.py",
        "assess/pages.py",
        "takedown/pages.py",
        "takedown/hosts_pages.py",
        "grading/pages.py",
        "grading/cli.py",
        "stats/pages.py",
        "stats/cli.py",
        "cli.py",
    ):
        assert done not in found
    for done in (
        "exchange/api.py",
        "exchange/cli.py",
        "exchange/pages.py",
        "lists/api.py",
        "lists/cli.py",
        "lists/entries_cli.py",
        "lists/import_cli.py",
        "matching/cli.py",
    ):
        assert done not in found


def test_a_report_is_stored_only_by_the_receive_action() -> None:
    assert calls_to(SRC, "reports", {"submit", "submit_many"}) == {"intake/actions.py"}


def test_grades_are_recorded_only_by_the_grading_actions() -> None:
    assert calls_to(SRC, "service", {"submit_grade", "resolve"}) == {"grading/actions.py"}


def test_user_changes_go_through_the_security_actions() -> None:
    assert calls_to(SRC, "users", {"create_user", "set_disabled"}) <= {
        "security/actions.py",
        "demo.py",  # demo accounts: created with a known two-factor secret, audited as seeded
    }
    assert calls_to(SRC, "login_guard", {"clear_failures"}) == {"security/actions.py"}


# -- the checker bites ---------------------------------------------------------------------------


def test_every_spelling_of_an_audit_call_is_found() -> None:
    source = (
        "from hotline.security import audit\n"
        "from hotline.security import audit as journal\n"
        "from hotline.security.audit import record as rec, record_many\n"
        "import hotline.security.audit\n"
        "def a(s):\n    audit.record(s, 'x', 'y', 'z', 1)\n"
        "def b(s):\n    journal.record_many(s, [])\n"
        "def c(s):\n    rec(s, 'x', 'y', 'z', 1)\n"
        "def d(s):\n    def inner():\n        record_many(s, [])\n    inner()\n"
        "def e(s):\n    hotline.security.audit.record(s, 'x', 'y', 'z', 1)\n"
        "audit.record(None, 'x', 'y', 'z', 1)\n"
        "def f(s, other):\n    other.record(s)\n    audit.verify(s)\n"
    )
    assert [fn for fn, _line in audit_calls(source)] == ["a", "b", "c", "d", "e", "<module>"]


def test_only_pages_apis_and_clis_are_callers(tmp_path: Path) -> None:
    call = "from hotline.security import audit\ndef go(s):\n    audit.record(s, 'a', 'b', 'c', 1)\n"
    for name in (
        "x/pages.py",
        "x/hosts_pages.py",
        "x/api.py",
        "cli.py",
        "x/entries_cli.py",
        "x/actions.py",
        "x/service.py",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(call)
    assert sorted(f for f, _fn in callers_that_audit(tmp_path)) == [
        "cli.py",
        "x/api.py",
        "x/entries_cli.py",
        "x/hosts_pages.py",
        "x/pages.py",
    ]

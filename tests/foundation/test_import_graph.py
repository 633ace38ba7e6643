"""The arrows between packages run one way (docs/architecture.md).

Every module under src/hotline is parsed (ast, nothing imported): module-level imports and
imports inside functions alike, and `importlib.import_module` of a "hotline.…" string, since
a hidden import is still an arrow. The packages are then checked against the layers:
- the floor imports no capability;
- a capability imports only capabilities of earlier tiers (never a sibling or a later one),
  so there is no cycle between capabilities;
- no import between two capabilities hides inside a function;
- nothing but a composition root imports a composition root.
Composition roots (listed by name) wire everything and are exempt.

The checker is tested on small synthetic trees too, so each rule is known to bite.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

# The floor: imports no capability. `hotline` itself is the package root (__version__).
FLOOR = frozenset(
    {
        "hotline",
        "config",
        "errors",
        "db",
        "security",
        "jobs",
        "web",
        "hashing",
        "index",
        "netaddr",
        "cli_support",
        "logs",
        "json_input",
        "compiled",
        "backup",
    }
)
# Capabilities in tiers: a capability may import those of earlier tiers only. Siblings in one
# tier never import each other. (Why this order: docs/architecture.md.)
TIERS: tuple[frozenset[str], ...] = (
    frozenset({"intake", "advice"}),
    frozenset({"grading", "matching"}),
    frozenset({"known"}),
    frozenset({"assess"}),
    frozenset({"lists", "takedown"}),
    frozenset({"exchange", "taskforce", "notify", "proactive"}),
    frozenset({"stats"}),
)
CAPABILITIES = frozenset().union(*TIERS)
TIER = {name: i for i, tier in enumerate(TIERS) for name in tier}
# Composition roots: the only modules allowed to import every capability.
ROOTS = frozenset(
    {
        "hotline.cli",
        "hotline.__main__",
        "hotline.web.app",
        "hotline.db.models",
        "hotline.db.migrations.env",  # Alembic's entry point: loads the ORM through db.models
        "hotline.demo",
        "hotline.demo_site",  # the demo's own benign site and mail catcher (serve --demo)
        "hotline.handlers",
    }
)


@dataclass(frozen=True)
class Arrow:
    source: str  # module, e.g. hotline.takedown.cases
    target: str  # imported module (or name under a module), e.g. hotline.exchange.forwarding
    line: int
    in_function: bool

    def __str__(self) -> str:
        where = " (inside a function)" if self.in_function else ""
        return f"{self.source}:{self.line} -> {self.target}{where}"


def package(module: str) -> str:
    """hotline.takedown.cases -> takedown; hotline.config -> config; hotline -> hotline."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _function_nodes(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inside.update(id(n) for n in ast.walk(node) if n is not node)
    return inside


def arrows_of(source: str, module: str, is_package: bool = False) -> list[Arrow]:
    tree = ast.parse(source)
    inside = _function_nodes(tree)
    found: list[Arrow] = []
    dynamic = any(
        isinstance(n, ast.Call)
        and (
            (isinstance(n.func, ast.Attribute) and n.func.attr == "import_module")
            or (isinstance(n.func, ast.Name) and n.func.id in ("import_module", "__import__"))
        )
        for n in ast.walk(tree)
    )
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                # Relative to the module's package (an __init__ is its own package).
                parts = module.split(".")
                parent = parts[: len(parts) - node.level + is_package]
                base = ".".join([*parent, base] if base else parent)
            # `from hotline import takedown` imports the package takedown.
            named = [f"{base}.{a.name}" if base == "hotline" else base for a in node.names]
            targets = list(dict.fromkeys(named))
        elif dynamic and isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.split(":")[0]
            if text.startswith("hotline.") and all(p.isidentifier() for p in text.split(".")):
                targets = [text]
        for target in targets:
            if target == "hotline" or target.startswith("hotline."):
                line = getattr(node, "lineno", 0)
                found.append(Arrow(module, target, line, id(node) in inside))
    return found


def graph(src: Path) -> list[Arrow]:
    arrows: list[Arrow] = []
    for path in sorted((src / "hotline").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        arrows += arrows_of(text, module_name(path, src), path.name == "__init__.py")
    return arrows


def _is_root(module: str) -> bool:
    return module in ROOTS


def unplaced(arrows: list[Arrow], src: Path) -> list[str]:
    names = {package(module_name(p, src)) for p in (src / "hotline").rglob("*.py")}
    return sorted(n for n in names - FLOOR - CAPABILITIES if f"hotline.{n}" not in ROOTS)


def floor_violations(arrows: list[Arrow]) -> list[str]:
    return [
        str(a)
        for a in arrows
        if not _is_root(a.source)
        and package(a.source) in FLOOR
        and package(a.target) in CAPABILITIES
    ]


def order_violations(arrows: list[Arrow]) -> list[str]:
    """Arrows from a capability to a capability of its own tier or a later one."""
    bad = []
    for a in arrows:
        src, dst = package(a.source), package(a.target)
        if _is_root(a.source) or src == dst or src not in TIER or dst not in TIER:
            continue
        if TIER[dst] >= TIER[src]:
            bad.append(str(a))
    return bad


def hidden_imports(arrows: list[Arrow]) -> list[str]:
    """Imports inside functions from one capability into another: a cycle being dodged."""
    return [
        str(a)
        for a in arrows
        if a.in_function
        and not _is_root(a.source)
        and package(a.source) in CAPABILITIES
        and package(a.target) in CAPABILITIES
        and package(a.source) != package(a.target)
    ]


# Known, named exceptions, each with the change that removes it. Keep this short.
ROOT_IMPORT_EXCEPTIONS = {
    # error_body (the one JSON error shape) belongs in hotline.errors, where the error-shape
    # work is moving the shape's models; health then imports it from there.
    ("hotline.web.health", "hotline.web.app"),
}


def root_imports(arrows: list[Arrow]) -> list[str]:
    return [
        str(a)
        for a in arrows
        if not _is_root(a.source)
        and (a.source, a.target) not in ROOT_IMPORT_EXCEPTIONS
        and any(a.target == r or a.target.startswith(r + ".") for r in ROOTS)
    ]


def capability_cycles(arrows: list[Arrow]) -> list[list[str]]:
    """Cycles in the graph of capability packages (strongly connected components > 1)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for a in arrows:
        src, dst = package(a.source), package(a.target)
        if not _is_root(a.source) and src != dst and src in CAPABILITIES and dst in CAPABILITIES:
            edges[src].add(dst)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(CAPABILITIES):
        if v not in index:
            visit(v)
    return cycles


# -- the tree as it is --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def arrows() -> list[Arrow]:
    return graph(SRC)


def test_every_package_has_a_place(arrows: list[Arrow]) -> None:
    assert unplaced(arrows, SRC) == [], (
        "place the new package in FLOOR or TIERS here and in docs/architecture.md"
    )


def test_the_floor_imports_no_capability(arrows: list[Arrow]) -> None:
    assert floor_violations(arrows) == []


def test_no_cycle_between_capabilities(arrows: list[Arrow]) -> None:
    assert capability_cycles(arrows) == []


def test_capabilities_import_only_earlier_ones(arrows: list[Arrow]) -> None:
    assert order_violations(arrows) == []


def test_no_import_between_capabilities_hides_in_a_function(arrows: list[Arrow]) -> None:
    assert hidden_imports(arrows) == []


def test_only_roots_import_roots(arrows: list[Arrow]) -> None:
    assert root_imports(arrows) == []


def test_the_order_here_is_the_documented_one() -> None:
    text = (SRC.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for tier in TIERS:
        for name in tier:
            assert f"`{name}`" in text
    for root in ROOTS:
        assert f"`{root}`" in text


# -- the checker bites ----------------------------------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> list[Arrow]:
    for name, text in files.items():
        path = tmp_path / "hotline" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return graph(tmp_path)


def test_a_cycle_hidden_in_a_function_is_found(tmp_path: Path) -> None:
    arrows = _tree(
        tmp_path,
        {
            "takedown/cases.py": "def propose():\n    from hotline.exchange import forwarding\n",
            "exchange/forwarding.py": "from hotline.takedown.cases import propose\n",
        },
    )
    assert capability_cycles(arrows) == [["exchange", "takedown"]]
    assert hidden_imports(arrows) == [
        "hotline.takedown.cases:2 -> hotline.exchange (inside a function)"
    ]
    assert order_violations(arrows) == [
        "hotline.takedown.cases:2 -> hotline.exchange (inside a function)"
    ]


def test_the_floor_reaching_up_is_found_even_through_a_string(tmp_path: Path) -> None:
    arrows = _tree(
        tmp_path,
        {
            "jobs/worker.py": "from hotline.assess.fetcher import FetchPolicy\n",
            "jobs/registry.py": (
                "import importlib\nMODULES = ('hotline.takedown.job_handlers',)\n"
                "def load():\n    for m in MODULES:\n        importlib.import_module(m)\n"
            ),
            "web/app.py": "from hotline.takedown import pages\n",  # a root: allowed
        },
    )
    assert floor_violations(arrows) == [
        "hotline.jobs.registry:2 -> hotline.takedown.job_handlers",
        "hotline.jobs.worker:1 -> hotline.assess.fetcher",
    ]


def test_siblings_and_later_tiers_are_refused(tmp_path: Path) -> None:
    arrows = _tree(
        tmp_path,
        {
            "lists/x.py": "from hotline import takedown\n",  # a sibling
            "assess/pages.py": "from hotline.takedown import cases\n",  # a later tier
            "takedown/y.py": "from hotline.assess import hosting\n",  # earlier: fine
            "grading/z.py": "from hotline.handlers import register\n",  # a root
        },
    )
    assert order_violations(arrows) == [
        "hotline.assess.pages:1 -> hotline.takedown",
        "hotline.lists.x:1 -> hotline.takedown",
    ]
    assert root_imports(arrows) == ["hotline.grading.z:1 -> hotline.handlers"]


def test_relative_imports_resolve(tmp_path: Path) -> None:
    arrows = _tree(tmp_path, {"assess/a.py": "from ..takedown import cases\n"})
    assert [a.target for a in arrows] == ["hotline.takedown"]

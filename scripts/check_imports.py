"""Fail when src/hotline imports a distribution that pyproject.toml does not declare.

Run `.venv/bin/python scripts/check_imports.py` (CI does). It reads every module under
src/hotline with `ast`, maps each imported top-level name to the installed distribution that
provides it (`importlib.metadata.packages_distributions()`), and checks that distribution
against pyproject.toml. The rule, kept simple on purpose:

- a distribution in `[project.dependencies]` may be imported anywhere;
- a distribution that is only in an optional extra (`[project.optional-dependencies]`) may be
  imported only where a missing install cannot break an import of hotline: inside a function
  body (a lazy import), inside `try: ... except ImportError`, or anywhere in a module that
  `[tool.hotline.extra-modules]` names as that extra's own (the plug-in module itself);
- anything else (undeclared, or extra-only and imported at a module's top level) is an error.

Standard-library modules and hotline's own are skipped. A name that no installed
distribution provides is an error unless the import is guarded (lazy or try/except), since
then it cannot be checked. Exit codes: 0 clean, 1 problems found, 2 usage error.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OWN_PACKAGE = "hotline"


def normalise(name: str) -> str:
    """PEP 503 form of a distribution name: `Pillow` and `pillow`, `a_b` and `a-b` agree."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """`uvicorn[standard]>=0.30,<1` -> `uvicorn` (no `packaging` needed at run time)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise ValueError(f"cannot read a name from requirement {requirement!r}")
    return normalise(match.group(1))


@dataclass(frozen=True)
class Declared:
    runtime: frozenset[str]
    extras: Mapping[str, frozenset[str]]  # extra -> distributions
    extra_modules: Mapping[str, frozenset[str]]  # extra -> modules that belong to it

    def extras_of(self, distribution: str) -> list[str]:
        return sorted(extra for extra, names in self.extras.items() if distribution in names)


def read_declared(pyproject: Path) -> Declared:
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    project = data["project"]
    extras = {
        extra: frozenset(requirement_name(r) for r in reqs)
        for extra, reqs in project.get("optional-dependencies", {}).items()
    }
    owned = data.get("tool", {}).get("hotline", {}).get("extra-modules", {})
    return Declared(
        runtime=frozenset(requirement_name(r) for r in project.get("dependencies", [])),
        extras=extras,
        extra_modules={extra: frozenset(mods) for extra, mods in owned.items()},
    )


@dataclass(frozen=True)
class Import:
    top: str  # top-level name: `threatexchange` for `from threatexchange.x import y`
    line: int
    guarded: bool  # inside a function body or a try whose handlers catch ImportError


def _catches_import_error(node: ast.Try) -> bool:
    for handler in node.handlers:
        names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        for name in names:
            if name is None or (
                isinstance(name, ast.Name)
                and name.id in ("ImportError", "ModuleNotFoundError", "Exception")
            ):
                return True
    return False


def imports_of(tree: ast.AST) -> Iterator[Import]:
    """Every absolute import in `tree`, marked guarded where a missing module is survivable."""

    def walk(node: ast.AST, guarded: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            yield from visit(child, guarded)

    def visit(node: ast.AST, guarded: bool) -> Iterator[Import]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name.split(".")[0], node.lineno, guarded)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                yield Import(node.module.split(".")[0], node.lineno, guarded)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from walk(node, True)
        elif isinstance(node, ast.Try) and _catches_import_error(node):
            for stmt in node.body:
                yield from visit(stmt, True)
            for part in (*node.handlers, *node.orelse, *node.finalbody):
                yield from visit(part, guarded)
        elif (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Name | ast.Attribute)
            and ast.unparse(node.test).endswith("TYPE_CHECKING")
        ):
            for stmt in node.body:  # never runs: for type checkers only
                yield from visit(stmt, True)
            for stmt in node.orelse:
                yield from visit(stmt, guarded)
        else:
            yield from walk(node, guarded)

    yield from walk(tree, False)


def module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def check(
    src: Path,
    declared: Declared,
    providers: Mapping[str, list[str]],
) -> list[str]:
    """Problems found, one line each (`path:line: message`)."""
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    problems: list[str] = []
    for path in sorted((src / OWN_PACKAGE).rglob("*.py")):
        module = module_name(path, src)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        where = path.relative_to(src.parent) if src.parent in path.parents else path
        seen: set[tuple[str, bool]] = set()  # one line per name and kind in a module
        for imp in imports_of(tree):
            if imp.top in stdlib or imp.top == OWN_PACKAGE or (imp.top, imp.guarded) in seen:
                continue
            seen.add((imp.top, imp.guarded))
            dists = sorted({normalise(d) for d in providers.get(imp.top, [])})
            if not dists:
                if not imp.guarded:
                    problems.append(
                        f"{where}:{imp.line}: `{imp.top}` is imported but no installed "
                        "distribution provides it (declare and install it, or guard the import)"
                    )
                continue
            if any(d in declared.runtime for d in dists):
                continue
            extras = sorted({e for d in dists for e in declared.extras_of(d)})
            if not extras:
                problems.append(
                    f"{where}:{imp.line}: `{imp.top}` (distribution {', '.join(dists)}) is "
                    "imported but not declared in [project.dependencies]"
                )
                continue
            owns = any(module in declared.extra_modules.get(e, ()) for e in extras)
            if not (imp.guarded or owns):
                problems.append(
                    f"{where}:{imp.line}: `{imp.top}` is only in the optional extra(s) "
                    f"{', '.join(extras)} but is imported at module level; import it lazily, "
                    "guard it with `except ImportError`, or list this module under "
                    "[tool.hotline.extra-modules]"
                )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="folder holding hotline/")
    parser.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    args = parser.parse_args(argv)
    if not (args.src / OWN_PACKAGE).is_dir() or not args.pyproject.is_file():
        print(f"error: no {args.src / OWN_PACKAGE} or no {args.pyproject}", file=sys.stderr)
        return 2
    problems = check(args.src, read_declared(args.pyproject), packages_distributions())
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} undeclared import(s)", file=sys.stderr)
        return 1
    print("imports: every imported distribution is declared")
    return 0


if __name__ == "__main__":
    sys.exit(main())

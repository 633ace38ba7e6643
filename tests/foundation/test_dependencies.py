"""Dependencies: declared with bounds, locked, imported only where declared, optional extras
truly optional, and the audit step's verdicts (docs/development.md)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
OWN = canonicalize_name(PROJECT["name"])
# Distributions of this repository (the member client): installed from their folder by
# scripts/setup.sh, left out of the lock (scripts/lock.sh --no-emit-package).
LOCAL = {canonicalize_name(n) for n in PYPROJECT["tool"].get("uv", {}).get("sources", {})}


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


check_imports = _script("check_imports")
audit_deps = _script("audit_deps")


def _requirements() -> list[tuple[str, Requirement]]:
    found = [("dependencies", Requirement(r)) for r in PROJECT["dependencies"]]
    for extra, reqs in PROJECT["optional-dependencies"].items():
        found += [(extra, Requirement(r)) for r in reqs]
    return found


def _locked(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) from a hashed requirements file."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    pins: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        match = re.match(r"([A-Za-z0-9._-]+)(\[[^\]]*\])?==(\S+)(.*)", line)
        if match:
            hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", match.group(4))
            pins[canonicalize_name(match.group(1))] = (match.group(3), hashes)
    return pins


# --- pyproject: declared, bounded ---------------------------------------------------------


@pytest.mark.parametrize(("group", "req"), _requirements(), ids=lambda v: str(v))
def test_every_requirement_has_a_floor_and_a_ceiling(group: str, req: Requirement) -> None:
    if canonicalize_name(req.name) == OWN:
        assert not req.specifier, "a self-reference names extras only"
        return
    operators = {spec.operator for spec in req.specifier}
    assert ">=" in operators and "<" in operators, f"{group}: {req} needs >=floor,<ceiling"
    floor = next(s.version for s in req.specifier if s.operator == ">=")
    ceiling = next(s.version for s in req.specifier if s.operator == "<")
    assert not req.specifier.contains(ceiling) and req.specifier.contains(floor)


def test_python_multipart_floor_excludes_the_known_dos_releases() -> None:
    (req,) = [r for _, r in _requirements() if r.name == "python-multipart"]
    for vulnerable in ("0.0.9", "0.0.17", "0.0.26", "0.0.30"):  # CVE-2024-53981 and later
        assert not req.specifier.contains(vulnerable)
    assert req.specifier.contains("0.0.31")


def test_optional_pieces_are_extras_not_dependencies() -> None:
    runtime = {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]}
    assert "numba" not in runtime and "threatexchange" not in runtime
    extras = PROJECT["optional-dependencies"]
    # requests and urllib3 come with threatexchange; the exchange feeds' clients use them
    # directly (their guarded sessions), so the extra names them too.
    names = [Requirement(r).name for r in extras["threatexchange"]]
    assert names == ["threatexchange", "requests", "urllib3"]
    assert [Requirement(r).name for r in extras["numba"]] == ["numba"]
    owned = PYPROJECT["tool"]["hotline"]["extra-modules"]
    assert owned == {"threatexchange": ["hotline.lists.te_exchange", "hotline.lists.feed_clients"]}


# --- the lock ---------------------------------------------------------------------------


@pytest.mark.parametrize("lock", ["runtime", "dev"])
def test_lock_pins_every_requirement_within_its_bounds_with_hashes(lock: str) -> None:
    """Fails when a dependency is added or re-bounded without `bash scripts/lock.sh`."""
    pins = _locked(ROOT / "requirements" / f"{lock}.txt")
    groups = {"dependencies", "numba"} if lock == "runtime" else None
    wanted = [r for g, r in _requirements() if groups is None or g in groups]
    for req in wanted:
        name = canonicalize_name(req.name)
        if name == OWN:
            continue
        if name in LOCAL:
            assert name not in pins, f"{name} comes from this repository, not the lock"
            continue
        assert name in pins, f"{req.name} is not in requirements/{lock}.txt: bash scripts/lock.sh"
        version, _ = pins[name]
        assert req.specifier.contains(version, prereleases=True), (
            f"{name}=={version} in requirements/{lock}.txt is outside {req}: bash scripts/lock.sh"
        )
    assert all(hashes for _, hashes in pins.values()), "every pin carries its hashes"
    assert "threatexchange" not in pins or lock == "dev"


def test_dev_lock_keeps_the_runtime_versions() -> None:
    runtime = _locked(ROOT / "requirements" / "runtime.txt")
    dev = _locked(ROOT / "requirements" / "dev.txt")
    assert {n: runtime[n][0] for n in runtime} == {n: dev[n][0] for n in runtime}


def test_build_lock_pins_the_build_system() -> None:
    pins = _locked(ROOT / "requirements" / "build.txt")
    for requirement in PYPROJECT["build-system"]["requires"]:
        req = Requirement(requirement)
        name = canonicalize_name(req.name)
        assert name in pins and req.specifier.contains(pins[name][0]), "bash scripts/lock.sh"
    assert all(hashes for _, hashes in pins.values())


def test_setup_installs_from_the_lock_and_reinstalls_when_it_changes() -> None:
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert '--require-hashes -r requirements/build.txt -r "$lock"' in setup
    assert "--no-deps --no-build-isolation -e ." in setup
    assert "--no-deps --no-build-isolation -e clients/python" in setup  # LOCAL, before the server
    # the stamp is the locks' and pyproject's checksum
    assert 'cat requirements/build.txt "$lock" pyproject.toml | sha256sum' in setup


# --- imports: every one declared --------------------------------------------------------


def test_check_imports_passes_on_the_tree() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_imports.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _fake_tree(tmp_path: Path, files: dict[str, str]) -> Path:
    src = tmp_path / "src"
    for name, body in {"hotline/__init__.py": "", **files}.items():
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body), encoding="utf-8")
    return src


DECLARED = check_imports.Declared(
    runtime=frozenset({"numpy"}),
    extras={"numba": frozenset({"numba"}), "dev": frozenset({"pytest"})},
    extra_modules={"numba": frozenset({"hotline.fast"})},
)
PROVIDERS = {"numpy": ["numpy"], "numba": ["numba"], "pytest": ["pytest"], "yaml": ["PyYAML"]}


def test_check_imports_flags_undeclared_and_unguarded_extra_imports(tmp_path: Path) -> None:
    src = _fake_tree(
        tmp_path,
        {
            "hotline/ok.py": """
                import os, json
                import numpy as np
                from hotline import ok
                from . import ok as again
                def lazy():
                    import numba
                try:
                    import numba
                except ImportError:
                    numba = None
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    import pytest
            """,
            "hotline/fast.py": "import numba\n",
            "hotline/bad.py": """
                import yaml
                import pytest
                from numba import njit
                import nowhere_to_be_found
                def fine():
                    import not_installed_but_lazy
            """,
        },
    )
    problems = check_imports.check(src, DECLARED, PROVIDERS)
    assert len(problems) == 4, problems
    joined = "\n".join(problems)
    assert "hotline/bad.py:2: `yaml` (distribution pyyaml) is imported but not declared" in joined
    assert "hotline/bad.py:3: `pytest` is only in the optional extra(s) dev" in joined
    assert "hotline/bad.py:4: `numba` is only in the optional extra(s) numba" in joined
    assert "hotline/bad.py:5: `nowhere_to_be_found` is imported but no installed" in joined
    assert "ok.py" not in joined and "fast.py" not in joined


def test_check_imports_catches_a_bare_except_only_when_it_catches_import_errors(
    tmp_path: Path,
) -> None:
    src = _fake_tree(
        tmp_path,
        {
            "hotline/a.py": """
                try:
                    import numba
                except ValueError:
                    pass
            """
        },
    )
    assert len(check_imports.check(src, DECLARED, PROVIDERS)) == 1


def test_check_imports_cli_exit_codes(tmp_path: Path) -> None:
    src = _fake_tree(tmp_path, {"hotline/a.py": "import definitely_not_a_dist_xyz\n"})
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = []\n', encoding="utf-8"
    )
    args = ["--src", str(src), "--pyproject", str(tmp_path / "pyproject.toml")]
    assert check_imports.main(args) == 1
    assert check_imports.main(["--src", str(tmp_path / "nothing"), *args[2:]]) == 2


# --- optional extras are optional for real ----------------------------------------------

# Every hotline module is imported with threatexchange and numba made unimportable; only the
# threatexchange plug-in itself may fail. A meta-path finder that raises beats uninstalling.
_IMPORT_ALL = """
import importlib, json, pkgutil, sys

BLOCKED = ("threatexchange", "numba")

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked for this test")
        return None

sys.meta_path.insert(0, Block())
import hotline

failed = {}
names = []
def onerror(name):
    failed[name] = repr(sys.exc_info()[1])
for info in pkgutil.walk_packages(hotline.__path__, "hotline.", onerror=onerror):
    if info.name.endswith("__main__"):
        continue  # runs the CLI
    names.append(info.name)
    try:
        importlib.import_module(info.name)
    except Exception as exc:
        failed[info.name] = repr(exc)
print(json.dumps({"imported": names, "failed": failed,
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)}))
"""


def test_every_module_imports_without_threatexchange_and_numba() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(result["imported"]) > 150  # the walk really covered the package
    # The modules [tool.hotline.extra-modules] names as the threatexchange extra's own.
    extra_only = {"hotline.lists.te_exchange", "hotline.lists.feed_clients"}
    assert set(result["failed"]) == extra_only, result["failed"]
    assert all("threatexchange is blocked" in result["failed"][m] for m in extra_only)
    assert result["loaded"] == []


# With numba switched off, the PDQ reference vectors still hash exactly and the index still
# finds what brute force finds: the numpy back ends are the real fallback.
_NO_NUMBA = """
import csv, json, sys
from pathlib import Path
import numpy as np
from hotline.hashing import jarosz, pdq_from_file
from hotline.index import kernels
from hotline.index import PDQIndex

pdq_dir = Path("tests/data/pdq")
with (pdq_dir / "expected.csv").open(newline="") as handle:
    rows = list(csv.DictReader(handle))
mismatched = []
for row in rows:
    got = pdq_from_file(pdq_dir / row["path"])
    if (got.hex, got.quality) != (row["pdq_hex"], int(row["quality"])):
        mismatched.append(row["path"])

rng = np.random.default_rng(7)
words = rng.integers(0, 2**63, size=(500, 4), dtype=np.uint64)
index = PDQIndex.build(np.arange(500, dtype=np.int64), words, chunks=16)
query = words[42].copy()
query[0] ^= np.uint64(0b1011)
found = index.search(query, 31, strategy="multi_index")  # the kernel's numpy twin
print(json.dumps({
    "vectors": len(rows), "mismatched": mismatched,
    "backends": list(jarosz.BACKENDS), "search_one": kernels.search_one is not None,
    "numba_loaded": "numba" in sys.modules, "found": [int(i) for i, _ in found],
}))
"""


def test_hashes_and_index_search_without_numba() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _NO_NUMBA],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**_env(), "HOTLINE_DISABLE_NUMBA": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["vectors"] == 17 and result["mismatched"] == []
    assert result["backends"] == ["numpy"] and result["search_one"] is False
    assert result["numba_loaded"] is False
    assert result["found"] == [42]


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "HOTLINE_DISABLE_NUMBA"}


@pytest.mark.parametrize(
    ("value", "off"), [("1", True), ("true", True), ("on", True), ("", False), ("0", False)]
)
def test_disable_numba_switch(monkeypatch: pytest.MonkeyPatch, value: str, off: bool) -> None:
    from hotline import compiled

    monkeypatch.setenv("HOTLINE_DISABLE_NUMBA", value)
    assert compiled.disabled() is off
    assert (compiled.load_numba() is None) is off


# --- the audit step's verdicts ----------------------------------------------------------

TODAY = dt.date(2026, 12, 4)


def _report(*deps: dict) -> str:
    return json.dumps({"dependencies": list(deps), "fixes": []})


VULN = {
    "name": "python-multipart",
    "version": "0.0.17",
    "vulns": [{"id": "GHSA-59g5-xgcq-4qw3", "aliases": ["CVE-2024-53981"], "description": "DoS"}],
}
CLEAN = {"name": "fastapi", "version": "0.165.0", "vulns": []}
SKIPPED = {"name": "alembic", "skip_reason": "Dependency not found on PyPI: alembic (1.20.1)"}


def _audit(
    tmp_path: Path,
    answers: dict[str, tuple[int, str, str]],
    records: dict[str, dict | None] | None = None,
    lock_text: str = "",
) -> audit_deps.Outcome:
    lock = tmp_path / "runtime.txt"
    lock.write_text(lock_text, encoding="utf-8")

    def run(args: list[str]) -> tuple[int, str, str]:
        return answers[args[args.index("--vulnerability-service") + 1]]

    def fetch(name: str) -> dict | None:
        return (records or {})[name]  # a KeyError: a lookup the test did not expect

    return audit_deps.audit_lock(lock, run, fetch)


def test_audit_fails_on_a_known_vulnerability(tmp_path: Path) -> None:
    outcome = _audit(tmp_path, {"pypi": (1, _report(VULN, CLEAN), "")})
    code, lines = audit_deps.judge({"runtime": outcome}, [], TODAY)
    assert code == 1
    assert any("VULNERABLE python-multipart==0.0.17: GHSA-59g5-xgcq-4qw3" in x for x in lines)


def test_audit_ignore_hides_until_it_expires(tmp_path: Path) -> None:
    outcome = _audit(tmp_path, {"pypi": (1, _report(VULN), "")})
    ignore = [audit_deps.Ignore("CVE-2024-53981", dt.date(2026, 12, 31), "not reachable")]
    assert audit_deps.judge({"r": outcome}, ignore, TODAY)[0] == 0
    code, lines = audit_deps.judge({"r": outcome}, ignore, dt.date(2027, 1, 1))
    assert code == 1 and any("its ignore expired 2026-12-31" in x for x in lines)


def test_audit_without_any_service_says_so_and_passes(tmp_path: Path) -> None:
    outcome = _audit(
        tmp_path,
        {
            "pypi": (0, _report(SKIPPED), ""),
            "osv": (1, "", "Traceback ...\nrequests.exceptions.ConnectionError: no DNS"),
        },
    )
    code, lines = audit_deps.judge({"runtime": outcome}, [], TODAY)
    text = "\n".join(lines)
    assert code == 0
    assert "0 of 1 packages checked" in text
    assert "NOT CHECKED (1 packages; this is not a pass): alembic" in text
    assert "service osv did not answer: requests.exceptions.ConnectionError: no DNS" in text


def test_audit_falls_back_to_the_next_service_for_what_was_skipped(tmp_path: Path) -> None:
    outcome = _audit(
        tmp_path,
        {"pypi": (0, _report(SKIPPED, CLEAN), ""), "osv": (1, _report(CLEAN, VULN), "")},
    )
    assert outcome.checked == {"fastapi": "pypi", "python-multipart": "osv"}
    assert outcome.unchecked == {"alembic": SKIPPED["skip_reason"]}
    assert audit_deps.judge({"r": outcome}, [], TODAY)[0] == 1


LOCK = (
    "alembic==1.20.1 \\\n    --hash=sha256:" + "a" * 64 + "\n"
    "psycopg[binary]==3.3.9 \\\n    --hash=sha256:" + "b" * 64 + "\n"
    "python-multipart==0.0.34 \\\n    --hash=sha256:" + "c" * 64 + "\n"
)
NO_SERVICE = {
    "pypi": (0, _report(SKIPPED), ""),
    "osv": (1, "", "requests.exceptions.ConnectionError: no DNS"),
}


def _record(version: str, *vulns: dict) -> dict:
    return {"info": {"version": version}, "vulnerabilities": list(vulns)}


def test_locked_versions_reads_pins_with_extras_and_hashes(tmp_path: Path) -> None:
    lock = tmp_path / "lock.txt"
    lock.write_text(LOCK + "    # via hotline\n", encoding="utf-8")
    assert audit_deps.locked_versions(lock) == {
        "alembic": "1.20.1",
        "psycopg": "3.3.9",
        "python-multipart": "0.0.34",
    }


def test_project_record_checks_pins_at_the_newest_release_only(tmp_path: Path) -> None:
    advisory = {"id": "PYSEC-1", "aliases": ["CVE-1"], "summary": "bad", "withdrawn": None}
    withdrawn = {"id": "PYSEC-2", "aliases": [], "summary": "x", "withdrawn": "2026-01-01"}
    outcome = _audit(
        tmp_path,
        NO_SERVICE,
        {
            "alembic": _record("1.20.1"),
            "psycopg": _record("3.4.0", advisory),  # newer release: says nothing of 3.3.9
            "python-multipart": _record("0.0.34", advisory, withdrawn),
        },
        LOCK,
    )
    assert outcome.checked == {"alembic": "pypi-latest", "python-multipart": "pypi-latest"}
    assert "psycopg is locked at 3.3.9" in outcome.unchecked["psycopg"]
    code, lines = audit_deps.judge({"runtime": outcome}, [], TODAY)
    assert code == 1
    assert [x for x in lines if "VULNERABLE" in x] == [
        "  VULNERABLE python-multipart==0.0.34: PYSEC-1 bad"
    ]


def test_project_record_that_does_not_answer_leaves_the_pin_unchecked(tmp_path: Path) -> None:
    outcome = _audit(
        tmp_path,
        NO_SERVICE,
        {"alembic": None, "psycopg": _record("3.3.9"), "python-multipart": _record("0.0.34")},
        LOCK,
    )
    assert set(outcome.checked) == {"psycopg", "python-multipart"}
    assert outcome.unchecked == {"alembic": "PyPI's project record for alembic did not answer"}
    assert audit_deps.judge({"runtime": outcome}, [], TODAY)[0] == 0


@pytest.mark.parametrize(
    "body",
    [
        '[[ignore]]\nuntil = 2027-01-01\nreason = "r"\n',
        '[[ignore]]\nid = "X"\nuntil = "soon"\nreason = "r"\n',
        '[[ignore]]\nid = "X"\nuntil = 2027-01-01\n',
        "[[ignore]\n",
    ],
)
def test_audit_ignore_file_must_be_complete(tmp_path: Path, body: str) -> None:
    path = tmp_path / "ignore.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(audit_deps.UsageError):
        audit_deps.read_ignores(path)
    assert audit_deps.main(["--ignore-file", str(path), str(tmp_path / "none.txt")]) == 2


def test_shipped_ignore_file_is_valid() -> None:
    for entry in audit_deps.read_ignores(audit_deps.IGNORE_FILE):
        assert entry.reason

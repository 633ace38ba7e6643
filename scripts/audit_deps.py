"""Audit the locked dependencies for known vulnerabilities with pip-audit.

Run `.venv/bin/python scripts/audit_deps.py` (CI does). For each lock file (default
requirements/runtime.txt and requirements/dev.txt) it asks pip-audit's services in turn,
PyPI's first, then OSV, until every locked package has been checked by one of them. What is
still unchecked then is looked up in PyPI's project record (`/pypi/NAME/json`), whose
`vulnerabilities` describe the newest release only: it checks a package locked at that
release, and leaves an older pin unchecked.

- A known vulnerability that is not ignored fails (exit 1).
- `requirements/audit-ignore.toml` lists vulnerabilities we accept for a while, each with a
  reason and an expiry date; an expired entry no longer hides anything.
- When no service answers for a package (no network, a mirror without the vulnerability
  data), the step says plainly which packages went unchecked and why, and does not fail:
  a network flake must not fail the build. Unchecked is not a pass, and it says so.
- A malformed ignore file or a missing lock is a usage error (exit 2).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tomllib
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCKS = (ROOT / "requirements" / "runtime.txt", ROOT / "requirements" / "dev.txt")
IGNORE_FILE = ROOT / "requirements" / "audit-ignore.toml"
SERVICES = ("pypi", "osv")


def _registry_json_base() -> str:
    """The registry's JSON API beside its simple index: PIP_INDEX_URL, else pip's default."""
    index = os.environ.get("PIP_INDEX_URL", "")
    if not index:
        from pip._internal.models.index import PyPI  # pip's own default index

        index = PyPI.simple_url
    return index.rstrip("/").removesuffix("/simple") + "/pypi"


PYPI_JSON = _registry_json_base()
LATEST = "pypi-latest"  # the project record's vulnerabilities of the newest release
TIMEOUT_S = 120  # a hung service is reported as unchecked, not waited on


class UsageError(Exception):
    pass


@dataclass(frozen=True)
class Ignore:
    id: str
    until: dt.date
    reason: str


def read_ignores(path: Path) -> list[Ignore]:
    """`[[ignore]]` tables with `id`, `until` (a TOML date) and `reason`; all three required."""
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: {exc}") from exc
    ignores = []
    for n, entry in enumerate(data.get("ignore", []), 1):
        vuln_id, until, reason = entry.get("id"), entry.get("until"), entry.get("reason")
        if not isinstance(vuln_id, str) or not vuln_id.strip():
            raise UsageError(f"{path}: ignore #{n} needs an `id`")
        if not isinstance(until, dt.date) or isinstance(until, dt.datetime):
            raise UsageError(f"{path}: ignore {vuln_id} needs `until`, a date (2027-01-31)")
        if not isinstance(reason, str) or not reason.strip():
            raise UsageError(f"{path}: ignore {vuln_id} needs a `reason`")
        ignores.append(Ignore(vuln_id.strip(), until, reason.strip()))
    return ignores


@dataclass
class Outcome:
    """What one lock's audit found, merged over the services asked."""

    checked: dict[str, str] = field(default_factory=dict)  # package -> service
    unchecked: dict[str, str] = field(default_factory=dict)  # package -> why
    vulns: list[tuple[str, str, str, list[str]]] = field(default_factory=list)
    service_errors: dict[str, str] = field(default_factory=dict)  # service -> error

    def merge(self, service: str, report: dict) -> None:
        """Fold in one pip-audit JSON report (`--format json`)."""
        for dep in report.get("dependencies", []):
            name = dep["name"]  # a skipped package's entry carries no version
            if "skip_reason" in dep:
                if name not in self.checked:
                    self.unchecked[name] = dep["skip_reason"]
                continue
            if name in self.checked:
                continue
            self.checked[name] = service
            self.unchecked.pop(name, None)
            for vuln in dep.get("vulns", []):
                ids = [vuln["id"], *vuln.get("aliases", [])]
                pinned = f"{name}=={dep.get('version', '?')}"
                self.vulns.append((pinned, vuln["id"], vuln.get("description", ""), ids))


Runner = Callable[[Sequence[str]], tuple[int, str, str]]


def run_pip_audit(args: Sequence[str]) -> tuple[int, str, str]:
    try:
        proc = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [sys.executable, "-m", "pip_audit", *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return 124, "", f"pip-audit timed out after {TIMEOUT_S} s"
    return proc.returncode, proc.stdout, proc.stderr


def locked_versions(lock: Path) -> dict[str, str]:
    """name -> version for every `name==version` pin (names as pip-audit reports them)."""
    pins = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = re.match(r"([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
        if match:
            pins[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return pins


Fetch = Callable[[str], dict | None]


def fetch_project(name: str) -> dict | None:
    """PyPI's project record, or None when it cannot be had."""
    url = f"{PYPI_JSON}/{name}/json"
    try:
        with urllib.request.urlopen(url, timeout=15) as response:  # noqa: S310 - the registry's https URL
            return json.load(response)
    except (OSError, ValueError):
        return None


def check_latest(
    outcome: Outcome, pins: dict[str, str], names: Iterable[str], fetch: Fetch = fetch_project
) -> None:
    """Check pins equal to their project's newest release against its record's vulnerabilities."""
    names = [n for n in names if n in pins]
    with ThreadPoolExecutor(max_workers=8) as pool:
        records = dict(zip(names, pool.map(fetch, names), strict=True))
    for name, record in records.items():
        if record is None:
            outcome.unchecked[name] = f"PyPI's project record for {name} did not answer"
            continue
        newest = str(record.get("info", {}).get("version", ""))
        if newest != pins[name]:
            outcome.unchecked[name] = (
                f"{name} is locked at {pins[name]}; PyPI's project record covers only the newest "
                f"release, {newest or '?'}"
            )
            continue
        outcome.merge(
            LATEST,
            {
                "dependencies": [
                    {
                        "name": name,
                        "version": pins[name],
                        "vulns": [
                            {
                                "id": v["id"],
                                "aliases": v.get("aliases") or [],
                                "description": v.get("summary") or v.get("details") or "",
                            }
                            for v in record.get("vulnerabilities") or []
                            if not v.get("withdrawn")
                        ],
                    }
                ]
            },
        )


def audit_lock(lock: Path, run: Runner = run_pip_audit, fetch: Fetch = fetch_project) -> Outcome:
    outcome = Outcome()
    for service in SERVICES:
        code, out, err = run(
            [
                "-r", str(lock), "--require-hashes", "--disable-pip", "--format", "json",
                "--progress-spinner", "off", "--vulnerability-service", service,
            ]
        )  # fmt: skip
        try:
            report = json.loads(out)
        except ValueError:
            last = (err.strip().splitlines() or [f"exit {code}, no output"])[-1]
            outcome.service_errors[service] = last[:300]
            continue
        outcome.merge(service, report)
        if outcome.checked and not outcome.unchecked:
            break
    pins = locked_versions(lock)
    rest = [name for name in pins if name not in outcome.checked]
    if rest:
        check_latest(outcome, pins, rest, fetch)
    return outcome


def judge(
    outcomes: dict[str, Outcome], ignores: list[Ignore], today: dt.date
) -> tuple[int, list[str]]:
    """Exit code and the lines to print."""
    active = {i.id: i for i in ignores if i.until >= today}
    expired = {i.id: i for i in ignores if i.until < today}
    lines: list[str] = []
    failed = False
    for lock, outcome in outcomes.items():
        total = len(outcome.checked) + len(outcome.unchecked)
        services = sorted(set(outcome.checked.values()))
        lines.append(
            f"audit {lock}: {len(outcome.checked)} of {total} packages checked"
            + (f" (by {', '.join(services)})" if services else "")
        )
        for name, vuln_id, description, ids in outcome.vulns:
            hit = next((active[i] for i in ids if i in active), None)
            if hit is not None:
                lines.append(f"  ignored {vuln_id} in {name} until {hit.until}: {hit.reason}")
                continue
            failed = True
            gone = [expired[i].until for i in ids if i in expired]
            note = f" (its ignore expired {gone[0]})" if gone else ""
            lines.append(f"  VULNERABLE {name}: {vuln_id}{note} {description[:200]}")
        if outcome.unchecked:
            lines.append(
                f"  NOT CHECKED ({len(outcome.unchecked)} packages; this is not a pass): "
                + ", ".join(sorted(outcome.unchecked)[:8])
                + (" ..." if len(outcome.unchecked) > 8 else "")
            )
            for name in sorted(outcome.unchecked)[:8]:
                lines.append(f"    {outcome.unchecked[name]}")
        for service, error in outcome.service_errors.items():
            lines.append(f"  service {service} did not answer: {error}")
        if total == 0:
            lines.append("  NOT CHECKED: no vulnerability service answered from this machine")
    if failed:
        lines.append("audit: known vulnerabilities found (upgrade, or add a dated ignore)")
    return (1 if failed else 0), lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("locks", nargs="*", type=Path, default=list(LOCKS))
    parser.add_argument("--ignore-file", type=Path, default=IGNORE_FILE)
    args = parser.parse_args(argv)
    try:
        ignores = read_ignores(args.ignore_file)
        missing = [str(lock) for lock in args.locks if not lock.is_file()]
        if missing:
            raise UsageError(f"no lock file {', '.join(missing)}")
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    outcomes = {
        str(lock.relative_to(ROOT) if ROOT in lock.resolve().parents else lock): audit_lock(lock)
        for lock in args.locks
    }
    code, lines = judge(outcomes, ignores, dt.datetime.now(dt.UTC).date())
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main())

"""Other jurisdictions' categories, derived from a UK grade by rules held as data.

Each rules file (grading/rules/*.json) is an ordered list of {"when": {field: [values]},
"then": value}; the first rule whose every field matches gives the value. A hotline adds a
jurisdiction by adding a file, and changes one by editing it: no code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hotline.grading.model import Grade

RULES_DIR = Path(__file__).parent / "rules"
_FIELDS = {
    "category",
    "age_band",
    "sex",
    "self_generated",
    "non_photographic",
    "grid",
    "child_present",
}


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Rule:
    when: dict[str, tuple[Any, ...]]
    then: str


@dataclass(frozen=True)
class Jurisdiction:
    name: str
    label: str
    rules: tuple[Rule, ...]

    def derive(self, grade: Grade) -> str:
        fields = grade.as_fields()
        for rule in self.rules:
            if all(fields[key] in allowed for key, allowed in rule.when.items()):
                return rule.then
        raise RulesError(f"{self.name}: no rule matched; end the list with a catch-all")


def parse_rules(data: Any, source: str) -> Jurisdiction:
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RulesError(f"{source}: needs an object with a 'rules' list")
    rules = []
    for i, raw in enumerate(data["rules"]):
        when = raw.get("when") if isinstance(raw, dict) else None
        then = raw.get("then") if isinstance(raw, dict) else None
        if not isinstance(when, dict) or not isinstance(then, str):
            raise RulesError(f"{source}: rule {i} needs 'when' (object) and 'then' (text)")
        unknown = set(when) - _FIELDS
        if unknown:
            raise RulesError(f"{source}: rule {i} names unknown fields {sorted(unknown)}")
        if not all(isinstance(v, list) for v in when.values()):
            raise RulesError(f"{source}: rule {i}: each condition is a list of allowed values")
        rules.append(Rule({k: tuple(v) for k, v in when.items()}, then))
    if not rules or rules[-1].when:
        raise RulesError(f"{source}: the last rule must be a catch-all (empty 'when')")
    return Jurisdiction(str(data.get("name", source)), str(data.get("label", source)), tuple(rules))


@cache
def jurisdictions(rules_dir: Path = RULES_DIR) -> tuple[Jurisdiction, ...]:
    found = []
    for path in sorted(rules_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise RulesError(f"{path.name}: not valid JSON ({exc})") from exc
        found.append(parse_rules(data, path.name))
    return tuple(found)


def derive_all(grade: Grade, rules_dir: Path = RULES_DIR) -> dict[str, str]:
    """Every jurisdiction's value for this grade, keyed by jurisdiction name."""
    return {j.name: j.derive(grade) for j in jurisdictions(rules_dir)}

"""docs/roles.md shows the role table as `ROLE_ACTIONS` has it, and the staff navigation
never offers a link its route would refuse."""

from __future__ import annotations

from pathlib import Path

from hotline.security.permissions import ROLE_ACTIONS, Action, Actor, Role
from hotline.web import staff_nav

DOC = Path(__file__).resolve().parents[2] / "docs" / "roles.md"


def _documented() -> dict[Role, set[Action]]:
    lines = DOC.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| action |"))
    rows = []
    for line in lines[start:]:  # the first table only
        if not line.startswith("| "):
            break
        rows.append(line)
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    roles = [Role(name) for name in header[1:]]
    table: dict[Role, set[Action]] = {role: set() for role in roles}
    for line in rows[1:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0] == "---":
            continue
        action = Action(cells[0].strip("`"))
        for role, cell in zip(roles, cells[1:], strict=True):
            if cell == "yes":
                table[role].add(action)
    return table


def test_the_documented_table_is_the_code_table() -> None:
    documented = _documented()
    assert set(documented) == set(Role)
    for role in Role:
        assert documented[role] == set(ROLE_ACTIONS[role]), role


def test_every_action_has_a_row() -> None:
    text = DOC.read_text()
    assert all(f"| `{action.value}` |" in text for action in Action)


def test_navigation_follows_the_permission_check() -> None:
    admin = Actor(1, "a", frozenset({Role.admin}), mfa_passed=True)
    editor = Actor(2, "e", frozenset({Role.content_editor}), mfa_passed=True)
    admin_links = {item.href for item in staff_nav.items_for(admin)}
    assert {"/staff/users", "/staff/members", "/staff/lists", "/staff/takedown"} <= admin_links
    assert "/staff/grading" not in admin_links
    assert {item.href for item in staff_nav.items_for(editor)} == {
        "/staff",
        "/staff/wellbeing",
        "/staff/advice",
    }
    # Password alone, or nobody: no staff navigation at all.
    assert staff_nav.items_for(Actor(1, "a", frozenset({Role.admin}), mfa_passed=False)) == []
    assert staff_nav.items_for(None) == []

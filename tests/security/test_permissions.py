import pytest

from hotline.security.permissions import (
    ROLE_ACTIONS,
    Action,
    Actor,
    Role,
    allowed,
    parse_roles,
)


def actor(*roles: Role, mfa: bool = True, id: int = 1) -> Actor:
    return Actor(id=id, username=f"u{id}", roles=frozenset(roles), mfa_passed=mfa)


def test_anonymous_may_do_nothing() -> None:
    assert not any(allowed(None, action) for action in Action)


def test_second_factor_is_needed_for_everything() -> None:
    everyone = actor(*Role, mfa=False)
    assert not any(allowed(everyone, action) for action in Action)


@pytest.mark.parametrize(
    ("role", "action", "expected"),
    [
        (Role.analyst, Action.queue_view, True),
        (Role.analyst, Action.image_grade, True),
        (Role.analyst, Action.users_manage, False),
        (Role.analyst, Action.advice_edit, False),
        (Role.analyst, Action.grade_resolve, False),
        (Role.senior_analyst, Action.grade_resolve, True),
        (Role.content_editor, Action.advice_edit, True),
        (Role.content_editor, Action.queue_view, False),
        (Role.admin, Action.users_manage, True),
        (Role.admin, Action.image_grade, False),
        (Role.admin, Action.report_assess, False),
        (Role.admin, Action.taskforce_grade, False),
        (Role.admin, Action.takedown_manage, True),
        (Role.admin, Action.advice_edit, True),
        (Role.admin, Action.members_manage, True),
        (Role.admin, Action.lists_manage, True),
        (Role.taskforce_grader, Action.taskforce_grade, True),
        (Role.taskforce_grader, Action.queue_view, False),
        (Role.takedown_officer, Action.takedown_manage, True),
    ],
)
def test_role_matrix(role: Role, action: Action, expected: bool) -> None:
    assert allowed(actor(role), action) is expected


def test_every_role_has_a_home() -> None:
    assert all(Action.staff_home in actions for actions in ROLE_ACTIONS.values())
    assert set(ROLE_ACTIONS) == set(Role)


def test_admin_cannot_manage_own_account() -> None:
    admin = actor(Role.admin, id=7)
    assert allowed(admin, Action.users_manage, actor(Role.analyst, id=8))
    assert not allowed(admin, Action.users_manage, actor(Role.admin, id=7))


def test_parse_roles_names_unknown_roles() -> None:
    assert parse_roles("analyst, admin") == {Role.analyst, Role.admin}
    with pytest.raises(ValueError, match="superuser"):
        parse_roles("analyst,superuser")

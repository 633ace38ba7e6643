"""The staff home leads taskforce graders to their case sets, and only them."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient


def test_a_taskforce_grader_finds_case_sets_on_the_staff_home(
    login_as: Callable[[list[str]], TestClient],
) -> None:
    home = login_as(["taskforce_grader"]).get("/staff")
    assert home.status_code == 200 and 'href="/staff/taskforce"' in home.text


def test_an_analyst_sees_no_case_sets_tile(login_as: Callable[[list[str]], TestClient]) -> None:
    home = login_as(["analyst"]).get("/staff")
    assert home.status_code == 200 and "/staff/taskforce" not in home.text

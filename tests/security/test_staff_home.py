"""The staff home and navigation follow the permission check; actions confirm themselves with
a signed, one-time flash message in a status region; a forged flash shows nothing."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from hotline.web import flash
from tests.conftest import StaffFactory, csrf_from

Login = Callable[[list[str]], TestClient]


def test_navigation_shows_what_the_role_may_open(login_as: Login) -> None:
    client = login_as(["admin"])
    home = client.get("/staff").text
    nav = home.split('aria-label="Staff areas"')[1].split("</nav>")[0]
    for href in ("/staff/users", "/staff/members", "/staff/lists", "/staff/takedown"):
        assert f'href="{href}"' in nav
        assert client.get(href).status_code == 200  # every link it shows opens
    assert 'href="/staff/grading"' not in nav


def test_an_editor_sees_only_the_editor(client: TestClient, staff: StaffFactory) -> None:
    staff.login(client, ["content_editor"])
    home = client.get("/staff").text
    assert 'href="/staff/advice"' in home
    assert 'href="/staff/users"' not in home and 'href="/staff/queue"' not in home


def test_nobody_signed_in_sees_no_staff_navigation(client: TestClient) -> None:
    assert 'aria-label="Staff areas"' not in client.get("/report").text


def test_a_confirmation_is_shown_once_in_a_status_region(
    login_as: Login, staff: StaffFactory
) -> None:
    client = login_as(["admin"])
    other, _, _ = staff.create(["analyst"])
    token = csrf_from(client.get("/staff/users").text)
    done = client.post(
        f"/staff/users/{other}/reset-2fa", data={"csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303 and flash.COOKIE_NAME in done.headers["set-cookie"]
    assert other not in done.headers["set-cookie"]  # the cookie names no one
    page = client.get("/staff/users").text
    status = page.split('class="flash" role="status"')[1].split("</div>")[0]
    assert "Two-factor reset." in status
    assert "Two-factor reset." not in client.get("/staff/users").text


def test_a_forged_flash_shows_nothing(login_as: Login) -> None:
    client = login_as(["admin"])
    client.cookies.set(flash.COOKIE_NAME, "user.created.0000")
    assert "Account added." not in client.get("/staff").text
    client.cookies.set(flash.COOKIE_NAME, "user.created")
    assert "Account added." not in client.get("/staff").text


def test_failed_forms_keep_what_was_typed(login_as: Login) -> None:
    client = login_as(["admin"])
    token = csrf_from(client.get("/staff/users").text)
    bad = client.post(
        "/staff/users",
        data={
            "username": "new-person",
            "display_name": "New Person",
            "password": "short",
            "roles": ["analyst"],
            "csrf_token": token,
        },
    )
    assert bad.status_code == 422
    assert 'value="new-person"' in bad.text and 'value="New Person"' in bad.text
    assert "Account added." not in bad.text

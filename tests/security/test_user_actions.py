"""The staff-account actions (security/actions.py) on both databases: each writes, checks the one
permission, keeps its guards and writes its own audit entry; the page and the CLI are thin
callers that produce the same entry."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import Conflict, Forbidden, InvalidInput, NotFound
from hotline.security import actions, passwords, sessions, users
from hotline.security.crypto import sealer_for
from hotline.security.permissions import Actor, Role
from hotline.security.tables import AuditRow, StaffSessionRow, UserRow
from tests.conftest import StaffFactory, csrf_from, sign_in

PASSWORD = "a long enough passphrase"


def _actor(db: Database, username: str) -> Actor:
    with db.read() as session:
        return users.get_user(session, username).actor(mfa_passed=True)


def _entries(db: Database, action: str) -> list[tuple[str, str, dict[str, object]]]:
    with db.read() as session:
        rows = session.execute(
            select(AuditRow.actor, AuditRow.object_id, AuditRow.detail)
            .where(AuditRow.action == action)
            .order_by(AuditRow.seq)
        ).all()
    return [(r.actor, r.object_id, json.loads(r.detail)) for r in rows]


def _row(db: Database, username: str) -> UserRow:
    with db.read() as session:
        row = session.execute(select(UserRow).where(UserRow.username == username)).scalar_one()
        session.expunge(row)
        return row


def _session_count(db: Database, user_id: int) -> int:
    with db.read() as session:
        return len(
            session.execute(
                select(StaffSessionRow.token_hash).where(StaffSessionRow.user_id == user_id)
            ).all()
        )


@pytest.fixture
def admin(db: Database, staff: StaffFactory) -> Actor:
    username, _, _ = staff.create(["admin"])
    return _actor(db, username)


@pytest.fixture
def operator() -> Actor:
    return Actor.operator("tester")


def test_the_operator_holds_every_role_and_is_named_in_the_audit(operator: Actor) -> None:
    assert operator.username == "cli:tester" and operator.roles == frozenset(Role)
    assert operator.mfa_passed and operator.id == 0
    assert Actor.operator().username.startswith("cli:")


def test_create_user_audits_by_its_actor(db: Database, admin: Actor) -> None:
    with db.write() as session:
        created = actions.create_user(session, admin, "dana", PASSWORD, ["analyst"])
    assert created.roles == {Role.analyst}
    assert _entries(db, "user.created") == [
        (admin.username, str(created.id), {"username": "dana", "roles": ["analyst"]})
    ]


def test_create_user_refusals(db: Database, admin: Actor, staff: StaffFactory) -> None:
    analyst = _actor(db, staff.create(["analyst"])[0])
    with pytest.raises(Forbidden), db.write() as session:
        actions.create_user(session, analyst, "dana", PASSWORD, ["analyst"])
    with pytest.raises(InvalidInput) as bad, db.write() as session:
        actions.create_user(session, admin, "Not Valid!", "short", ["wizard"])
    assert {f.field for f in bad.value.fields} == {"username", "password", "roles"}
    with db.write() as session:
        actions.create_user(session, admin, "dana", PASSWORD, ["analyst"])
    with pytest.raises(Conflict), db.write() as session:
        actions.create_user(session, admin, "dana", PASSWORD, ["analyst"])
    assert len(_entries(db, "user.created")) == 1  # refusals leave no entry


def test_disable_ends_sessions_and_enable_restores(
    db: Database, admin: Actor, staff: StaffFactory
) -> None:
    target = _actor(db, staff.create(["analyst"])[0])
    with db.write() as session:
        sessions.create(session, target.id, mfa_passed=True, hours=1)
    assert _session_count(db, target.id) == 1
    with db.write() as session:
        assert actions.disable_user(session, admin, target.username).disabled
    assert _session_count(db, target.id) == 0
    with db.write() as session:
        assert not actions.enable_user(session, admin, target.username).disabled
    assert [e[0] for e in _entries(db, "user.disabled")] == [admin.username]
    assert [e[0] for e in _entries(db, "user.enabled")] == [admin.username]


def test_disable_refusals(db: Database, admin: Actor, staff: StaffFactory) -> None:
    analyst = _actor(db, staff.create(["analyst"])[0])
    with pytest.raises(NotFound), db.write() as session:
        actions.disable_user(session, admin, "ghost")
    with pytest.raises(Forbidden, match="own account"), db.write() as session:
        actions.disable_user(session, admin, admin.username)
    # Not permitted: refused before the account is even looked up.
    with pytest.raises(Forbidden), db.write() as session:
        actions.disable_user(session, analyst, "ghost")
    with pytest.raises(Forbidden), db.write() as session:
        actions.disable_user(session, analyst, admin.username)
    assert not _row(db, admin.username).disabled
    assert _entries(db, "user.disabled") == []


def test_the_last_active_admin_stays(db: Database, admin: Actor, operator: Actor) -> None:
    with pytest.raises(Conflict, match="last active admin"), db.write() as session:
        actions.disable_user(session, operator, admin.username)
    with pytest.raises(Conflict, match="last active admin"), db.write() as session:
        actions.set_roles(session, operator, admin.username, ["analyst"])
    assert not _row(db, admin.username).disabled
    assert _row(db, admin.username).roles == "admin"
    with db.write() as session:
        actions.create_user(session, operator, "second", PASSWORD, ["admin"])
    with db.write() as session:  # another admin now: allowed
        actions.set_roles(session, operator, admin.username, ["analyst"])
    with pytest.raises(Conflict), db.write() as session:  # "second" is now the last one
        actions.disable_user(session, operator, "second")
    with db.write() as session:  # a disabled admin does not count as standing
        actions.set_roles(session, operator, admin.username, ["admin"])
        actions.disable_user(session, operator, admin.username)
    with pytest.raises(Conflict), db.write() as session:
        actions.set_roles(session, operator, "second", ["analyst"])


def test_set_roles(db: Database, admin: Actor, staff: StaffFactory) -> None:
    target = _actor(db, staff.create(["analyst"])[0])
    with db.write() as session:
        sessions.create(session, target.id, mfa_passed=True, hours=1)
        changed = actions.set_roles(session, admin, target.username, ["senior_analyst", "analyst"])
    assert changed.roles == {Role.analyst, Role.senior_analyst}
    assert _session_count(db, target.id) == 0  # the new roles apply at once
    assert _entries(db, "user.roles_set") == [
        (
            admin.username,
            str(target.id),
            {
                "username": target.username,
                "before": ["analyst"],
                "roles": ["analyst", "senior_analyst"],
            },
        )
    ]
    for bad in ([], ["wizard"]):
        with pytest.raises(InvalidInput), db.write() as session:
            actions.set_roles(session, admin, target.username, bad)
    with pytest.raises(Forbidden), db.write() as session:
        actions.set_roles(session, admin, admin.username, ["analyst"])


def test_reset_password(db: Database, admin: Actor, staff: StaffFactory) -> None:
    target = _actor(db, staff.create(["analyst"])[0])
    with pytest.raises(InvalidInput), db.write() as session:
        actions.reset_password(session, admin, target.username, "short")
    with db.write() as session:
        sessions.create(session, target.id, mfa_passed=True, hours=1)
        actions.reset_password(session, admin, target.username, "a brand new passphrase")
    row = _row(db, target.username)
    assert passwords.verify_password(row.password_hash, "a brand new passphrase")
    assert _session_count(db, target.id) == 0
    ((who, _id, detail),) = _entries(db, "user.password_reset")
    assert who == admin.username and detail == {"username": target.username}  # no secret


def test_reset_two_factor(db: Database, admin: Actor, staff: StaffFactory) -> None:
    target = _actor(db, staff.create(["analyst"])[0])
    assert _row(db, target.username).totp_enabled
    with db.write() as session:
        sessions.create(session, target.id, mfa_passed=True, hours=1)
        actions.reset_two_factor(session, admin, target.username)
    row = _row(db, target.username)
    assert (row.totp_enabled, row.totp_secret, row.totp_last_step) == (False, None, 0)
    assert _session_count(db, target.id) == 0
    assert [e[0] for e in _entries(db, "user.2fa_reset")] == [admin.username]
    with pytest.raises(Conflict), db.write() as session:  # nothing left to reset
        actions.reset_two_factor(session, admin, target.username)
    with pytest.raises(Forbidden), db.write() as session:
        actions.reset_two_factor(session, admin, admin.username)


def test_a_reset_colleague_enrols_again_at_sign_in(
    client: TestClient, db: Database, staff: StaffFactory, admin: Actor
) -> None:
    username, password, _secret = staff.create(["analyst"])
    with db.write() as session:
        actions.reset_two_factor(session, admin, username)
    page = client.get("/staff/login")
    response = client.post(
        "/staff/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/staff/2fa/enrol"


def test_clear_failures(db: Database, admin: Actor, staff: StaffFactory) -> None:
    target = staff.create(["analyst"])[0]
    with db.write() as session:
        row = session.execute(select(UserRow).where(UserRow.username == target)).scalar_one()
        row.failed_logins, row.totp_failures = 5, 4
    with db.write() as session:
        actions.clear_failures(session, admin, target)
    row = _row(db, target)
    assert (row.failed_logins, row.totp_failures) == (0, 0)
    assert [e[0] for e in _entries(db, "user.failures_cleared")] == [admin.username]
    with pytest.raises(NotFound), db.write() as session:
        actions.clear_failures(session, admin, "ghost")
    analyst = _actor(db, target)
    with pytest.raises(Forbidden), db.write() as session:
        actions.clear_failures(session, analyst, admin.username)


def test_list_users_is_an_audited_view(db: Database, admin: Actor, staff: StaffFactory) -> None:
    with db.write() as session:
        assert [u.username for u in actions.list_users(session, admin)] == [admin.username]
    assert _entries(db, "users.view") == [(admin.username, "*", {})]
    analyst = _actor(db, staff.create(["analyst"])[0])
    with pytest.raises(Forbidden), db.write() as session:
        actions.list_users(session, analyst)


# -- the page and the CLI are the same action ------------------------------------------------


@pytest.fixture
def cli(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setattr("getpass.getuser", lambda: "opsuser")
    return CliRunner()


def _invoke(cli: CliRunner, *args: str, stdin: str = "") -> None:
    from hotline.cli import app

    result = cli.invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, result.output


def test_page_and_cli_write_the_same_entries(
    client: TestClient, db: Database, settings: Settings, staff: StaffFactory, cli: CliRunner
) -> None:
    sealer = sealer_for(settings.secret, "totp-secret")
    admin_name, password, secret = staff.create(["admin"])
    sign_in(client, admin_name, password, secret)
    token = csrf_from(client.get("/staff/users").text)
    page_made = {"username": "viapage", "password": PASSWORD, "roles": ["analyst"]}
    assert client.post("/staff/users", data=page_made | {"csrf_token": token}).status_code == 200
    _invoke(cli, "user", "add", "viacli", "--role", "analyst", "--password-stdin", stdin=PASSWORD)
    for path in ("disable", "enable", "reset-2fa", "clear-failures"):
        if path == "reset-2fa":  # both accounts need an enrolment to reset
            for name in ("viapage", "viacli"):
                with db.write() as session:
                    user = users.get_user(session, name)
                    users.begin_totp_enrolment(session, user.id, sealer)
        response = client.post(
            f"/staff/users/viapage/{path}", data={"csrf_token": token}, follow_redirects=False
        )
        assert response.status_code == 303, response.text
        _invoke(cli, "user", path, "viacli")
    for action in (
        "user.created",
        "user.disabled",
        "user.enabled",
        "user.2fa_reset",
        "user.failures_cleared",
    ):
        entries = _entries(db, action)
        assert [e[0] for e in entries] == [admin_name, "cli:opsuser"], action
        page_detail, cli_detail = entries[0][2], entries[1][2]
        assert page_detail | {"username": "x"} == cli_detail | {"username": "x"}, action
        assert (page_detail["username"], cli_detail["username"]) == ("viapage", "viacli")


def test_cli_refusals_exit_2(cli: CliRunner, db: Database) -> None:
    from hotline.cli import app

    _invoke(cli, "user", "add", "boss", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    for args, message in (
        (["user", "disable", "boss"], "last active admin"),
        (["user", "roles", "boss", "--role", "analyst"], "last active admin"),
        (["user", "roles", "boss", "--role", "wizard"], "unknown role"),
        (["user", "reset-2fa", "boss"], "no two-factor enrolment"),
        (["user", "disable", "ghost"], "no user"),
    ):
        result = cli.invoke(app, args)
        assert result.exit_code == 2 and message in result.output, (args, result.output)
    weak = cli.invoke(app, ["user", "reset-password", "boss", "--password-stdin"], input="short\n")
    assert weak.exit_code == 2 and "password" in weak.output


def test_cli_roles_and_reset_password(cli: CliRunner, db: Database) -> None:
    _invoke(cli, "user", "add", "boss", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    _invoke(cli, "user", "add", "ann", "--role", "analyst", "--password-stdin", stdin=PASSWORD)
    _invoke(cli, "user", "roles", "ann", "--role", "analyst", "--role", "senior_analyst")
    _invoke(cli, "user", "reset-password", "ann", "--password-stdin", stdin="another passphrase\n")
    row = _row(db, "ann")
    assert row.roles == "analyst,senior_analyst"
    assert passwords.verify_password(row.password_hash, "another passphrase")
    assert [e[0] for e in _entries(db, "user.roles_set")] == ["cli:opsuser"]
    assert [e[0] for e in _entries(db, "user.password_reset")] == ["cli:opsuser"]


def test_the_accounts_page_offers_the_reset(
    login_as: Callable[[list[str]], TestClient], staff: StaffFactory
) -> None:
    client = login_as(["admin"])
    other = staff.create(["analyst"])[0]
    assert f"/staff/users/{other}/reset-2fa" in client.get("/staff/users").text


def test_roles_and_password_from_the_page_match_the_cli(
    client: TestClient, db: Database, staff: StaffFactory, cli: CliRunner
) -> None:
    admin_name, password, secret = staff.create(["admin"])
    sign_in(client, admin_name, password, secret)
    token = csrf_from(client.get("/staff/users").text)
    for name in ("viapage", "viacli"):
        _invoke(cli, "user", "add", name, "--role", "analyst", "--password-stdin", stdin=PASSWORD)
    new_roles = {"username": "viapage", "roles": ["analyst", "senior_analyst"]}
    response = client.post(
        "/staff/users/roles", data=new_roles | {"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    _invoke(cli, "user", "roles", "viacli", "--role", "analyst", "--role", "senior_analyst")
    reset = {"username": "viapage", "password": "a brand new passphrase"}
    response = client.post(
        "/staff/users/password", data=reset | {"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    _invoke(cli, "user", "reset-password", "viacli", "--password-stdin", stdin="a brand new one!")
    for action in ("user.roles_set", "user.password_reset"):
        entries = _entries(db, action)
        assert [e[0] for e in entries] == [admin_name, "cli:opsuser"], action
        assert entries[0][2] | {"username": "x"} == entries[1][2] | {"username": "x"}
    assert passwords.verify_password(_row(db, "viapage").password_hash, "a brand new passphrase")
    # Refusals come back as the page, with the action's message and status.
    for path, data, status in (
        ("roles", {"username": "viapage", "roles": ["wizard"]}, 422),
        ("roles", {"username": admin_name, "roles": ["analyst"]}, 403),
        ("password", {"username": "viapage", "password": "short"}, 422),
        ("password", {"username": "ghost", "password": "long enough passphrase"}, 404),
    ):
        response = client.post(f"/staff/users/{path}", data=data | {"csrf_token": token})
        assert response.status_code == status, (path, data)
        assert 'role="alert"' in response.text
    assert len(_entries(db, "user.roles_set")) == 2

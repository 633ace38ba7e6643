"""exchange.actions on both databases: each action checks `partners.manage` before it writes
and writes its own audit entry, so the partners page and `hotline partner …` (as the
operator) leave the same entries but for the actor."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import Forbidden
from hotline.exchange import actions, keys, partners
from hotline.exchange.tables import ExchangeKeyRow, PartnerRow
from hotline.security import audit
from hotline.security.permissions import Actor, Role
from hotline.security.tables import AuditRow
from tests.conftest import StaffFactory, csrf_from, sign_in
from tests.exchange.helpers import count
from tests.foundation.test_actions_layer import SRC, calls_to

ADMIN = Actor(1, "admin1", frozenset({Role.admin}), mfa_passed=True)
# Every role but admin: none of them may manage partners.
OTHERS = [Actor(2, f"no-{r}", frozenset({r}), mfa_passed=True) for r in Role if r != Role.admin]


def _key() -> str:
    return base64.b64encode(Ed25519PrivateKey.generate().public_key().public_bytes_raw()).decode()


def _entries(db: Database, *names: str) -> list[tuple[str, str, str, dict[str, object]]]:
    with db.read() as session:
        rows = session.execute(
            select(AuditRow.actor, AuditRow.action, AuditRow.object_id, AuditRow.detail)
            .where(AuditRow.action.in_(names))
            .order_by(AuditRow.seq)
        ).all()
    return [(r.actor, r.action, r.object_id, json.loads(r.detail)) for r in rows]


ACTIONS = (
    "partners.view",
    "partner.added",
    "partner.key_set",
    "partner.enabled",
    "partner.disabled",
    "exchange.key_rotated",
)


@pytest.mark.parametrize("actor", OTHERS, ids=lambda a: a.username)
def test_every_action_refuses_an_actor_without_partners_manage(
    db: Database, settings: Settings, actor: Actor
) -> None:
    with db.write() as session:
        actions.add_partner(session, ADMIN, "Hotline B", "IE", "https://b.example.org", _key())
        actions.our_key(session, ADMIN, settings.secret)
    before = _entries(db, *ACTIONS)
    attempts: list[Callable[..., object]] = [
        lambda s: actions.view_partners(s, actor),
        lambda s: actions.add_partner(s, actor, "Hotline C", "FR", "https://c.example.org", _key()),
        lambda s: actions.set_partner_key(s, actor, "Hotline B", _key()),
        lambda s: actions.set_partner_enabled(s, actor, "Hotline B", False),
        lambda s: actions.rotate_key(s, actor, settings.secret),
    ]
    for attempt in attempts:
        with pytest.raises(Forbidden), db.write() as session:
            attempt(session)
    assert _entries(db, *ACTIONS) == before
    assert count(db, PartnerRow) == 1
    with db.read() as session:
        b = partners.by_name(session, "Hotline B")
        assert b.enabled and len(keys.history(session)) == 1


def test_an_actor_without_a_second_factor_is_refused(db: Database) -> None:
    half = Actor(1, "admin1", frozenset({Role.admin}), mfa_passed=False)
    with pytest.raises(Forbidden), db.write() as session:
        actions.view_partners(session, half)
    assert _entries(db, "partners.view") == []


def test_the_view_and_the_key_rotation_are_audited_by_their_actor(
    db: Database, settings: Settings
) -> None:
    with db.write() as session:
        first = actions.our_key(session, ADMIN, settings.secret)
        assert actions.view_partners(session, ADMIN) == []
        old, new = actions.rotate_key(session, ADMIN, settings.secret)
    assert old is not None and old.key_id == first.key_id
    assert _entries(db, "partners.view", "exchange.key_rotated") == [
        ("admin1", "partners.view", "*", {}),
        ("admin1", "exchange.key_rotated", new.key_id, {"retired": first.key_id}),
    ]


@pytest.fixture
def cli(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HOTLINE_ORGANISATION_NAME", "Hotline A")
    monkeypatch.setattr("getpass.getuser", lambda: "opsuser")
    return CliRunner()


def _partner(cli: CliRunner, *args: str) -> None:
    result = cli.invoke(app, ["partner", *args])
    assert result.exit_code == 0, result.output


def test_page_and_cli_write_the_same_entries(
    client: TestClient, db: Database, staff: StaffFactory, cli: CliRunner
) -> None:
    admin_name, password, secret = staff.create(["admin"])
    sign_in(client, admin_name, password, secret)
    token = csrf_from(client.get("/staff/partners").text)
    key_b, key_c = _key(), _key()
    form = {"name": "Hotline B", "countries": "IE", "url": "https://b.example.org"}
    added = client.post(
        "/staff/partners",
        data=form | {"public_key": key_b, "csrf_token": token},
        follow_redirects=False,
    )
    assert added.status_code == 303
    _partner(
        cli, "add", "Hotline C", "--countries", "IE", "--url", "https://c.example.org",
        "--public-key", key_c,
    )  # fmt: skip
    with db.read() as session:
        b, c = partners.by_name(session, "Hotline B"), partners.by_name(session, "Hotline C")
    for path in ("disable", "enable"):
        response = client.post(
            f"/staff/partners/{b.id}/{path}", data={"csrf_token": token}, follow_redirects=False
        )
        assert response.status_code == 303
        _partner(cli, path, "Hotline C")
    for action in ("partner.added", "partner.disabled", "partner.enabled"):
        (page_actor, _, page_id, page_detail), (cli_actor, _, cli_id, cli_detail) = _entries(
            db, action
        )
        assert (page_actor, cli_actor) == (admin_name, "cli:opsuser"), action
        assert (page_id, cli_id) == (str(b.id), str(c.id)), action
        assert (page_detail["name"], cli_detail["name"]) == ("Hotline B", "Hotline C")
        assert page_detail | {"name": "x", "key_id": "k"} == cli_detail | {
            "name": "x",
            "key_id": "k",
        }, action


def test_cli_key_commands_act_as_the_operator(db: Database, cli: CliRunner) -> None:
    _partner(
        cli, "add", "Hotline B", "--countries", "IE", "--url", "https://b.example.org",
        "--public-key", _key(),
    )  # fmt: skip
    _partner(cli, "set-key", "Hotline B", "--public-key", _key())
    _partner(cli, "key", "--rotate")
    found = _entries(db, "partner.key_set", "exchange.key_rotated")
    assert [(actor, action) for actor, action, _, _ in found] == [
        ("cli:opsuser", "partner.key_set"),
        ("cli:opsuser", "exchange.key_rotated"),
    ]


def test_the_first_partner_key_makes_our_key_through_an_audited_action(
    db: Database, cli: CliRunner
) -> None:
    """`hotline partner key` on a fresh instance makes the exchange key: one
    `exchange.key_created` entry by the operator; asking again makes and audits nothing."""
    assert count(db, ExchangeKeyRow) == 0
    first = cli.invoke(app, ["partner", "key"])
    assert first.exit_code == 0, first.output
    with db.read() as session:
        (made,) = keys.history(session)
    assert f"key id: {made.key_id}" in first.stdout and made.public_key in first.stdout
    assert _entries(db, "exchange.key_created") == [
        ("cli:opsuser", "exchange.key_created", made.key_id, {})
    ]
    again = cli.invoke(app, ["partner", "key"])
    assert again.exit_code == 0 and again.stdout == first.stdout
    assert count(db, ExchangeKeyRow) == 1 and len(_entries(db, "exchange.key_created")) == 1


def test_a_key_made_for_signing_is_audited_by_the_system(db: Database, settings: Settings) -> None:
    with db.write() as session:
        me = actions.signing_identity(session, settings.secret)
        assert actions.signing_identity(session, settings.secret).key_id == me.key_id
        assert actions.our_key(session, ADMIN, settings.secret).key_id == me.key_id
    assert _entries(db, "exchange.key_created") == [
        (audit.SYSTEM, "exchange.key_created", me.key_id, {})
    ]


def test_partners_and_our_key_change_only_through_the_actions() -> None:
    assert calls_to(SRC, "partners", {"add", "set_key", "set_enabled"}) == {"exchange/actions.py"}
    assert calls_to(SRC, "keys", {"create", "rotate"}) == {"exchange/actions.py"}

"""matching.actions on both databases: members and their keys are managed only with
`members.manage`; each action writes its own audit entry (a key's prefix, never the key), and
`hotline member …` writes the same entries as the operator."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import Forbidden
from hotline.matching import actions, store
from hotline.security.permissions import Actor, Role
from hotline.security.tables import AuditRow

ADMIN = Actor(1, "admin1", frozenset({Role.admin}), mfa_passed=True)
OTHERS = [Actor(2, f"no-{r}", frozenset({r}), mfa_passed=True) for r in Role if r != Role.admin]


def _entries(db: Database) -> list[tuple[str, str, str, dict[str, object]]]:
    with db.read() as session:
        rows = session.execute(
            select(AuditRow.actor, AuditRow.action, AuditRow.object_id, AuditRow.detail)
            .where(AuditRow.object_type.in_(("member", "member_key")))
            .order_by(AuditRow.seq)
        ).all()
    return [(r.actor, r.action, r.object_id, json.loads(r.detail)) for r in rows]


@pytest.mark.parametrize("actor", OTHERS, ids=lambda a: a.username)
def test_every_action_refuses_an_actor_without_members_manage(db: Database, actor: Actor) -> None:
    with db.write() as session:
        store.create_list(session, "alpha")
        actions.add_member(session, ADMIN, "example-platform")
        _, key = actions.create_key(session, ADMIN, "example-platform", ["alpha"])
    before = _entries(db)
    attempts: list[Callable[..., object]] = [
        lambda s: actions.add_member(s, actor, "other-platform"),
        lambda s: actions.create_key(s, actor, "example-platform", ["alpha"]),
        lambda s: actions.revoke_key(s, actor, key.prefix),
    ]
    for attempt in attempts:
        with pytest.raises(Forbidden), db.write() as session:
            attempt(session)
    assert _entries(db) == before
    with db.read() as session:
        assert [m.name for m in store.list_members(session)] == ["example-platform"]
        keys = store.list_keys(session)
    assert len(keys) == 1 and keys[0].revoked_at is None


@pytest.fixture
def cli(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setattr("getpass.getuser", lambda: "opsuser")
    return CliRunner()


def test_the_cli_and_a_staff_actor_write_the_same_entries(db: Database, cli: CliRunner) -> None:
    with db.write() as session:
        store.create_list(session, "alpha")
        actions.add_member(session, ADMIN, "platform-a")
        issued, _ = actions.create_key(session, ADMIN, "platform-a", ["alpha"])
        actions.revoke_key(session, ADMIN, issued.prefix)

    def run(*args: str) -> str:
        result = cli.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.stdout

    run("member", "add", "platform-b")
    printed = run("member", "key", "create", "--member", "platform-b", "--list", "alpha")
    with db.read() as session:
        (b_key,) = store.list_keys(session, "platform-b")
    run("member", "key", "revoke", f"hlk_{b_key.prefix}")

    found = _entries(db)
    assert [e[0] for e in found] == ["admin1"] * 3 + ["cli:opsuser"] * 3
    assert (
        [e[1] for e in found[:3]]
        == [e[1] for e in found[3:]]
        == [
            "member.created",
            "member_key.created",
            "member_key.revoked",
        ]
    )
    assert [e[3] for e in found[3:]] == [
        {"name": "platform-b"},
        {"member": "platform-b", "lists": ["alpha"]},
        {"member": "platform-b"},
    ]
    assert found[4][2] == b_key.prefix and printed.strip() not in json.dumps(found)

"""lists.actions on both databases: each action checks `lists.manage` before it writes and
writes its own audit entry; `import_list` stores a batch whole (list, entries, provenance,
audit) or refuses it; `hotline lists …` acts as the operator through them."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import Conflict, Forbidden, InvalidInput
from hotline.lists import actions, imports, signing, text_lists
from hotline.matching import store
from hotline.matching.tables import HashListRow
from hotline.security.permissions import Actor, Role
from hotline.security.tables import AuditRow
from tests.foundation.test_actions_layer import SRC, calls_to
from tests.lists.helpers import entries, ids, new_list

ADMIN = Actor(1, "admin1", frozenset({Role.admin}), mfa_passed=True)
OTHERS = [Actor(2, f"no-{r}", frozenset({r}), mfa_passed=True) for r in Role if r != Role.admin]


def _entries(db: Database) -> list[tuple[str, str, str, dict[str, object]]]:
    with db.read() as session:
        rows = session.execute(
            select(AuditRow.actor, AuditRow.action, AuditRow.object_id, AuditRow.detail)
            .where(AuditRow.object_type.in_(("hash_list", "list_signing_key")))
            .order_by(AuditRow.seq)
        ).all()
    return [(r.actor, r.action, r.object_id, json.loads(r.detail)) for r in rows]


def _batch(**fields: object) -> imports.ImportBatch:
    made = imports.ImportBatch("csv", entries=entries(2), records=3, duplicates=1)
    made.skipped = {"empty": 1}
    for name, value in fields.items():
        setattr(made, name, value)
    return made


def _state(db: Database) -> tuple[object, ...]:
    with db.read() as session:
        lists = session.execute(
            select(
                HashListRow.name, HashListRow.version, HashListRow.source, HashListRow.config
            ).order_by(HashListRow.name)
        ).all()
        keyring = sorted(signing.keyring(session).keys)
    return tuple(lists), tuple(keyring)


@pytest.mark.parametrize("actor", OTHERS, ids=lambda a: a.username)
def test_every_action_refuses_an_actor_without_lists_manage(
    db: Database, settings: Settings, actor: Actor
) -> None:
    new_list(db, "alpha", entries(3))
    with db.write() as session:
        store.create_list(session, "urls", kind="url")
        store.create_list(session, "terms", kind="keyword")
        signing.signer(session, settings.secret)  # a key to rotate
    first = ids(db, "alpha")[0]
    before, audited = _state(db), _entries(db)
    term = text_lists.Term("example phrase", "")
    attempts: list[Callable[..., object]] = [
        lambda s: actions.create_list(s, actor, "beta"),
        lambda s: actions.add_entries(s, actor, "alpha", entries(1, seed=9)),
        lambda s: actions.withdraw_entries(s, actor, "alpha", [first], "found wrong"),
        lambda s: actions.export_list(s, actor, "alpha", io.StringIO(), utcnow()),
        lambda s: actions.import_list(s, actor, "alpha", _batch(), source_name="f", sha256="0"),
        lambda s: actions.configure(s, actor, "alpha", categories=["A"]),
        lambda s: actions.sync_grades(s, actor, "alpha"),
        lambda s: actions.sync_urls(s, actor, "urls"),
        lambda s: actions.add_terms(s, actor, "terms", [term]),
        lambda s: actions.rotate_signing_key(s, actor, settings.secret),
    ]
    for attempt in attempts:
        with pytest.raises(Forbidden), db.write() as session:
            attempt(session)
    root = settings.data_dir / "releases"
    with pytest.raises(Forbidden):
        actions.publish(db, actor, root, "alpha", settings.secret)
    assert not root.exists()
    assert _state(db) == before
    assert _entries(db) == audited
    assert first in ids(db, "alpha")


def test_each_action_writes_its_entry(db: Database, settings: Settings) -> None:
    with db.write() as session:
        actions.create_list(session, ADMIN, "alpha", kind="hash")
        actions.add_entries(session, ADMIN, "alpha", entries(3))
    first = ids(db, "alpha")[0]
    out = io.StringIO()
    with db.write() as session:
        count, info = actions.withdraw_entries(session, ADMIN, "alpha", [first], " regraded ")
        exported, written = actions.export_list(session, ADMIN, "alpha", out, utcnow())
        config = actions.configure(session, ADMIN, "alpha", categories=["A"], fields=[])
        old, new = actions.rotate_signing_key(session, ADMIN, settings.secret)
    assert (count, info.version, exported.version, written) == (1, 2, 2, 2)
    assert json.loads(out.getvalue().splitlines()[0])["version"] == 2
    assert config.categories == ("A",) and old is None
    assert [(a, act, obj) for a, act, obj, _ in _entries(db)] == [
        ("admin1", "hash_list.created", "alpha"),
        ("admin1", "hash_list.entries_added", "alpha"),
        ("admin1", "hash_list.entries_withdrawn", "alpha"),
        ("admin1", "hash_list.exported", "alpha"),
        ("admin1", "hash_list.configured", "alpha"),
        ("admin1", "list_signing_key.rotated", new.key_id),
    ]
    assert _entries(db)[2][3] == {"withdrawn": 1, "version": 2, "reason": "regraded"}


def test_a_withdrawal_needs_a_reason(db: Database) -> None:
    new_list(db, "alpha", entries(2))
    first = ids(db, "alpha")[0]
    with pytest.raises(InvalidInput) as refused, db.write() as session:
        actions.withdraw_entries(session, ADMIN, "alpha", [first], "  ")
    assert [f.field for f in refused.value.fields] == ["reason"]
    assert first in ids(db, "alpha")


def test_a_withdrawal_names_live_entries_of_the_list_or_changes_nothing(
    db: Database, cli: CliRunner
) -> None:
    new_list(db, "alpha", entries(2))
    new_list(db, "beta", entries(1, seed=2))
    first, second = ids(db, "alpha")
    other = ids(db, "beta")[0]
    for wrong in ([], [999_999], [first, other]):
        with pytest.raises(InvalidInput) as refused, db.write() as session:
            actions.withdraw_entries(session, ADMIN, "alpha", wrong, "found wrong")
        assert [f.field for f in refused.value.fields] == ["entries"]
    with db.write() as session:
        actions.withdraw_entries(session, ADMIN, "alpha", [first], "found wrong")
    with pytest.raises(Conflict, match="already withdrawn"), db.write() as session:
        actions.withdraw_entries(session, ADMIN, "alpha", [second, first], "again")
    with db.read() as session:
        info = store.get_list(session, "alpha")
    assert (info.version, info.entries) == (2, 1)  # one withdrawal, one version
    # the command line is refused the same way, with the message and a non-zero exit
    result = cli.invoke(app, ["lists", "withdraw", "alpha", str(first), "--reason", "again"])
    assert result.exit_code != 0 and "already withdrawn" in result.output


def test_a_settings_form_drawn_before_a_change_is_refused(db: Database) -> None:
    new_list(db, "alpha", entries(1))
    with db.read() as session:
        drawn = actions.list_settings(session, ADMIN, "alpha").tag
    with db.write() as session:
        actions.configure(session, ADMIN, "alpha", fields=["sex"], drawn=drawn)
    with pytest.raises(Conflict), db.write() as session:  # the tag changed with the settings
        actions.configure(session, ADMIN, "alpha", fields=[], drawn=drawn)
    with db.write() as session:
        actions.configure(session, ADMIN, "alpha", max_distances={"pdq": 20})
    with db.read() as session:
        after = actions.list_settings(session, ADMIN, "alpha")
    assert after.config.fields == ("sex",) and after.tag != drawn


def test_import_list_stores_the_list_its_entries_and_provenance(db: Database) -> None:
    with db.write() as session:
        info = actions.import_list(
            session,
            ADMIN,
            "bank",
            _batch(),
            source_name="bank.csv",
            sha256="ab" * 32,
            create=True,
            description="example",
        )
    assert (info.name, info.version, info.entries) == ("bank", 1, 2)
    with db.read() as session:
        row = session.execute(select(HashListRow).where(HashListRow.name == "bank")).scalar_one()
    assert row.description == "example"
    assert row.source is not None
    assert row.source.startswith(f"csv:bank.csv sha256={'ab' * 32} imported 20")
    assert _entries(db) == [
        ("admin1", "hash_list.created", "bank", {"kind": "hash"}),
        (
            "admin1",
            "hash_list.imported",
            "bank",
            {
                "format": "csv",
                "records": 3,
                "added": 2,
                "skipped": 1,
                "duplicates": 1,
                "version": 1,
            },
        ),
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"problems": [imports.ImportProblem(2, "md5", "not hex")]}, "1 problems"),
        ({"entries": []}, "nothing to import"),
        ({"format": "spreadsheet"}, "unknown format"),
    ],
)
def test_import_list_refuses_a_batch_that_is_not_whole(
    db: Database, fields: dict[str, object], message: str
) -> None:
    new_list(db, "bank", entries(1))
    before = _state(db)
    with pytest.raises(InvalidInput, match=message), db.write() as session:
        actions.import_list(
            session, ADMIN, "other", _batch(**fields), source_name="f", sha256="0", create=True
        )
    with pytest.raises(InvalidInput, match=message), db.write() as session:
        actions.import_list(session, ADMIN, "bank", _batch(**fields), source_name="f", sha256="0")
    assert _state(db) == before
    assert _entries(db) == []


@pytest.fixture
def cli(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setattr("getpass.getuser", lambda: "opsuser")
    return CliRunner()


def test_the_commands_act_as_the_operator(db: Database, cli: CliRunner) -> None:
    for args in (
        ["create", "alpha"],
        ["configure", "alpha", "--categories", "A,B"],
        ["sync-grades", "alpha"],
        ["keys", "rotate"],
        ["release", "alpha"],
    ):
        result = cli.invoke(app, ["lists", *args])
        assert result.exit_code == 0, result.output
    assert [(actor, action) for actor, action, _, _ in _entries(db)] == [
        ("cli:opsuser", "hash_list.created"),
        ("cli:opsuser", "hash_list.configured"),
        ("cli:opsuser", "hash_list.synced_from_grades"),
        ("cli:opsuser", "list_signing_key.rotated"),
        ("cli:opsuser", "hash_list.released"),
    ]


def test_lists_and_members_change_only_through_their_actions() -> None:
    """One action, one place: nothing else in src writes a list, its provenance, a member or
    a key (the stores' writers are called from lists.actions and matching.actions only)."""
    writers = {"create_list", "add_entries", "withdraw_entries"}
    writers |= {"create_member", "create_key", "revoke_key"}
    assert calls_to(SRC, "store", writers) == {"lists/actions.py", "matching/actions.py"}
    assert calls_to(SRC, "lists_store", {"set_source", "set_config"}) == {"lists/actions.py"}
    assert calls_to(SRC, "signing", {"rotate"}) == {"lists/actions.py"}

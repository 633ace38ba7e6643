"""`hotline webhook`: the operator registers, lists, removes webhooks and reads deliveries;
bad input exits 2 with a message, and every command is audited as the operator."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.cli import app as cli
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.lists import release
from hotline.lists.api import release_root
from hotline.notify.tables import MemberWebhookRow
from hotline.security.tables import AuditRow
from tests.jobs.drain import drain
from tests.lists.helpers import entries, new_list
from tests.matching.helpers import make_key


@pytest.fixture
def runner(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    return CliRunner()


def test_register_list_deliveries_remove(
    runner: CliRunner, db: Database, settings: Settings
) -> None:
    new_list(db, "alpha", entries(2))
    prefix = make_key(db, "example-platform", ["alpha"]).split("_")[1]
    added = runner.invoke(cli, ["webhook", "add", "--key", prefix, "https://hooks.example.net/h"])
    assert added.exit_code == 0, added.output
    assert added.stdout.strip().startswith("whsec_")  # the secret alone on stdout
    listed = runner.invoke(cli, ["webhook", "list", "--json"])
    [hook] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (hook["member"], hook["url"], hook["lists"]) == (
        "example-platform",
        "https://hooks.example.net/h",
        ["alpha"],
    )
    assert "secret" not in hook

    release.publish(db, release_root(settings), "alpha", settings.secret, "test")
    drain(db, settings)  # the production guard: hooks.example.net does not resolve here
    shown = runner.invoke(cli, ["webhook", "deliveries", "--json"])
    [delivery] = [json.loads(line) for line in shown.stdout.splitlines()]
    assert (delivery["list"], delivery["version"], delivery["member"]) == (
        "alpha",
        1,
        "example-platform",
    )
    assert delivery["state"] in ("pending", "failed", "refused") and delivery["last_error"]

    removed = runner.invoke(cli, ["webhook", "remove", str(hook["id"])])
    assert removed.exit_code == 0
    assert runner.invoke(cli, ["webhook", "list"]).stdout == ""
    with db.read() as session:
        actors = set(
            session.execute(
                select(AuditRow.actor).where(
                    AuditRow.object_type.in_(["member_webhook", "webhook_delivery"])
                )
            ).scalars()
        )
        assert session.execute(select(MemberWebhookRow.removed_at)).scalar_one() is not None
    assert actors and all(a.startswith("cli:") for a in actors)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "--key", "000000000000", "https://hooks.example.net/h"], "no key"),
        (["add", "--key", "{prefix}", "gopher://hooks.example.net/h"], "not usable"),
        (["remove", "4242"], "no webhook 4242"),
    ],
)
def test_bad_input_exits_2(runner: CliRunner, db: Database, args: list[str], message: str) -> None:
    new_list(db, "alpha", entries(1))
    prefix = make_key(db, "example-platform", ["alpha"]).split("_")[1]
    result = runner.invoke(cli, ["webhook", *(a.format(prefix=prefix) for a in args)])
    assert result.exit_code == 2
    assert message in result.output

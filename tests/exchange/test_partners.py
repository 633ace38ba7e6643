"""The partner store, this instance's key, and `hotline partner …` as an admin runs it."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import Conflict, InvalidInput, NotFound
from hotline.exchange import actions, keys, partners
from hotline.exchange.tables import ExchangeKeyRow, PartnerRow
from hotline.security.keys import key_id_of
from hotline.security.permissions import Actor
from tests.exchange.helpers import audit_actions, count


def _public_key() -> str:
    raw = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    return base64.b64encode(raw).decode()


# -- the store ---------------------------------------------------------------------------------


def test_add_a_partner(db: Database) -> None:
    key = _public_key()
    with db.write() as session:
        added = partners.add(session, " Hotline B ", "ie, gb,IE", "https://b.example.org/", key)
    assert added.name == "Hotline B"
    assert added.countries == ("GB", "IE")
    assert added.base_url == "https://b.example.org"
    assert added.key_id == key_id_of(base64.b64decode(key))
    assert added.enabled
    with db.read() as session:
        assert partners.by_name(session, "Hotline B") == added
        assert partners.listing(session) == [added]


def test_every_bad_field_is_listed_and_nothing_stored(db: Database) -> None:
    with db.write() as session, pytest.raises(InvalidInput) as caught:
        partners.add(session, "bad\nname", "GB,XX", "ftp://b.example.org", "not base64!")
    fields = {f.field: f.message for f in caught.value.fields}
    assert set(fields) == {"name", "countries", "url", "public_key"}
    assert "XX" in fields["countries"]
    assert count(db, PartnerRow) == 0


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("countries", {"countries": ""}),
        ("url", {"url": "https://user:pw@b.example.org"}),
        ("url", {"url": "https://b.example.org/?q=1"}),
        ("url", {"url": "https://b.example.org:99999"}),
        ("url", {"url": "b.example.org"}),
        ("public_key", {"public_key": base64.b64encode(b"x" * 31).decode()}),
        ("name", {"name": "x" * 65}),
    ],
)
def test_each_kind_of_bad_input(db: Database, field: str, kwargs: dict[str, str]) -> None:
    args = {
        "name": "Hotline B",
        "countries": "IE",
        "url": "http://127.0.0.1:8000",
        "public_key": _public_key(),
        **kwargs,
    }
    with db.write() as session, pytest.raises(InvalidInput) as caught:
        partners.add(session, args["name"], args["countries"], args["url"], args["public_key"])
    assert [f.field for f in caught.value.fields] == [field]


def test_a_taken_name_is_a_conflict(db: Database) -> None:
    with db.write() as session:
        partners.add(session, "Hotline B", "IE", "https://b.example.org", _public_key())
    with db.write() as session, pytest.raises(Conflict):
        partners.add(session, "Hotline B", "FR", "https://c.example.org", _public_key())
    assert count(db, PartnerRow) == 1


def test_partner_for_country_gives_enabled_partners_only(db: Database) -> None:
    with db.write() as session:
        first = partners.add(session, "Hotline B", "IE,FR", "https://b.example.org", _public_key())
        partners.add(session, "Hotline C", "FR,DE", "https://c.example.org", _public_key())
    with db.read() as session:
        assert partners.partner_for_country(session, "ie") == first
        assert partners.partner_for_country(session, "FR") == first  # the one added first
        assert partners.partner_for_country(session, "DE").name == "Hotline C"  # type: ignore[union-attr]
        assert partners.partner_for_country(session, "GB") is None
        assert partners.partner_for_country(session, None) is None
    with db.write() as session:
        partners.set_enabled(session, "Hotline B", False)
    with db.read() as session:
        assert partners.partner_for_country(session, "IE") is None
        assert partners.partner_for_country(session, "FR").name == "Hotline C"  # type: ignore[union-attr]


def test_set_key_and_unknown_names(db: Database) -> None:
    with db.write() as session:
        partners.add(session, "Hotline B", "IE", "https://b.example.org", _public_key())
    new = _public_key()
    with db.write() as session:
        updated = partners.set_key(session, "Hotline B", new)
    assert updated.public_key == new and updated.key_id == key_id_of(base64.b64decode(new))
    with db.write() as session, pytest.raises(NotFound):
        partners.set_enabled(session, "Nobody", False)
    with db.write() as session, pytest.raises(InvalidInput):
        partners.set_key(session, "Hotline B", "short")


# -- our key -----------------------------------------------------------------------------------


def test_our_key_is_made_once_sealed_and_rotated(db: Database, settings: Settings) -> None:
    with db.write() as session:
        first = actions.our_key(session, Actor.operator(), settings.secret)
        again = keys.identity(session, settings.secret)
    assert again.key_id == first.key_id
    raw_public = base64.b64decode(first.public_key)
    assert len(raw_public) == 32 and key_id_of(raw_public) == first.key_id
    # The stored private half is sealed: it is not the raw key and opens only with the secret.
    with db.read() as session:
        row = session.scalars(select(ExchangeKeyRow)).one()
    raw_private = again.private.private_bytes_raw()
    assert raw_private not in base64.b64decode(row.private_sealed)
    with db.write() as session, pytest.raises(Exception, match="cannot decrypt"):
        keys.identity(session, b"another secret entirely, long enough to be a real one")
    with db.write() as session:
        old, new = keys.rotate(session, settings.secret)
    assert old is not None and old.key_id == first.key_id and new.key_id != first.key_id
    with db.write() as session:
        assert keys.identity(session, settings.secret).key_id == new.key_id
        history = keys.history(session)
    assert [k.key_id for k in history] == [first.key_id, new.key_id]
    assert history[0].retired_at is not None and history[1].retired_at is None


# -- the CLI -----------------------------------------------------------------------------------


@pytest.fixture
def runner(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HOTLINE_ORGANISATION_NAME", "Hotline A")
    return CliRunner()


def run(runner: CliRunner, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["partner", *args])
    assert result.exit_code == code, result.output
    return result.output


def test_cli_key_add_list_disable_enable(runner: CliRunner, db: Database) -> None:
    out = run(runner, "key")
    lines = dict(line.split(": ", 1) for line in out.strip().splitlines())
    assert lines["name"] == "Hotline A"
    assert key_id_of(base64.b64decode(lines["public key"])) == lines["key id"]
    assert run(runner, "key") == out  # the same key until rotated

    key = _public_key()
    out = run(
        runner,
        "add",
        "Hotline B",
        "--countries",
        "IE",
        "--url",
        "https://b.example.org",
        "--public-key",
        key,
    )
    assert "added Hotline B\tIE\thttps://b.example.org" in out
    assert "Hotline B" in run(runner, "list")
    assert "disabled" in run(runner, "disable", "Hotline B")
    with db.read() as session:
        assert partners.partner_for_country(session, "IE") is None
    assert "enabled" in run(runner, "enable", "Hotline B")
    new_key = _public_key()
    assert key_id_of(base64.b64decode(new_key)) in run(
        runner, "set-key", "Hotline B", "--public-key", new_key
    )
    rotated = run(runner, "key", "--rotate")
    assert "new key made" in rotated and lines["key id"] not in rotated
    actions = [a["object_id"] for a in audit_actions(db, "partner.added")]
    assert len(actions) == 1
    assert len(audit_actions(db, "partner.disabled")) == 1
    assert audit_actions(db, "exchange.key_rotated")[0]["retired"] == lines["key id"]


def test_cli_bad_input_exits_2_with_a_message(runner: CliRunner, db: Database) -> None:
    result = runner.invoke(
        app,
        [
            "partner",
            "add",
            "Hotline B",
            "--countries",
            "ZZ",
            "--url",
            "gopher://x",
            "--public-key",
            "abc",
        ],
    )
    assert result.exit_code == 2
    assert "countries" in result.output and "url" in result.output and "public_key" in result.output
    assert count(db, PartnerRow) == 0
    assert "no partner hotline is called" in run(runner, "disable", "Nobody", code=2)
    assert "no partner hotlines yet" in run(runner, "list")


def test_cli_key_refuses_a_name_that_cannot_travel(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_ORGANISATION_NAME", "Hotline\twith a tab")
    assert "cannot be used in the exchange" in run(runner, "key", code=2)

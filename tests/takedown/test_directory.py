"""The hosting provider directory: validation, changes, matching a traced host, sealed webhook
secrets, and CSV import (all rows or none) and export."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import Conflict, NotFound
from hotline.intake.tables import ReportedUrlRow
from hotline.security import audit
from hotline.security.crypto import DecryptionError, sealer_for
from hotline.security.tables import AuditRow
from hotline.takedown import directory, directory_csv
from hotline.takedown.directory import Channel, DirectoryInvalid
from hotline.takedown.tables import HostingProviderRow, TakedownCaseRow

HEADER = "name,asns,countries,abuse_email,webhook_url,channel,language,notes\n"


def values(**over: str) -> dict[str, str]:
    base = {
        "name": "Example Hosting",
        "asns": "64500 64501",
        "countries": "gb, fr",
        "abuse_email": "abuse@example.net",
        "webhook_url": "",
        "webhook_secret": "",
        "channel": "email",
        "language": "en",
        "notes": "",
    }
    base.update(over)
    return base


def problems(raw: dict[str, str], **kwargs: Any) -> dict[str, str]:
    entry, found = directory.check(raw, **kwargs)
    assert entry is None
    return {p.field: p.text for p in found}


@pytest.fixture
def sealer(settings: Settings):  # type: ignore[no-untyped-def]
    return directory.secret_sealer(settings.secret)


def add(db: Database, sealer: Any, **over: str) -> directory.Provider:
    with db.write() as session:
        return directory.create_provider(session, directory.parse(values(**over)), sealer, "t")


def snapshot(db: Database) -> tuple[list[tuple[Any, ...]], int]:
    """Every directory row and the audit log's length: what a refused import must not touch."""
    with db.read() as session:
        rows = [
            (
                r.id,
                r.name,
                r.asns,
                r.countries,
                r.abuse_email,
                r.webhook_url,
                r.channel,
                r.language,
                r.notes,
                r.webhook_secret_sealed,
                r.updated_at,
            )
            for r in session.execute(
                select(HostingProviderRow).order_by(HostingProviderRow.id)
            ).scalars()
        ]
        seq = len(list(session.execute(select(AuditRow.seq)).scalars()))
    return rows, seq


# -- validation ------------------------------------------------------------------------------


def test_a_valid_entry_is_normalised() -> None:
    entry = directory.parse(values(asns="AS64501, 64500 as64500", countries="fr gb GB"))
    assert entry.asns == (64500, 64501)
    assert entry.countries == ("FR", "GB")
    assert entry.channel is Channel.email and entry.notes is None


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("name", ""),
        ("name", "x" * 201),
        ("name", "tab\tname"),
        ("asns", "0"),
        ("asns", "4294967296"),
        ("asns", "64500 sixty"),
        ("asns", "-5"),
        ("countries", "GBR"),
        ("countries", "XX"),
        ("countries", "gb 12"),
        ("abuse_email", "not-an-email"),
        ("abuse_email", "abuse@example"),
        ("webhook_url", "ftp://example.net/hook"),
        ("webhook_url", "https://user:pw@example.net/hook"),
        ("webhook_url", "javascript:alert(1)"),
        ("channel", "fax"),
        ("language", "xx"),
        ("language", ""),
        ("notes", "n" * 2001),
    ],
)
def test_bad_values_are_named_by_field(field: str, raw: str) -> None:
    assert field in problems(values(**{field: raw}))


def test_the_largest_asn_is_accepted() -> None:
    assert directory.parse(values(asns="4294967295")).asns == (4_294_967_295,)


def test_a_channel_needs_its_address_and_a_webhook_a_secret() -> None:
    assert "abuse_email" in problems(values(abuse_email=""))
    assert "webhook_url" in problems(values(channel="webhook"))
    hook = values(channel="webhook", webhook_url="https://hooks.example.net/notice")
    assert "webhook_secret" in problems(hook)
    assert "webhook_secret" in problems({**hook, "webhook_secret": "too short"})
    with_secret = directory.parse({**hook, "webhook_secret": "s" * 32})
    assert with_secret.webhook_secret == "s" * 32
    # An entry that already has a secret keeps it; the form may leave the field empty.
    assert directory.parse(hook, secret_stored=True).webhook_secret is None


def test_every_problem_is_reported_at_once() -> None:
    found = problems(values(name="", asns="0", countries="XX", language="xx"))
    assert set(found) == {"name", "asns", "countries", "language"}


# -- changes and audit -----------------------------------------------------------------------


def test_create_update_delete_are_audited(db: Database, sealer: Any) -> None:
    created = add(db, sealer)
    assert created.asns == (64500, 64501) and created.countries == ("FR", "GB")
    with db.write() as session:
        changed = directory.update_provider(
            session,
            created.id,
            directory.parse(values(language="fr", notes="via form")),
            sealer,
            "officer",
        )
    assert changed.language == "fr" and changed.notes == "via form"
    with db.read() as session:
        assert directory.get_provider(session, created.id) == changed
        assert [e.provider for e in directory.list_providers(session)] == [changed]
    with db.write() as session:
        directory.delete_provider(session, created.id, "officer")
    with db.read() as session:
        with pytest.raises(NotFound):
            directory.get_provider(session, created.id)
        actions = [
            e.action for e in audit.entries_for(session, "hosting_provider", str(created.id))
        ]
    assert actions == [
        "hosting_provider.created",
        "hosting_provider.updated",
        "hosting_provider.deleted",
    ]


def test_names_are_unique_ignoring_case(db: Database, sealer: Any) -> None:
    add(db, sealer)
    before = snapshot(db)
    with pytest.raises(DirectoryInvalid) as caught, db.write() as session:
        directory.create_provider(
            session, directory.parse(values(name="EXAMPLE hosting", asns="64999")), sealer, "t"
        )
    assert [p.field for p in caught.value.problems] == ["name"]
    assert snapshot(db) == before


def test_an_asn_belongs_to_one_provider(db: Database, sealer: Any) -> None:
    add(db, sealer)
    with pytest.raises(DirectoryInvalid) as caught, db.write() as session:
        directory.create_provider(
            session, directory.parse(values(name="Other", asns="64501 64777")), sealer, "t"
        )
    assert caught.value.fields[0].field == "asns"
    assert "AS64501 is already listed for Example Hosting" in caught.value.fields[0].message


def _case_for(db: Database, provider_id: int) -> None:
    now = datetime.now(UTC)
    with db.write() as session:
        url = ReportedUrlRow(
            url_hash="a" * 64,
            normalized_url="https://site.example.org/page",
            host="site.example.org",
            status="assessed",
            report_count=1,
            first_reported_at=now,
            last_reported_at=now,
        )
        session.add(url)
        session.flush()
        session.add(
            TakedownCaseRow(
                url_id=url.id,
                reference="TD-TEST-0001",
                state="proposed",
                provider_id=provider_id,
                first_reported_at=now,
                proposed_at=now,
                reminders_sent=0,
                checks=0,
                unreachable_streak=0,
                flagged=False,
            )
        )


def test_delete_is_refused_while_a_case_refers_to_the_provider(db: Database, sealer: Any) -> None:
    provider = add(db, sealer)
    _case_for(db, provider.id)
    before = snapshot(db)
    with pytest.raises(Conflict, match="1 takedown case"), db.write() as session:
        directory.delete_provider(session, provider.id, "officer")
    assert snapshot(db) == before


# -- matching a traced host ------------------------------------------------------------------


def test_provider_for_host(db: Database, sealer: Any) -> None:
    first = add(db, sealer)
    other = add(db, sealer, name="Other Host", asns="6450", abuse_email="Abuse@Other.example")
    shared_fr = add(
        db, sealer, name="Shared FR", asns="", countries="FR", abuse_email="noc@shared.example"
    )
    shared_de = add(
        db, sealer, name="Shared DE", asns="", countries="DE", abuse_email="noc@shared.example"
    )
    with db.read() as session:
        find = directory.provider_for_host
        assert find(session, asn=64500, country=None) == first
        assert find(session, asn=6450, country="GB") == other  # not a prefix of 64500
        assert find(session, asn=645, country="GB") is None
        # No ASN match: an abuse address equal to the provider's, case ignored.
        assert find(session, asn=1, country=None, abuse_emails=["abuse@other.EXAMPLE"]) == other
        assert (
            find(session, asn=None, country="DE", abuse_emails=["noc@shared.example"]) == shared_de
        )
        assert (
            find(session, asn=None, country="FR", abuse_emails=["noc@shared.example"]) == shared_fr
        )
        # The ASN wins over the abuse address; a country alone is never enough.
        assert find(session, asn=64501, country=None, abuse_emails=["noc@shared.example"]) == first
        assert find(session, asn=None, country="GB") is None
        assert find(session, asn=None, country="GB", abuse_emails=["x@nowhere.example"]) is None


# -- webhook secrets -------------------------------------------------------------------------


def test_the_webhook_secret_is_sealed_and_kept(
    db: Database, sealer: Any, settings: Settings
) -> None:
    secret = "correct-horse-" + "s" * 20
    hook = {"channel": "webhook", "webhook_url": "https://hooks.example.net/n"}
    provider = add(db, sealer, webhook_secret=secret, **hook)
    with db.read() as session:
        row = session.get(HostingProviderRow, provider.id)
        assert row is not None and row.webhook_secret_sealed is not None
        assert secret.encode() not in row.webhook_secret_sealed
        assert directory.webhook_secret(session, provider.id, sealer) == secret.encode()
        assert directory.get_entry(session, provider.id).secret_set
        with pytest.raises(DecryptionError):
            directory.webhook_secret(session, provider.id, sealer_for(settings.secret, "other"))
        detail = audit.entries_for(session, "hosting_provider", str(provider.id))[0].detail
    assert secret not in str(detail) and detail["secret_changed"] is True
    # Saving without a new secret keeps it; dropping the webhook address drops it.
    with db.write() as session:
        data = directory.parse_input(values(notes="kept", **hook), session, provider.id)
        directory.update_provider(session, provider.id, data, sealer, "t")
    with db.read() as session:
        assert directory.webhook_secret(session, provider.id, sealer) == secret.encode()
    with db.write() as session:
        data = directory.parse_input(values(), session, provider.id)
        directory.update_provider(session, provider.id, data, sealer, "t")
    with db.read() as session:
        assert directory.webhook_secret(session, provider.id, sealer) is None
        with pytest.raises(NotFound):
            directory.webhook_secret(session, provider.id + 100, sealer)


# -- CSV -------------------------------------------------------------------------------------


def _import(db: Database, text: str | bytes) -> directory_csv.ImportResult:
    data = text.encode() if isinstance(text, str) else text
    with db.write() as session:
        return directory_csv.import_csv(session, data, "officer")


def _export(db: Database) -> str:
    with db.write() as session:
        return directory_csv.export_csv(session, "officer")


def test_import_adds_and_updates_by_name_and_export_round_trips(db: Database, sealer: Any) -> None:
    secret = "a-long-webhook-secret-123"
    add(
        db,
        sealer,
        name="Hooked",
        asns="64999",
        channel="webhook",
        webhook_url="https://hooks.example.net/n",
        webhook_secret=secret,
    )
    result = _import(
        db,
        HEADER
        + "Example Hosting,64500 64501,GB FR,abuse@example.net,,email,en,\n"
        + 'hooked,64999 65000,NL,,https://hooks.example.net/v2,webhook,nl,"moved, v2"\n'
        + "Formula Host,,,ops@example.org,,email,fr,=1+2\n",
    )
    assert result.created == ("Example Hosting", "Formula Host")
    assert result.updated == ("hooked",)
    with db.read() as session:
        hooked = directory.provider_for_host(session, asn=65000, country=None)
        assert hooked is not None and hooked.name == "hooked"
        assert hooked.webhook_url == "https://hooks.example.net/v2"
        # The secret was not in the file and is kept.
        assert directory.webhook_secret(session, hooked.id, sealer) == secret.encode()
        summary = [e for e in audit.recent(session) if e.action == "hosting_provider.imported"]
    assert summary[0].detail["created"] == 2 and summary[0].detail["updated"] == 1
    exported = _export(db)
    assert exported.splitlines()[0] == HEADER.strip()
    assert "'=1+2" in exported  # spreadsheets must not run it
    assert secret not in exported
    before = snapshot(db)
    again = _import(db, exported)  # a round trip changes nothing but the update times
    assert again.created == () and len(again.updated) == 3
    assert [r[:10] for r in snapshot(db)[0]] == [r[:10] for r in before[0]]
    with db.read() as session:
        formula = directory.provider_for_host(
            session, asn=None, country=None, abuse_emails=["ops@example.org"]
        )
    assert formula is not None and formula.notes == "=1+2"


GOOD_ROW = "Good Host,65001,GB,good@example.net,,email,en,\n"


def rows(*lines: str) -> str:
    """A file whose row 2 is good and whose later rows are these (row 3 onwards)."""
    return HEADER + GOOD_ROW + "".join(line + "\n" for line in lines)


BAD_FILES = {
    "wrong columns": (HEADER.replace("asns", "asn") + GOOD_ROW, "row 1"),
    "missing column": (HEADER.replace(",notes", "") + GOOD_ROW, "row 1"),
    "secret column": (HEADER.strip() + ",webhook_secret\n", "row 1, column webhook_secret"),
    "bad ASN": (rows("A,64500 x1,GB,a@example.net,,email,en,"), "row 3, column asns"),
    "ASN too big": (rows("A,4294967296,GB,a@example.net,,email,en,"), "row 3, column asns"),
    "bad country": (rows("A,64500,GB UK,a@example.net,,email,en,"), "row 3, column countries"),
    "bad email": (rows("A,64500,GB,abuse-at-example.net,,email,en,"), "row 3, column abuse_email"),
    "duplicate names": (
        rows("A,64500,GB,a@example.net,,email,en,", "good HOST,64700,GB,c@example.net,,email,en,"),
        "row 4, column name",
    ),
    "ASN claimed twice": (
        rows("A,64500,GB,a@example.net,,email,en,", "B,64500,GB,b@example.net,,email,en,"),
        "row 4, column asns",
    ),
    "ASN of an existing provider": (
        rows("New,12345,GB,a@example.net,,email,en,"),
        "row 3, column asns",
    ),
    "new webhook without a secret": (
        rows("A,64500,GB,,https://hooks.example.net/a,webhook,en,"),
        "row 3, column channel",
    ),
    "short row": (rows("A,64500,GB"), "row 3"),
    "bad language": (rows("A,64500,GB,a@example.net,,email,klingon,"), "row 3, column language"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_imports_nothing(db: Database, sealer: Any, case: str) -> None:
    add(db, sealer, name="Existing", asns="12345")
    text, where = BAD_FILES[case]
    before = snapshot(db)
    with pytest.raises(DirectoryInvalid) as caught:
        _import(db, text)
    assert any(f.field == where for f in caught.value.fields), caught.value.fields
    assert snapshot(db) == before


def test_files_that_are_not_csv_text(db: Database) -> None:
    before = snapshot(db)
    for data, expected in [
        (b"", "The file is empty"),
        ("name\xe9".encode("latin-1"), "not UTF-8"),
        (b"x" * (directory_csv.MAX_BYTES + 1), "larger than"),
    ]:
        with pytest.raises(DirectoryInvalid, match="nothing was imported") as caught:
            _import(db, data)
        assert expected in caught.value.fields[0].message
    assert snapshot(db) == before


def test_a_byte_order_mark_and_blank_lines_are_accepted(db: Database) -> None:
    text = "\ufeff" + HEADER + "\n" + "A,64500,GB,a@example.net,,email,en,\n\n"
    assert _import(db, text.encode()).created == ("A",)

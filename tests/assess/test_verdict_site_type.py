"""What a verdict records for the published figures: the site type (from the editable list in
`site_types`) and free or paid hosting; the domain and TLD derived from the host."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from hotline.assess import actions, site_types
from hotline.db import migrate
from hotline.db.engine import Database
from hotline.errors import InvalidInput
from hotline.intake.domains import site_domain
from hotline.intake.tables import ReportedUrlRow
from hotline.security import users
from hotline.security.permissions import Actor
from tests.assess.test_assess_actions import LEASE
from tests.conftest import csrf_from
from tests.queue.test_queue_domain import report


@pytest.fixture
def ana(db: Database) -> Actor:
    with db.write() as session:
        site_types.seed_defaults(session)  # the migration seeds it; PostgreSQL tests truncate
        user = users.create_user(session, "ana", "a long enough password", ["analyst"])
    return user.actor(mfa_passed=True)


def _url(db: Database, url_id: int) -> tuple[str | None, str | None, str | None, str | None]:
    with db.read() as session:
        row = session.get(ReportedUrlRow, url_id)
        assert row is not None
        return row.site_type, row.hosting, row.domain, row.tld


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("www.example.com", ("example.com", "com")),
        ("a.b.example.co.uk", ("example.co.uk", "uk")),
        ("cdn.example.fr", ("example.fr", "fr")),
        ("192.0.2.7", ("192.0.2.7", None)),
        ("[2001:db8::1]", ("2001:db8::1", None)),
        ("localhost", ("localhost", None)),
    ],
)
def test_domain_and_tld_are_derived_from_the_host(
    host: str, expected: tuple[str, str | None]
) -> None:
    assert site_domain(host) == expected


def test_the_seeded_list_is_data(db: Database) -> None:
    with db.write() as session:
        site_types.seed_defaults(session)
        codes = [t.code for t in site_types.active_site_types(session)]
        assert codes == [
            "image_host", "cyberlocker", "forum", "website", "image_board",
            "social_network", "search_result", "other",
        ]  # fmt: skip
        session.execute(text("UPDATE site_types SET active = false WHERE code = 'forum'"))
        assert "forum" not in [t.code for t in site_types.active_site_types(session)]


def test_a_verdict_records_site_type_and_hosting(db: Database, ana: Actor) -> None:
    url_id, _ = report(db, "https://img.example.org/page")
    with db.write() as session:
        actions.claim(session, ana, url_id, LEASE)
        actions.record_verdict(
            session, ana, url_id, "criminal", "indecent_images",
            site_type="image_host", hosting="free",
        )  # fmt: skip
    assert _url(db, url_id) == ("image_host", "free", "example.org", "org")


@pytest.mark.parametrize(
    ("site_type", "hosting", "field"),
    [("blog", "", "site_type"), ("forum", "cheap", "hosting"), ("", "gratis", "hosting")],
)
def test_a_bad_site_type_or_hosting_records_nothing(
    db: Database, ana: Actor, site_type: str, hosting: str, field: str
) -> None:
    url_id, _ = report(db, "https://example.net/x")
    with db.write() as session:
        actions.claim(session, ana, url_id, LEASE)
    with pytest.raises(InvalidInput) as raised, db.write() as session:
        actions.record_verdict(
            session, ana, url_id, "criminal", "indecent_images",
            site_type=site_type, hosting=hosting,
        )  # fmt: skip
    assert [f.field for f in raised.value.fields] == [field]
    with db.read() as session:
        row = session.get(ReportedUrlRow, url_id)
        assert row is not None and row.verdict is None and row.site_type is None


def test_the_page_offers_the_list_and_records_the_choice(
    client: TestClient,
    login_as,  # type: ignore[no-untyped-def]
    db: Database,
) -> None:
    with db.write() as session:
        site_types.seed_defaults(session)
    client.post("/api/v1/reports", json={"url": "https://forum.example.com/t/1"})
    analyst = login_as(["analyst"])
    token = csrf_from(analyst.get("/staff/queue").text)
    case_url = analyst.post(
        "/staff/queue/claim-next", data={"csrf_token": token}, follow_redirects=False
    ).headers["location"]
    url_id = int(case_url.rsplit("/", 1)[1])
    page = analyst.get(f"{case_url}?lang=fr")
    assert ">Image board<" in page.text and ">Réseau social<" in page.text
    decision = {"csrf_token": token, "decision": "criminal/indecent_images"}
    bad = analyst.post(f"{case_url}/verdict", data={**decision, "site_type": "nonsense"})
    assert bad.status_code == 422 and "choisissez l’un des types de site proposés" in bad.text
    done = analyst.post(
        f"{case_url}/verdict",
        data={**decision, "site_type": "forum", "hosting": "paid"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert _url(db, url_id) == ("forum", "paid", "example.com", "com")


def test_the_migration_fills_domains_of_existing_urls(db: Database) -> None:
    url_id, _ = report(db, "https://www.site9.example/old")
    migrate.downgrade(db, "0021_member_feedback")
    migrate.upgrade(db)
    with db.read() as session:
        row = session.execute(
            select(ReportedUrlRow.domain, ReportedUrlRow.tld, ReportedUrlRow.site_type).where(
                ReportedUrlRow.id == url_id
            )
        ).one()
    assert tuple(row) == ("site9.example", "example", None)


@pytest.mark.parametrize("host", ["www.example.com", "a.b.example.co.uk", "[2001:db8::1]", "x"])
def test_the_migration_derives_as_intake_does(host: str) -> None:
    import importlib

    migration = importlib.import_module("hotline.db.migrations.versions.0022_stats_verdicts")
    assert migration.site_domain(host) == site_domain(host)

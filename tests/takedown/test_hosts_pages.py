"""The directory's staff pages through the in-process client: add, edit, list, delete, CSV
import and export, each with CSRF; secrets never shown again; other roles refused."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.intake.tables import ReportedUrlRow
from hotline.security import audit
from hotline.takedown import directory
from hotline.takedown.tables import HostingProviderRow, TakedownCaseRow
from tests.conftest import csrf_from

Login = Callable[[list[str]], TestClient]
SECRET = "page-entered-secret-0123456789"
HEADER = "name,asns,countries,abuse_email,webhook_url,channel,language,notes\n"


def form(**over: str) -> dict[str, str]:
    base = {
        "name": "Example Hosting",
        "asns": "64500, 64501",
        "countries": "GB",
        "abuse_email": "abuse@example.net",
        "webhook_url": "",
        "webhook_secret": "",
        "channel": "email",
        "language": "en",
        "notes": "",
    }
    base.update(over)
    return base


def post(client: TestClient, page: str, url: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def rows(db: Database) -> list[tuple[object, ...]]:
    with db.read() as session:
        found = session.execute(select(HostingProviderRow).order_by(HostingProviderRow.id))
        return [
            (r.id, r.name, r.asns, r.channel, r.webhook_secret_sealed, r.updated_at)
            for r in found.scalars()
        ]


def test_add_edit_list_and_delete(login_as: Login, db: Database, settings: Settings) -> None:
    client = login_as(["takedown_officer"])
    assert "The directory is empty" in client.get("/staff/hosts").text
    created = post(
        client,
        "/staff/hosts/new",
        "/staff/hosts/new",
        form(channel="webhook", webhook_url="https://hooks.example.net/n", webhook_secret=SECRET),
    )
    assert created.status_code == 303
    location = created.headers["location"]
    provider_id = int(location.split("/")[-1].split("?")[0])
    edit = client.get(location)
    assert edit.status_code == 200 and "Saved." in edit.text
    assert SECRET not in edit.text and "A secret is set" in edit.text
    for label in ("Name", "AS numbers", "Countries", "Abuse email address", "Webhook secret"):
        assert f">{label}</label>" in edit.text
    listing = client.get("/staff/hosts").text
    assert "Example Hosting" in listing and "64500 64501" in listing and ">set<" in listing
    assert SECRET not in listing

    # Saving without a secret keeps it; a bad field comes back with its error beside it.
    page = f"/staff/hosts/{provider_id}"
    kept = form(channel="webhook", webhook_url="https://hooks.example.net/n", language="fr")
    assert post(client, page, page, kept).status_code == 303
    with db.read() as session:
        assert directory.get_provider(session, provider_id).language == "fr"
        sealer = directory.secret_sealer(settings.secret)
        assert directory.webhook_secret(session, provider_id, sealer) == SECRET.encode()
    before = rows(db)
    bad = post(client, page, page, form(asns="64500 not-a-number", countries="XX"))
    assert bad.status_code == 422
    text = html.unescape(bad.text)
    assert 'id="asns-error"' in text and "not-a-number is not an AS number" in text
    assert 'id="countries-error"' in text and 'aria-invalid="true"' in text
    assert 'value="64500 not-a-number"' in text  # what was typed is kept
    assert rows(db) == before

    delete_page = f"/staff/hosts/{provider_id}/delete"
    assert "Example Hosting" in client.get(delete_page).text
    deleted = post(client, delete_page, delete_page, {})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/staff/hosts"
    assert rows(db) == []
    with db.read() as session:
        actions = {
            e.action for e in audit.entries_for(session, "hosting_provider", str(provider_id))
        }
    assert {
        "hosting_provider.created",
        "hosting_provider.viewed",
        "hosting_provider.updated",
        "hosting_provider.deleted",
    } <= actions


def test_new_webhook_provider_needs_a_secret(login_as: Login, db: Database) -> None:
    client = login_as(["takedown_officer"])
    response = post(
        client,
        "/staff/hosts/new",
        "/staff/hosts/new",
        form(channel="webhook", webhook_url="https://hooks.example.net/n"),
    )
    assert response.status_code == 422 and 'id="webhook_secret-error"' in response.text
    assert "Webhook notices need a secret." in response.text
    assert rows(db) == []


def test_a_provider_with_cases_is_not_deleted(login_as: Login, db: Database) -> None:
    client = login_as(["takedown_officer"])
    post(client, "/staff/hosts/new", "/staff/hosts/new", form())
    [(provider_id, *_)] = rows(db)
    now = datetime.now(UTC)
    with db.write() as session:
        url = ReportedUrlRow(
            url_hash="b" * 64,
            normalized_url="https://site.example.org/p",
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
                reference="TD-PAGE-0001",
                state="notified",
                provider_id=provider_id,
                first_reported_at=now,
                proposed_at=now,
                reminders_sent=0,
                checks=0,
                unreachable_streak=0,
                flagged=False,
            )
        )
    page = f"/staff/hosts/{provider_id}/delete"
    shown = client.get(page)
    assert (
        "1 takedown case refers to it" in shown.text
        and "<button" not in shown.text.split("<main")[1]
    )
    # A POST anyway (e.g. from an older tab) is refused with 409 and changes nothing.
    token = csrf_from(client.get("/staff/hosts/new").text)
    refused = client.post(page, data={"csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 409 and len(rows(db)) == 1


def test_import_and_export(login_as: Login, db: Database) -> None:
    client = login_as(["takedown_officer"])
    good = (
        HEADER
        + "Alpha Host,64500,GB,abuse@alpha.example,,email,en,\n"
        + "Beta Host,64600 64601,FR DE,abuse@beta.example,,email,fr,=SUM(1)\n"
    )
    token = csrf_from(client.get("/staff/hosts/import").text)
    done = client.post(
        "/staff/hosts/import",
        data={"csrf_token": token},
        files={"file": ("hosts.csv", good.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "Imported: 2 added, 0 updated." in client.get(done.headers["location"]).text
    exported = client.get("/staff/hosts/export.csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    lines = exported.text.splitlines()
    assert lines[0] == HEADER.strip() and lines[1].startswith("Alpha Host,64500,GB,")
    assert lines[2].endswith(",fr,'=SUM(1)")

    before = rows(db)
    bad = (
        HEADER
        + "Gamma Host,64700,GB,abuse@gamma.example,,email,en,\n"
        + "Delta,64800,GB,not-an-email,,email,en,\n"
    )
    refused = client.post(
        "/staff/hosts/import",
        data={"csrf_token": token},
        files={"file": ("bad.csv", bad.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert refused.status_code == 422
    assert (
        "Row 3, column abuse_email:" in refused.text
        and "Nothing was imported from bad.csv" in refused.text
    )
    assert rows(db) == before
    empty = client.post("/staff/hosts/import", data={"csrf_token": token}, follow_redirects=False)
    assert empty.status_code == 422 and "Choose a CSV file" in empty.text
    with db.read() as session:
        actions = [e.action for e in audit.recent(session, 50)]
    assert "hosting_provider.imported" in actions and "hosting_provider.exported" in actions


def test_posts_need_the_csrf_token(login_as: Login, db: Database) -> None:
    client = login_as(["takedown_officer"])
    response = client.post("/staff/hosts/new", data=form(), follow_redirects=False)
    assert response.status_code == 403 and rows(db) == []


def test_other_roles_are_refused(login_as: Login, db: Database) -> None:
    client = login_as(["analyst", "content_editor"])
    for path in (
        "/staff/hosts",
        "/staff/hosts/new",
        "/staff/hosts/import",
        "/staff/hosts/export.csv",
    ):
        assert client.get(path).status_code == 403
    token = csrf_from(client.get("/staff").text)
    response = client.post("/staff/hosts/new", data={**form(), "csrf_token": token})
    assert response.status_code == 403 and rows(db) == []


def test_signed_out_visitors_are_sent_to_sign_in(client: TestClient) -> None:
    response = client.get("/staff/hosts", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/staff/login")

"""The staff search box (/staff/search): what was typed is read as an address, a domain, a
reference, a hash, a colleague or a member; only the lists the person's roles open are
searched, each with a count and a link to the list filtered; every search is audited; bad
input gets the form again with the text kept."""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Callable
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import InvalidInput
from hotline.grading import service
from hotline.intake import reports
from hotline.intake.tables import ReportedUrlRow
from hotline.matching.tables import MemberRow
from hotline.security.permissions import Actor, Role
from hotline.security.tables import AuditRow
from hotline.stats import staff_search
from hotline.takedown.tables import HostingProviderRow, TakedownCaseRow
from tests.conftest import StaffFactory

Login = Callable[[list[str]], TestClient]
SHA = hashlib.sha256(b"benign test item").hexdigest()


def _report(db: Database, url: str) -> str:
    with db.write() as session:
        return reports.submit(
            session, reports.validate({"url": url}), reports.Source.web, None
        ).reference


@pytest.fixture
def seeded(db: Database) -> dict[str, str]:
    """Two reports on shop.example.com, one elsewhere, a media item found on
    shop.example.com, a hosting provider and an industry member."""
    first = _report(db, "https://shop.example.com/a")
    _report(db, "https://shop.example.com/b")
    _report(db, "https://other.example.org/c")
    now = utcnow()
    with db.write() as session:
        service.register_media(
            session,
            url_id=None,
            source_url="https://shop.example.com/img/1.png",
            kind="image",
            hashes=service.MediaHashesIn(
                md5=hashlib.md5(b"x").hexdigest(),
                sha1=hashlib.sha1(b"x").hexdigest(),
                sha256=SHA,
                pdq=None,
                pdq_quality=None,
            ),
            byte_count=10,
            stored=False,
            purge_after=None,
        )
        session.add(
            HostingProviderRow(
                name="Shop Hosting Example",
                asns="64500",
                countries="GB",
                abuse_email="abuse@shop.example.com",
                channel="email",
                language="en",
                created_at=now,
                updated_at=now,
            )
        )
        session.add(MemberRow(name="examplemember", created_at=now))
        shop_a = session.execute(
            select(ReportedUrlRow.id).where(ReportedUrlRow.normalized_url.like("%shop%/a"))
        ).scalar_one()
        session.add(
            TakedownCaseRow(
                url_id=shop_a,
                reference="TD-ABCD2345",
                state="proposed",
                first_reported_at=now,
                proposed_at=now,
                reminders_sent=0,
                checks=0,
                unreachable_streak=0,
                flagged=False,
            )
        )
    return {"reference": first}


def _hits(page: str) -> dict[str, str]:
    """Link address -> its line's text, from the answer's list."""
    listed = page.split('id="search-hits"')[1].split("</ul>")[0]
    out = {}
    for item in listed.split("<li>")[1:]:
        href = html.unescape(item.split('href="')[1].split('"')[0])
        out[href] = item.split("</a>")[1].split("</li>")[0].strip(": \n")
    return out


def test_a_domain_finds_reports_addresses_and_media_with_counts(
    login_as: Login, seeded: dict[str, str], db: Database
) -> None:
    client = login_as(["analyst"])
    page = client.get("/staff/search", params={"q": "shop.example.com"})
    assert page.status_code == 200
    hits = _hits(page.text)
    assert hits == {
        "/staff/reports?q=shop.example.com": "2",
        "/staff/queue?q=shop.example.com": "2",
        "/staff/grading?domain=shop.example.com": "1",  # an indexed count (migration 0030)
    }
    # Each link opens the list it counted, filtered.
    for href in hits:
        assert client.get(href).status_code == 200
    with db.read() as session:
        entry = session.execute(
            select(AuditRow).where(AuditRow.action == "staff.search")
        ).scalar_one()
    assert json.loads(entry.detail)["q"] == "shop.example.com"


def test_a_reference_and_a_hash_prefix(login_as: Login, seeded: dict[str, str]) -> None:
    client = login_as(["analyst"])
    reference = seeded["reference"]
    hits = _hits(client.get("/staff/search", params={"q": reference.lower()}).text)
    assert hits[f"/staff/reports?q={quote(reference.lower())}"] == "1"
    hits = _hits(client.get("/staff/search", params={"q": SHA[:8].upper()}).text)
    assert hits == {f"/staff/grading?q={SHA[:8]}": "1"}


def test_each_role_sees_only_the_lists_it_may_open(
    login_as: Login, seeded: dict[str, str], client: TestClient, staff: StaffFactory
) -> None:
    admin = login_as(["admin"])  # takedown and members, never media
    hits = _hits(admin.get("/staff/search", params={"q": "shop.example.com"}).text)
    assert hits["/staff/takedown/search?q=shop.example.com"] == "1"
    assert _hits(admin.get("/staff/search", params={"q": "td-abcd2345"}).text) == {
        "/staff/takedown/search?q=td-abcd2345": "1"
    }
    assert hits["/staff/hosts?q=shop.example.com"] == "1"
    assert not any(href.startswith("/staff/grading") for href in hits)
    named = _hits(admin.get("/staff/search", params={"q": "ExampleMember"}).text)
    assert named == {"/staff/members": "", "/staff/hosts?q=ExampleMember": "0"}
    # A hash: only the media list could show it, and an admin may not open it.
    refused = admin.get("/staff/search", params={"q": SHA[:8]})
    assert refused.status_code == 422
    assert f'value="{SHA[:8]}"' in refused.text
    assert "none of the lists open to you can search for that" in refused.text


def test_a_colleague_is_found_by_username(
    login_as: Login, staff: StaffFactory, seeded: dict[str, str]
) -> None:
    staff.create(["analyst"], username="colleague-ana")
    client = login_as(["analyst"])
    hits = _hits(client.get("/staff/search", params={"q": "Colleague-Ana"}).text)
    assert hits == {"/staff/queue?assignee=colleague-ana": "0"}


def test_a_role_without_reported_addresses_gets_no_box(
    client: TestClient, staff: StaffFactory
) -> None:
    staff.login(client, ["content_editor"])
    assert 'action="/staff/search"' not in client.get("/staff").text
    assert client.get("/staff/search", params={"q": "example.com"}).status_code == 403


def test_the_box_is_in_the_staff_header(login_as: Login) -> None:
    client = login_as(["takedown_officer"])
    header = client.get("/staff").text.split('aria-label="Staff areas"')[1].split("</nav>")[0]
    assert 'action="/staff/search"' in header and 'href="/staff/search"' in header
    assert client.get("/staff/search").status_code == 200  # the empty form


@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("", "type what to search for"),
        ("   ", "type what to search for"),
        ("x" * 301, "the search is too long"),
        ("<b>nothing & no list</b>", "none of the lists open to you can search for that"),
        ("https://exa mple.com/", "none of the lists open to you can search for that"),
    ],
)
def test_bad_input_keeps_what_was_typed(
    login_as: Login, seeded: dict[str, str], q: str, message: str
) -> None:
    client = login_as(["analyst"])
    page = client.get("/staff/search", params={"q": q})
    assert page.status_code == 422
    assert message in page.text
    assert f'value="{html.escape(q.strip() if q.strip() else q, quote=True)}"' in page.text
    assert 'id="search-hits"' not in page.text


def test_counts_stop_at_the_cap(
    db: Database, seeded: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staff_search, "CAP", 1)
    analyst = Actor(1, "ana", frozenset({Role.analyst}), mfa_passed=True)
    with db.write() as session:
        result = staff_search.search(session, analyst, "shop.example.com")
    reports_hit = result.hits[0]
    assert (reports_hit.count, reports_hit.capped) == (1, True)
    assert result.kinds == ["host"]


def test_the_use_case_refuses_without_the_permission(db: Database) -> None:
    grader = Actor(1, "tf", frozenset({Role.taskforce_grader}), mfa_passed=True)
    with pytest.raises(Exception, match="not allow"), db.write() as session:
        staff_search.search(session, grader, "example.com")
    analyst = Actor(1, "ana", frozenset({Role.analyst}), mfa_passed=True)
    with pytest.raises(InvalidInput), db.write() as session:
        staff_search.search(session, analyst, "")


def test_the_page_in_french(login_as: Login, seeded: dict[str, str]) -> None:
    client = login_as(["analyst"])
    page = client.get("/staff/search", params={"q": "shop.example.com", "lang": "fr"}).text
    assert "Rechercher" in page and "Signalements" in page
    assert "Lu comme" in page and "Adresses signalées, tous états" in page
    assert "</a>\u00a0: 1</li>" in page  # French: a no-break space before the colon

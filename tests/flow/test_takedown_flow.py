"""Notice and takedown, end to end: two hotline instances on loopback and a benign local site.

A report whose host is "local" (in Hotline A's country) gets an email notice through a real
SMTP server, reminders until the test site removes the page, the clock stops, and the
figures page shows it. A report whose host is "abroad" (in Hotline B's country) is forwarded
to B, lands in B's queue, and B's statuses (actioned, removed) come back and stop A's clock.

Everything goes through the production guards: site and partner host names resolve (in the
test) to public-looking addresses that the test's network backend dials on 127.0.0.1.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hotline.assess.fetcher import FetchPolicy
from hotline.assess.hosting_csv import CsvRangeResolver
from hotline.config import Settings, load_settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.exchange import actions, partners
from hotline.exchange.tables import ForwardRow, InboundReportRow
from hotline.intake.tables import ReportedUrlRow
from hotline.jobs import queue as jobs
from hotline.jobs.tables import JobRow
from hotline.security.permissions import Actor
from hotline.takedown import directory, provider_rules
from hotline.takedown.tables import NoticeRow, TakedownCaseRow
from hotline.web.app import create_app
from tests.assess.conftest import LoopbackNat, draw_image
from tests.conftest import TEST_SECRET, StaffFactory, csrf_from
from tests.exchange.conftest import LiveServer
from tests.jobs.drain import drain
from tests.takedown.cases_support import Smtp

# Public-looking addresses the resolver hands out; LoopbackNat dials 127.0.0.1 instead.
LOCAL_IP, ABROAD_IP, A_IP, B_IP = "11.22.33.44", "11.22.33.46", "11.22.33.47", "11.22.33.48"
NAMES = {
    "local.example": LOCAL_IP,
    "abroad.example": ABROAD_IP,
    "hotline-a.example": A_IP,
    "hotline-b.example": B_IP,
}
LOCAL_URL = "http://local.example/gallery/page.html"
ABROAD_URL = "http://abroad.example/gallery/page.html"
IMAGE = draw_image(7)


class Site(BaseHTTPRequestHandler):
    """Both benign hosts (the NAT sends them to one server): a page with one drawn image."""

    removed: ClassVar[set[str]] = set()

    def do_GET(self) -> None:
        page = b'<html><body><h1>Gallery</h1><img src="/gallery/1.png"></body></html>'
        routes = {"/gallery/page.html": ("text/html", page), "/gallery/1.png": ("image/png", IMAGE)}
        host = (self.headers.get("Host") or "").split(":")[0]
        found = routes.get(self.path)
        if found is None or f"{host}{self.path}" in self.removed:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", found[0])
        self.send_header("Content-Length", str(len(found[1])))
        self.end_headers()
        self.wfile.write(found[1])

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Hotline:
    name: str
    settings: Settings
    db: Database
    app: FastAPI
    server: LiveServer
    policy: FetchPolicy

    def run_jobs(self) -> int:
        return drain(self.db, self.settings, self.policy)

    def tick(self) -> int:
        """One scheduler tick now (the periodic one may be a minute away) and what follows."""
        with self.db.write() as session:
            jobs.enqueue(session, "takedown.tick", {}, dedupe_key="periodic:takedown.tick")
            session.execute(update(JobRow).where(JobRow.state == "queued").values(run_at=utcnow()))
        return self.run_jobs()

    def case_for(self, url_id: int) -> TakedownCaseRow:
        with self.db.read() as session:
            row = session.scalars(
                select(TakedownCaseRow).where(TakedownCaseRow.url_id == url_id)
            ).one()
            return row

    def make_due(self, case_id: int, *fields: str) -> None:
        past = utcnow() - timedelta(seconds=1)
        with self.db.write() as session:
            session.execute(
                update(TakedownCaseRow)
                .where(TakedownCaseRow.id == case_id)
                .values(**dict.fromkeys(fields, past))
            )


@pytest.fixture
def site() -> Iterator[int]:
    Site.removed = set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    server = Smtp()
    server.start()
    yield server
    server.stop()


def _hotline(
    name: str, db: Database, data_dir: Path, secret: str, smtp: Smtp, ranges: Path, nat: Any
) -> Hotline:
    settings = load_settings(
        mode="development",
        data_dir=data_dir,
        database_url=db.url,
        secret_key=secret,
        require_2fa=True,
        organisation_name=name,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        mail_from=f"notices@{name.lower().replace(' ', '-')}.example.org",
        exchange_timeout_seconds=5,
    )
    policy = FetchPolicy(
        resolver=lambda host, port: [NAMES[host]] if host in NAMES else [],
        network_backend=nat,
    )
    app = create_app(settings, db)
    app.state.fetch_policy = policy
    app.state.host_resolvers = [CsvRangeResolver(ranges)]
    return Hotline(name, settings, db, app, LiveServer(app), policy)


@pytest.fixture
def hotlines(
    db: Database, sqlite_template: Path, tmp_path: Path, site: int, smtp: Smtp
) -> Iterator[tuple[Hotline, Hotline]]:
    ranges = tmp_path / "ranges.csv"
    ranges.write_text(
        "cidr,asn,organisation,country,abuse_email\n"
        f"{LOCAL_IP}/32,64500,Local Hosting Ltd,GB,abuse@local-hosting.example\n"
        f"{ABROAD_IP}/32,64501,Abroad Hosting GmbH,DE,abuse@abroad-hosting.example\n"
    )
    nat = LoopbackNat(site, site)

    b_path = tmp_path / "b.db"
    shutil.copy(sqlite_template, b_path)
    b_db = Database(f"sqlite:///{b_path}")
    a = _hotline("Hotline A", db, tmp_path / "a", TEST_SECRET, smtp, ranges, nat)
    b = _hotline("Hotline B", b_db, tmp_path / "b", "b-secret-" + "y" * 40, smtp, ranges, nat)
    a.server.start()
    b.server.start()
    nat.ports.update({LOCAL_IP: site, ABROAD_IP: site, A_IP: a.server.port, B_IP: b.server.port})
    # What two admins do: each prints its key (`hotline partner key`) and adds the other.
    with a.db.write() as session:
        a_key = actions.our_key(session, Actor.operator(), a.settings.secret)
    with b.db.write() as session:
        b_key = actions.our_key(session, Actor.operator(), b.settings.secret)
        partners.add(session, a.name, "GB", "http://hotline-a.example", a_key.public_key)
    with a.db.write() as session:
        partners.add(session, b.name, "DE", "http://hotline-b.example", b_key.public_key)
        # A's host directory knows the local host: notices by email to its abuse desk.
        directory.create_provider(
            session,
            provider_rules.parse(
                {
                    "name": "Local Hosting Ltd",
                    "asns": "64500",
                    "countries": "GB",
                    "abuse_email": "abuse@local-hosting.example",
                    "channel": "email",
                    "language": "en",
                }
            ),
            None,
            "test",
        )
    yield a, b
    a.server.stop()
    b.server.stop()
    b_db.dispose()


def assess(hotline: Hotline, client: TestClient, url: str) -> int:
    """An analyst claims the next address, captures it and gives the verdict 'criminal'."""
    token = csrf_from(client.get("/staff/queue").text)
    case_url = client.post(
        "/staff/queue/claim-next", data={"csrf_token": token}, follow_redirects=False
    ).headers["location"]
    url_id = int(case_url.rsplit("/", 1)[1])
    with hotline.db.read() as session:
        row = session.get(ReportedUrlRow, url_id)
        assert row is not None and row.normalized_url == url
    captured = client.post(f"{case_url}/capture", data={"csrf_token": token})
    assert captured.status_code == 200
    verdict = client.post(
        f"{case_url}/verdict",
        data={"csrf_token": token, "decision": "criminal/indecent_images"},
        follow_redirects=False,
    )
    assert verdict.status_code == 303, verdict.text
    hotline.run_jobs()  # the verdict's reactions: takedown opens the case, exchange routes it
    return url_id


def test_report_to_removal_at_home_and_abroad(
    hotlines: tuple[Hotline, Hotline], staff: StaffFactory, smtp: Smtp
) -> None:
    a, b = hotlines
    b_staff = StaffFactory(b.db, b.settings)
    with (
        TestClient(a.app) as public,
        TestClient(a.app) as analyst,
        TestClient(a.app) as officer,
        TestClient(b.app) as b_analyst,
        TestClient(b.app) as b_officer,
    ):
        local_ref = public.post("/api/v1/reports", json={"url": LOCAL_URL}).json()["reference"]
        public.post("/api/v1/reports", json={"url": ABROAD_URL})
        staff.login(analyst, ["analyst"])
        staff.login(officer, ["takedown_officer"])
        b_staff.login(b_analyst, ["analyst"])
        b_staff.login(b_officer, ["takedown_officer"])

        # -- "local": a notice by email, reminders, removal, the clock stops --------------
        local_id = assess(a, analyst, LOCAL_URL)
        case = a.case_for(local_id)
        assert (case.state, case.country, case.host_name) == (
            "proposed",
            "GB",
            "Local Hosting Ltd",
        )
        page = officer.get(f"/staff/takedown/{case.id}").text
        assert "Local Hosting Ltd" in page
        confirmed = officer.post(
            f"/staff/takedown/{case.id}/confirm",
            data={"csrf_token": csrf_from(page), "provider_id": str(case.provider_id)},
            follow_redirects=False,
        )
        assert confirmed.status_code == 303
        a.run_jobs()
        assert len(smtp.mailbox.messages) == 1
        sender, recipients, raw = smtp.mailbox.messages[0]
        assert sender == "notices@hotline-a.example.org"
        assert recipients == ["abuse@local-hosting.example"]
        notice = raw.decode()
        assert LOCAL_URL in notice and case.reference in notice
        assert "Protection of Children Act" in notice
        assert "attachment" not in notice.lower() and "image/" not in notice  # never content

        case = a.case_for(local_id)
        assert case.state == "notified" and case.first_notice_at is not None
        a.make_due(case.id, "next_check_at")
        a.tick()  # still there: the check says present, nothing stops
        assert a.case_for(local_id).removed_at is None

        a.make_due(case.id, "next_reminder_at")
        a.tick()
        assert len(smtp.mailbox.messages) == 2  # a reminder
        assert "reminder" in smtp.mailbox.messages[1][2].decode().lower()

        Site.removed.add("local.example/gallery/page.html")  # the host takes the page down
        a.make_due(case.id, "next_check_at")
        a.tick()
        case = a.case_for(local_id)
        assert case.state == "removed" and case.removal_reason == "gone"
        assert case.removed_at is not None and case.removed_at >= case.first_notice_at
        with a.db.read() as session:
            url_row = session.get(ReportedUrlRow, local_id)
            assert url_row is not None and url_row.removed_at == case.removed_at
            notices = session.scalars(select(NoticeRow).where(NoticeRow.case_id == case.id))
            assert [n.kind for n in notices] == ["notice", "reminder"]
        a.make_due(case.id, "next_reminder_at")
        a.tick()
        assert len(smtp.mailbox.messages) == 2  # no reminder after removal
        assert public.get(f"/api/v1/reports/{local_ref}").json()["status"] == "actioned"

        figures = officer.get("/staff/stats/removal")
        assert figures.status_code == 200
        assert "<svg" in figures.text and "Local Hosting Ltd" in figures.text
        csv_text = officer.get("/staff/stats/removal.csv").text
        local_line = next(line for line in csv_text.splitlines() if case.reference in line)
        assert LOCAL_URL in local_line and ",GB," in local_line

        # -- "abroad": forwarded to the partner, statuses come back ----------------------
        abroad_id = assess(a, analyst, ABROAD_URL)
        abroad = a.case_for(abroad_id)
        assert (abroad.state, abroad.route, abroad.country) == ("forwarded", "partner", "DE")
        a.run_jobs()  # the forward was delivered to B's API with the verdict's reactions
        with a.db.read() as session:
            forward = session.scalars(
                select(ForwardRow).where(ForwardRow.case_id == abroad.id)
            ).one()
            assert (forward.state, forward.remote_status) == ("delivered", "received")
        with b.db.read() as session:
            inbound = session.scalars(select(InboundReportRow)).one()
            assert '"Hotline A"' in inbound.provenance and abroad.reference in inbound.provenance

        b_url_id = assess(b, b_analyst, ABROAD_URL)  # B's analyst confirms it
        assert b_url_id == inbound.url_id
        b.run_jobs()  # B tells A: actioned
        with a.db.read() as session:
            assert session.get(ForwardRow, forward.id).remote_status == "actioned"  # type: ignore[union-attr]

        b_case = b.case_for(b_url_id)
        page = b_officer.get(f"/staff/takedown/{b_case.id}").text
        removed = b_officer.post(
            f"/staff/takedown/{b_case.id}/removal",
            data={"csrf_token": csrf_from(page), "at": "", "note": "host confirmed"},
            follow_redirects=False,
        )
        assert removed.status_code == 303
        b.run_jobs()  # B tells A: removed
        abroad = a.case_for(abroad_id)
        assert abroad.state == "removed" and abroad.removal_reason == "partner_reported"
        assert len(smtp.mailbox.messages) == 2  # the abroad host was never sent a notice

        csv_text = officer.get("/staff/stats/removal.csv").text
        assert abroad.reference in csv_text

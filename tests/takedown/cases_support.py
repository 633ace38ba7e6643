"""Shared pieces for the takedown case tests: a criminal URL with its host trace and graded
media, directory entries, a local SMTP server (aiosmtpd) and a benign local site whose pages
the test changes, reached through the safe fetcher on 127.0.0.1 only."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from hotline.assess import queue
from hotline.assess.fetcher import FetchPolicy
from hotline.assess.hosting import HostInfo, HostTrace, TraceOutcome
from hotline.assess.hosting_store import record_trace
from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.grading import service
from hotline.grading.tables import MediaItemRow
from hotline.hashing import hash_bytes
from hotline.intake import reports
from hotline.intake.tables import ReportedUrlRow
from hotline.jobs.tables import JobRow
from hotline.security import users
from hotline.takedown import directory
from hotline.takedown.tables import TakedownCaseRow
from tests.assess.conftest import draw_image
from tests.jobs.drain import drain

SITE_HOST = "site.example"
ASN = 64500


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- data --------------------------------------------------------------------------------------


def criminal_url(
    db: Database,
    url: str,
    *,
    asn: int | None = ASN,
    country: str | None = "GB",
    abuse: tuple[str, ...] = ("abuse@hosting.example",),
    organisation: str = "Example Hosting Ltd",
    media: tuple[tuple[bytes, str | None], ...] = (),
) -> int:
    """A reported URL judged criminal, traced to a host, with media (bytes, UK category or
    None for ungraded). Returns the URL id."""
    with db.write() as session:
        reports.submit(session, reports.validate({"url": url}), reports.Source.api, None)
        url_id = session.execute(
            select(ReportedUrlRow.id).where(
                ReportedUrlRow.normalized_url == reports.validate({"url": url}).url
            )
        ).scalar_one()
        analyst = users.create_user(
            session, f"analyst{url_id}", "a long enough password", ["analyst"]
        )
        queue.claim(session, url_id, analyst.id)
        queue.record_verdict(session, url_id, analyst.id, queue.Verdict.criminal, "indecent_images")
        if asn is not None or country is not None:
            info = HostInfo(
                ip="11.22.33.44",
                source="csv",
                asn=asn,
                organisation=organisation,
                country=country,
                abuse_emails=abuse,
            )
            trace = HostTrace("11.22.33.44", TraceOutcome.TRACED, utcnow(), info, ("csv",))
            record_trace(session, url_id, None, trace)
        for body, category in media:
            item = service.register_media(
                session,
                url_id=url_id,
                source_url=f"{url}#media",
                kind="image",
                hashes=service.MediaHashesIn.of(hash_bytes(body)),
                byte_count=len(body),
                stored=False,
                purge_after=None,
            )
            if category is not None:
                row = session.get(MediaItemRow, item.id)
                assert row is not None
                row.final_grade = json.dumps({"category": category, "age_band": "11-13"})
                row.status = service.MediaStatus.agreed.value
    return url_id


def add_provider(
    db: Database, settings: Settings, name: str = "Example Hosting", **over: str
) -> directory.Provider:
    values = {
        "name": name,
        "asns": str(ASN),
        "countries": "GB",
        "abuse_email": "abuse@hosting.example",
        "webhook_url": "",
        "webhook_secret": "",
        "channel": "email",
        "language": "en",
        "notes": "",
    }
    values.update(over)
    with db.write() as session:
        return directory.create_provider(
            session, directory.parse(values), directory.secret_sealer(settings.secret), "test"
        )


def case_row(db: Database, case_id: int) -> TakedownCaseRow:
    with db.read() as session:
        row = session.get(TakedownCaseRow, case_id)
        assert row is not None
        session.expunge(row)
        return row


def set_case(db: Database, case_id: int, **values: Any) -> None:
    with db.write() as session:
        session.execute(
            update(TakedownCaseRow).where(TakedownCaseRow.id == case_id).values(**values)
        )


def due(db: Database, case_id: int, *fields: str) -> None:
    """Move time: make the case's next check and/or reminder due now."""
    set_case(db, case_id, **{f: utcnow() - timedelta(seconds=1) for f in fields})


def jobs_due_now(db: Database) -> None:
    """Move time for queued jobs (retries waiting out their backoff)."""
    with db.write() as session:
        session.execute(
            update(JobRow)
            .where(JobRow.state == "queued")
            .values(run_at=utcnow() - timedelta(seconds=1))
        )


def run_jobs(db: Database, settings: Settings, policy: FetchPolicy | None = None) -> int:
    return drain(db, settings, policy or FetchPolicy())


def tick(db: Database, settings: Settings, policy: FetchPolicy | None = None) -> int:
    """One scheduler tick and everything it leads to."""
    from hotline.jobs import queue as jobs

    with db.write() as session:
        jobs.enqueue(session, "takedown.tick", {}, dedupe_key="periodic:takedown.tick")
    jobs_due_now(db)  # the periodic tick may already be queued for a minute later
    return run_jobs(db, settings, policy)


# -- a local SMTP server -----------------------------------------------------------------------


class Mailbox:
    """aiosmtpd handler: keeps what it accepts; `refuse` makes it refuse every recipient."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse: str | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@dataclass
class Smtp:
    port: int = field(default_factory=free_port)
    mailbox: Mailbox = field(default_factory=Mailbox)
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def smtp_server() -> Iterator[Smtp]:
    """For a fixture: an SMTP server on 127.0.0.1, not started until the test says (so it
    can be down)."""
    server = Smtp()
    yield server
    server.stop()


def with_smtp(settings: Settings, smtp: Smtp, **over: Any) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "smtp_timeout_seconds": 5,
            "mail_from": "notices@hotline.example.org",
            **over,
        }
    )


# -- a benign local site -----------------------------------------------------------------------

PNG_SHOWN = draw_image(3, size=128)  # the "matched" media: benign shapes, PDQ quality 100
PNG_OTHER = draw_image(20, size=128)
PNG_THIRD = draw_image(41, size=128)  # graded on another URL: known material


class _Handler(BaseHTTPRequestHandler):
    server: _SiteServer

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        status, ctype, body = self.server.routes.get(self.path, (404, "text/plain", b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, tuple[int, str, bytes]]
    hits: list[str]


@dataclass
class Site:
    server: _SiteServer
    dns: dict[str, str]  # host name -> address; a missing name does not resolve

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://{SITE_HOST}:{self.port}{path}"

    def serve(self, path: str, body: bytes, ctype: str = "text/html", status: int = 200) -> None:
        self.server.routes[path] = (status, ctype, body)

    def page_with(self, path: str, *images: str) -> None:
        tags = "".join(f'<img src="{src}">' for src in images)
        self.serve(path, f"<html><body><h1>Gallery</h1>{tags}</body></html>".encode())

    @property
    def policy(self) -> FetchPolicy:
        """The production guard, with only this test's loopback site let through."""

        def resolve(host: str, port: int) -> list[str]:
            if host not in self.dns:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [self.dns[host]]

        return FetchPolicy(
            resolver=resolve,
            allow_networks=("127.0.0.1/32",),
            connect_timeout_s=2,
            read_timeout_s=2,
            fetch_timeout_s=5,
            capture_timeout_s=10,
        )


def local_site() -> Iterator[Site]:
    """For a fixture: the running site, stopped afterwards."""
    server = _SiteServer(("127.0.0.1", 0), _Handler)
    server.routes, server.hits = {}, []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield Site(server, {SITE_HOST: "127.0.0.1"})
    server.shutdown()
    server.server_close()
    thread.join(5)

"""Helpers for crawl tests: confirmed URLs, known images, and driving workers until a crawl
is over."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select, update

from hotline import handlers
from hotline.assess.fetcher import FetchPolicy
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.grading import service
from hotline.hashing import hash_bytes
from hotline.intake import reports
from hotline.intake.tables import ReportedUrlRow
from hotline.jobs.worker import Worker
from hotline.proactive import actions
from hotline.proactive.politeness import Politeness
from hotline.proactive.scope import ScopeRules
from hotline.proactive.tables import CrawlRow
from hotline.security.permissions import Actor
from tests.known.support import grade_alike, graders

OPERATOR = Actor.operator("tester")
FAST = Politeness(enabled=False)


def confirm(db: Database, url: str) -> int:
    """A reported URL with a criminal verdict, as an analyst's decision leaves it."""
    with db.write() as session:
        reports.submit(session, reports.validate({"url": url}), reports.Source.web, None)
        url_id = session.execute(select(ReportedUrlRow.id)).scalars().all()[-1]
        session.execute(
            update(ReportedUrlRow).where(ReportedUrlRow.id == url_id).values(verdict="criminal")
        )
    return int(url_id)


def known_image(db: Database, data: bytes) -> int:
    """A finally graded media item with these bytes' hashes: known material."""
    people = graders(db)
    hashes = hash_bytes(data)
    with db.write() as session:
        media = service.register_media(
            session,
            url_id=None,
            source_url="https://gallery.example/drawn.png",
            kind="image",
            hashes=service.MediaHashesIn.of(hashes),
            byte_count=len(data),
            stored=False,
            purge_after=None,
        )
        grade_alike(session, media.id, people, "C")
    return media.id


def start(
    db: Database,
    url: str,
    *,
    scope: ScopeRules | None = None,
    politeness: Politeness = FAST,
    robots_override: str | None = None,
    keep_bytes: bool = False,
) -> int:
    with db.write() as session:
        return actions.start_crawl(
            session,
            OPERATOR,
            url,
            scope=scope or ScopeRules(max_depth=6, max_pages=200),
            politeness=politeness,
            robots_override=robots_override,
            keep_bytes=keep_bytes,
        )


def crawl_row(db: Database, crawl_id: int) -> CrawlRow:
    with db.read() as session:
        row = session.get(CrawlRow, crawl_id)
        assert row is not None
        return row


def drive(
    db: Database,
    settings: Settings,
    policy: FetchPolicy,
    crawl_id: int,
    *,
    workers: int = 1,
    timeout_s: float = 60.0,
) -> CrawlRow:
    """Run `workers` worker threads on the crawl's jobs until it is over (or time is up)."""
    handlers.register()
    deadline = time.monotonic() + timeout_s

    def work() -> None:
        worker = Worker(db, settings, {FetchPolicy: policy}, kinds=frozenset({"crawl"}))
        while time.monotonic() < deadline:
            if not worker.run_once():
                if crawl_row(db, crawl_id).state != "running":
                    return
                time.sleep(0.02)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    row = crawl_row(db, crawl_id)
    assert row.state != "running", "the crawl did not end in time"
    return row

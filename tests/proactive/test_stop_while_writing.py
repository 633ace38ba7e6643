"""Stopping a crawl while a worker writes a batch: both finish, neither is aborted.

`actions.stop_crawl` locks the crawl's row, then the audit head (its audit entry). The batch
writer (`crawler.write_pages`) writes the batch's reports, audited (the audit head), and
then the links and counters (the crawl's row). Taken in those two orders, the two deadlocked
on PostgreSQL, which aborted one of them; the writer now locks the crawl's row first. On
SQLite the one writer makes the stop wait its turn."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hotline import handlers
from hotline.assess.fetcher import FetchPolicy
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.jobs.tables import JobRow
from hotline.jobs.worker import Worker
from hotline.proactive import actions, crawler
from hotline.proactive.frontier import CrawlSpec
from hotline.proactive.scope import Canonical
from tests.proactive.site import Site
from tests.proactive.support import OPERATOR, confirm, crawl_row, start


def _waiting_on_a_lock(db: Database, pid: int) -> bool:
    with db.read() as session:
        event = session.execute(
            text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        ).scalar_one_or_none()
    return event == "Lock"


def test_a_crawl_stopped_while_a_worker_writes_its_batch_ends_cleanly(
    db: Database,
    settings: Settings,
    site: Site,
    policy: FetchPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    confirm(db, site.url("/p/0"))
    crawl_id = start(db, site.url("/p/0"))
    # The writer pauses after the seed page's report (and its audit entry), before its links.
    reported, go_on = threading.Event(), threading.Event()
    queue_links = crawler._queue_links

    def paused(session: Session, crawl: CrawlSpec, links: Sequence[tuple[Canonical, int]]) -> None:
        reported.set()
        go_on.wait(20)
        queue_links(session, crawl, links)

    monkeypatch.setattr(crawler, "_queue_links", paused)
    handlers.register()
    worker = Worker(db, settings, {FetchPolicy: policy}, kinds=frozenset({"crawl"}))
    writer = threading.Thread(target=worker.run_once)
    writer.start()
    assert reported.wait(30), "the worker never reached its write"

    stopper_pid: list[int] = []
    stop_errors: list[BaseException] = []

    def stop() -> None:
        try:
            with db.write() as session:
                if db.url.startswith("postgresql"):
                    stopper_pid.append(session.execute(text("SELECT pg_backend_pid()")).one()[0])
                actions.stop_crawl(session, OPERATOR, crawl_id)
        except BaseException as exc:  # what the test reports
            stop_errors.append(exc)

    stopper = threading.Thread(target=stop)
    stopper.start()
    deadline = time.monotonic() + 10
    if db.url.startswith("postgresql"):
        # The stop is under way and waits for a lock the writer holds (the crawl's row, since
        # the fix; the audit head before it, while holding the crawl's row).
        while not (stopper_pid and _waiting_on_a_lock(db, stopper_pid[0])):
            assert time.monotonic() < deadline, "the stop never waited for the writer"
            time.sleep(0.05)
    else:
        time.sleep(0.3)  # waiting on SQLite's write lock
    go_on.set()
    writer.join(30)
    stopper.join(30)
    assert not writer.is_alive() and not stopper.is_alive()

    assert stop_errors == []
    with db.read() as session:
        job = (
            session.execute(select(JobRow).where(JobRow.kind == "crawl").order_by(JobRow.id))
            .scalars()
            .first()
        )
        assert job is not None
        assert (job.state, job.attempts, job.last_error) == ("done", 1, None)
    row = crawl_row(db, crawl_id)
    assert row.state == "stopped" and row.pages == 1 and row.media >= 2

"""The frontier's batched link insert: one row a new page and one job a batch of new pages
(one job a page under politeness), links already known or repeated in the batch added once,
and never beyond the crawl's page budget, even when two workers add pages at once."""

from __future__ import annotations

import json
import threading
import time

from sqlalchemy import func, select

from hotline.db.engine import Database
from hotline.jobs.tables import JobRow
from hotline.proactive import frontier
from hotline.proactive.politeness import Politeness
from hotline.proactive.scope import Canonical, ScopeRules, canonical
from hotline.proactive.tables import CrawlPageRow, CrawlRow
from tests.proactive.support import confirm, start

SEED = "https://gallery.example.org/p/0"


def _links(*paths: str) -> list[tuple[Canonical, int]]:
    out = []
    for path in paths:
        link = canonical(f"https://gallery.example.org{path}")
        assert link is not None
        out.append((link, 1))
    return out


def _counts(db: Database) -> tuple[int, int]:
    with db.read() as session:
        pages = session.scalar(select(func.count()).select_from(CrawlPageRow)) or 0
        jobs = session.scalar(
            select(func.count()).select_from(JobRow).where(JobRow.kind == frontier.CRAWL_JOB)
        )
        return int(pages), int(jobs or 0)


def test_links_are_added_once_each_with_a_job_within_the_page_budget(db: Database) -> None:
    confirm(db, SEED)
    crawl_id = start(db, SEED, scope=ScopeRules(max_depth=3, max_pages=5))
    assert _counts(db) == (1, 1)  # the seed
    with db.write() as session:
        row = session.get(CrawlRow, crawl_id)
        assert row is not None
        spec = frontier.spec_of(row)
        # The seed again, a repeat within the batch, a session id that collapses onto /a.
        added = frontier.add_pages(
            session,
            spec,
            _links("/p/0", "/a", "/a", "/a;jsessionid=XYZ", "/b"),
        )
    assert added == 2 and _counts(db) == (3, 2)  # /a and /b in one job
    with db.write() as session:
        added = frontier.add_pages(session, spec, _links("/a", "/c", "/d", "/e", "/f"))
    assert added == 2 and _counts(db) == (5, 3)  # /c and /d: the budget of 5 is reached
    with db.read() as session:
        urls = set(session.execute(select(CrawlPageRow.url)).scalars())
    assert {u.rsplit("/", 1)[1] for u in urls} == {"0", "a", "b", "c", "d"}
    with db.write() as session:
        assert frontier.add_pages(session, spec, _links("/g")) == 0
    assert _counts(db) == (5, 3)
    with db.read() as session:
        payloads = session.execute(
            select(JobRow.payload).where(JobRow.kind == frontier.CRAWL_JOB).order_by(JobRow.id)
        ).scalars()
        batches = [frontier.job_pages(json.loads(p)) for p in payloads]
    assert [len(b) for b in batches] == [1, 2, 2]
    assert sorted(i for b in batches for i in b) == list(range(1, 6))  # each page in one job


def test_under_politeness_each_page_is_its_own_job(db: Database) -> None:
    confirm(db, SEED)
    crawl_id = start(db, SEED, scope=ScopeRules(max_depth=3, max_pages=50), politeness=Politeness())
    with db.write() as session:
        row = session.get(CrawlRow, crawl_id)
        assert row is not None
        assert frontier.add_pages(session, frontier.spec_of(row), _links("/a", "/b", "/c")) == 3
    assert _counts(db) == (4, 4)


def test_two_workers_adding_pages_at_once_keep_to_the_budget(db: Database) -> None:
    """The second transaction waits for the first one's lock on the crawl, then counts what
    it added (without the lock it counted 1 page on PostgreSQL and added 3: 7 of 5)."""
    confirm(db, SEED)
    crawl_id = start(db, SEED, scope=ScopeRules(max_depth=3, max_pages=5))
    with db.read() as session:
        row = session.get(CrawlRow, crawl_id)
        assert row is not None
        spec = frontier.spec_of(row)
    added: list[int] = []

    def second() -> None:
        with db.write() as session:
            added.append(frontier.add_pages(session, spec, _links("/x", "/y", "/z")))

    with db.write() as session:
        added.append(frontier.add_pages(session, spec, _links("/a", "/b", "/c")))
        other = threading.Thread(target=second)
        other.start()
        time.sleep(0.5)  # the other transaction is under way, waiting or not
    other.join(10)
    assert not other.is_alive()
    assert added == [3, 1] and _counts(db)[0] == 5

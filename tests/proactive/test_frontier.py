"""The frontier's batched link insert: one row and one job a new page, links already known or
repeated in the batch added once, and never beyond the crawl's page budget."""

from __future__ import annotations

from sqlalchemy import func, select

from hotline.db.engine import Database
from hotline.jobs.tables import JobRow
from hotline.proactive import frontier
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
    assert added == 2 and _counts(db) == (3, 3)
    with db.write() as session:
        added = frontier.add_pages(session, spec, _links("/a", "/c", "/d", "/e", "/f"))
    assert added == 2 and _counts(db) == (5, 5)  # /c and /d: the budget of 5 is reached
    with db.read() as session:
        urls = set(session.execute(select(CrawlPageRow.url)).scalars())
    assert {u.rsplit("/", 1)[1] for u in urls} == {"0", "a", "b", "c", "d"}
    with db.write() as session:
        assert frontier.add_pages(session, spec, _links("/g")) == 0
    assert _counts(db) == (5, 5)

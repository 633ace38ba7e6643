"""A crawl end to end on the generated benign site: only confirmed material seeds one; it
stays in scope through traps and redirects; known media become a proactive report, pre-graded,
waiting for one analyst's verdict; new media keep hashes only; nothing is fetched twice."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from hotline.assess.fetcher import FetchPolicy
from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import Forbidden, InvalidInput
from hotline.grading.tables import MediaItemRow, PageCaptureRow
from hotline.intake import reports
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.jobs.tables import JobRow
from hotline.proactive import actions
from hotline.proactive.scope import ScopeRules
from hotline.proactive.tables import (
    CrawlAllowedDomainRow,
    CrawlHostRow,
    CrawlPageRow,
    CrawlRow,
)
from hotline.security import audit
from hotline.security.permissions import Actor, Role
from hotline.security.tables import AuditRow
from tests.proactive.site import Site, drawn
from tests.proactive.support import FAST, OPERATOR, confirm, drive, known_image, start


def _count(db: Database, table: type) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_a_crawl_on_an_unconfirmed_url_is_refused_and_nothing_is_written(
    db: Database, site: Site
) -> None:
    with db.write() as session:  # reported, but no verdict yet
        reports.submit(
            session, reports.validate({"url": site.url("/p/0")}), reports.Source.web, None
        )
    with pytest.raises(InvalidInput) as refused:
        start(db, site.url("/p/0"))
    assert refused.value.fields[0].field == "url"
    with pytest.raises(InvalidInput):
        start(db, site.url("/p/0", host="other.example"))  # never reported at all
    assert _count(db, CrawlRow) == 0 and _count(db, CrawlPageRow) == 0 and _count(db, JobRow) == 0
    assert site.requests == []


def test_an_allow_listed_domain_seeds_a_crawl_until_it_expires(db: Database, site: Site) -> None:
    with db.write() as session:
        actions.allow_domain(session, OPERATOR, "other.example", "confirmed by case 12", 30)
    crawl_id = start(db, site.url("/p/0", host="www.other.example"))
    assert crawl_id > 0
    with db.write() as session:  # expired: refused again
        session.execute(update(CrawlAllowedDomainRow).values(expires_at=utcnow() - timedelta(1)))
    with pytest.raises(InvalidInput):
        start(db, site.url("/p/1", host="other.example"))


@pytest.mark.parametrize(
    ("domain", "reason", "days", "field"),
    [
        ("", "why", 30, "domain"),
        ("www.other.example", "why", 30, "domain"),  # not the registrable domain
        ("localhost", "why", 30, "domain"),
        ("other.example", "  ", 30, "reason"),
        ("other.example", "why", 0, "days"),
        ("other.example", "why", 9999, "days"),
    ],
)
def test_bad_allow_list_entries_are_refused(
    db: Database, domain: str, reason: str, days: int, field: str
) -> None:
    with db.write() as session, pytest.raises(InvalidInput) as refused:
        actions.allow_domain(session, OPERATOR, domain, reason, days)
    assert field in {f.field for f in refused.value.fields}
    assert _count(db, CrawlAllowedDomainRow) == 0


def test_an_analyst_may_not_start_a_crawl(db: Database, site: Site) -> None:
    confirm(db, site.url("/p/0"))
    analyst = Actor(5, "ann", frozenset({Role.analyst}), mfa_passed=True)
    with db.write() as session, pytest.raises(Forbidden):
        actions.start_crawl(
            session,
            analyst,
            site.url("/p/0"),
            scope=ScopeRules(),
            politeness=FAST,
        )


def test_a_crawl_stays_in_scope_through_traps_and_finds_known_media(
    db: Database, settings: Settings, site: Site, policy: FetchPolicy
) -> None:
    confirm(db, site.url("/p/0"))
    known_media = known_image(db, drawn(10))  # shown on /p/5 (two images a page: 10, 11)
    crawl_id = start(db, site.url("/p/0"))
    row = drive(db, settings, policy, crawl_id)

    assert row.state == "finished"
    hosts = Counter(h.split(":")[0] for _t, h, _p, _a in site.requests)
    # Out of scope, third-party tools and private addresses: never asked for.
    assert set(hosts) == {"site.example"}, hosts
    paths = site.paths()
    # Nothing fetched twice: every page and image once (the shared logo too).
    assert [p for p, n in Counter(paths).items() if n > 1] == []
    assert paths.count("/img/logo.png") == 1
    assert all(f"/p/{n}" in paths for n in range(30))
    # Traps: session ids and query order collapse onto one URL; loops end; robots obeyed.
    assert not any("jsessionid" in p or "sid=" in p for p in paths)
    assert sum(1 for p in paths if p.startswith("/p/3?")) == 1
    assert "/private/secret" not in paths
    assert max(p.count("/a") for p in paths) <= 2  # /deep/a/a/a/...: cut as a loop
    assert sum(1 for p in paths if p.startswith("/calendar")) <= 6  # the depth limit
    assert paths.count("/loop-a") == 1 and paths.count("/loop-b") == 1

    with db.read() as session:
        url_id = session.execute(
            select(ReportedUrlRow.id).where(ReportedUrlRow.normalized_url == site.url("/p/5"))
        ).scalar_one()
        url = session.get(ReportedUrlRow, url_id)
        assert (
            url is not None and url.verdict is None and url.priority == 2
        )  # waits for one analyst
        report = session.execute(select(ReportRow).where(ReportRow.url_id == url_id)).scalar_one()
        assert report.origin == "proactive"
        media = (
            session.execute(select(MediaItemRow).where(MediaItemRow.url_id == url_id))
            .scalars()
            .all()
        )
        statuses = Counter(m.status for m in media)
        assert statuses == {"known_match": 1, "awaiting_grades": 1}
        assert next(m for m in media if m.status == "known_match").inherited_from == known_media
        assert not any(m.stored for m in media)  # hashes only: the crawl keeps no bytes
        assert (session.scalar(select(func.count()).select_from(PageCaptureRow)) or 0) >= 1
        robots = session.execute(select(CrawlHostRow.robots_state)).scalars().all()
        assert robots == ["rules"]
    assert row.known == 1 and row.pages >= 30 and row.skipped > 0
    assert row.media == _count(db, MediaItemRow) - 1  # every hashed item, less the graded one


def test_two_workers_share_a_crawl_and_fetch_nothing_twice(
    db: Database, settings: Settings, site: Site, policy: FetchPolicy
) -> None:
    confirm(db, site.url("/p/0"))
    crawl_id = start(db, site.url("/p/0"))
    row = drive(db, settings, policy, crawl_id, workers=2)
    paths = site.paths()
    assert row.state == "finished" and row.pages >= 30
    assert [p for p, n in Counter(paths).items() if n > 1] == []
    with db.read() as session:
        states = Counter(session.execute(select(CrawlPageRow.state)).scalars())
    assert states["queued"] == 0


def test_a_stopped_crawl_fetches_nothing_more(
    db: Database, settings: Settings, site: Site, policy: FetchPolicy
) -> None:
    confirm(db, site.url("/p/0"))
    crawl_id = start(db, site.url("/p/0"))
    with db.write() as session:
        actions.stop_crawl(session, OPERATOR, crawl_id)
    row = drive(db, settings, policy, crawl_id)
    assert row.state == "stopped" and site.requests == []


def test_a_batch_of_pages_leaves_every_report_capture_and_finding_audited(
    db: Database, settings: Settings, site: Site, policy: FetchPolicy
) -> None:
    """A job writes up to 16 pages with a few statements (one audit append for their reports,
    one for what they found): each reported page still has its report, its audit entry, its
    capture, and each page with known media its `crawl.found` entry; the chain holds."""
    confirm(db, site.url("/p/0"))
    known_image(db, drawn(10))  # /p/5 (and drawings within PDQ distance of it)
    crawl_id = start(db, site.url("/p/0"))
    drive(db, settings, policy, crawl_id)
    with db.read() as session:
        pages = session.execute(
            select(CrawlPageRow.id, CrawlPageRow.url_id, CrawlPageRow.known).where(
                CrawlPageRow.crawl_id == crawl_id, CrawlPageRow.media > 0
            )
        ).all()
        references = dict(
            session.execute(
                select(ReportRow.reference, ReportRow.url_id).where(ReportRow.origin == "proactive")
            ).all()
        )
        entries = session.execute(
            select(AuditRow.action, AuditRow.object_id, AuditRow.detail).where(
                AuditRow.action.in_(["report.received", "crawl.found"])
            )
        ).all()
        captured = Counter(session.execute(select(PageCaptureRow.url_id)).scalars())
        chain = audit.verify(session)
    assert len(pages) >= 30 and all(p.url_id is not None for p in pages)
    assert sorted(references.values()) == sorted(p.url_id for p in pages)
    received = {e.object_id: json.loads(e.detail) for e in entries if e.action == "report.received"}
    assert set(references) <= set(received)
    assert all(received[r]["origin"] == "proactive" for r in references)
    assert captured == Counter(p.url_id for p in pages)
    found = [json.loads(e.detail) for e in entries if e.action == "crawl.found"]
    assert all(e.object_id == str(crawl_id) for e in entries if e.action == "crawl.found")
    assert sorted((f["page"], f["url_id"], f["known"]) for f in found) == sorted(
        (p.id, p.url_id, p.known) for p in pages if p.known
    )
    assert found and any(f["url_id"] is not None for f in found)
    assert chain.ok, chain.problem

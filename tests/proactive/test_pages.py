"""The staff crawl pages: progress and yield, in English and French, audited; refused to
roles without `crawl.view`."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hotline.db.engine import Database
from hotline.proactive.tables import CrawlRow
from hotline.security.tables import AuditRow
from tests.proactive.support import confirm, start

URL = "https://gallery.example.org/page"


def _crawl_with_figures(db: Database) -> int:
    confirm(db, URL)
    crawl_id = start(db, URL)
    with db.write() as session:
        session.execute(
            update(CrawlRow)
            .where(CrawlRow.id == crawl_id)
            .values(pages=2000, known=5, media=40, unknown=35, state="finished")
        )
    return crawl_id


def test_the_crawl_pages_show_progress_and_yield_and_are_audited(
    db: Database, login_as: Callable[[list[str]], TestClient]
) -> None:
    crawl_id = _crawl_with_figures(db)
    client = login_as(["senior_analyst"])
    listing = client.get("/staff/crawls")
    assert listing.status_code == 200
    assert "Proactive crawls" in listing.text and URL in listing.text
    assert "2.5" in listing.text  # 5 known in 2,000 pages: 2.5 per 1,000
    one = client.get(f"/staff/crawls/{crawl_id}")
    assert one.status_code == 200
    assert 'id="crawl-yield">2.5<' in one.text and "Finished" in one.text
    french = client.get(f"/staff/crawls/{crawl_id}?lang=fr")
    assert "Rendement : connus pour 1 000 pages" in french.text and "Terminée" in french.text
    with db.read() as session:
        seen = list(session.execute(select(AuditRow.action, AuditRow.object_id)).all())
    assert ("crawl.list_viewed", "*") in seen and ("crawl.viewed", str(crawl_id)) in seen


def test_an_analyst_and_a_missing_crawl_are_refused(
    db: Database, login_as: Callable[[list[str]], TestClient]
) -> None:
    _crawl_with_figures(db)
    analyst = login_as(["analyst"])
    assert analyst.get("/staff/crawls").status_code == 403
    assert analyst.get("/staff/crawls/1").status_code == 403
    senior = login_as(["senior_analyst"])
    assert senior.get("/staff/crawls/999").status_code == 404
    assert senior.get("/staff/crawls/not-a-number").status_code in (404, 422)

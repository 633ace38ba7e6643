"""The crawl pages in a real browser: a senior analyst goes from the staff home to a crawl's
figures and its yield, in English and in French."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from hotline.db.engine import Database
from hotline.proactive.tables import CrawlRow
from tests.browser.test_grading_browser import sign_in_page
from tests.conftest import StaffFactory
from tests.proactive.support import confirm, start

pytestmark = pytest.mark.browser


def test_a_senior_analyst_reads_a_crawls_yield(  # type: ignore[no-untyped-def]
    live_server: str, page, staff: StaffFactory, db: Database
) -> None:
    url = "https://gallery.example.org/page"
    confirm(db, url)
    crawl_id = start(db, url)
    with db.write() as session:
        session.execute(
            update(CrawlRow).where(CrawlRow.id == crawl_id).values(pages=4000, known=6, media=90)
        )
    sign_in_page(page, live_server, staff, ["senior_analyst"])
    page.goto(f"{live_server}/staff")
    page.locator("main").get_by_role("link", name="Proactive crawls").click()  # the tile
    assert page.get_by_role("heading", name="Proactive crawls").is_visible()
    assert page.get_by_role("cell", name="1.5").is_visible()  # 6 known in 4,000 pages
    page.get_by_role("link", name=str(crawl_id), exact=True).click()
    assert page.locator("#crawl-yield").inner_text() == "1.5"
    assert page.locator("#crawl-state").inner_text() == "Running"
    page.goto(f"{live_server}/staff/crawls/{crawl_id}?lang=fr")
    assert page.get_by_role("heading", name=f"Exploration {crawl_id}").is_visible()
    assert page.get_by_role("rowheader", name="Rendement : connus pour 1 000 pages").is_visible()

"""An analyst searches a URL in the staff reports list and finds its report (issue 14), in a
real browser with JavaScript off: the search box, the result and its link to the case."""

from __future__ import annotations

import pytest

from hotline.db.engine import Database
from hotline.intake import actions as intake_actions
from hotline.intake import reports
from tests.browser.test_grading_browser import sign_in_page
from tests.conftest import StaffFactory

pytestmark = pytest.mark.browser


def test_analyst_searches_a_url_and_finds_its_report(
    live_server: str,
    browser,
    staff: StaffFactory,
    db: Database,  # type: ignore[no-untyped-def]
) -> None:
    with db.write() as session:
        wanted = intake_actions.receive_report(
            session, reports.validate({"url": "https://example.org/gallery/7"}), reports.Source.web
        ).reference
        for i in range(3):
            intake_actions.receive_report(
                session, reports.validate({"url": f"https://example.net/p/{i}"}), reports.Source.api
            )
    context = browser.new_context(locale="en-GB", java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in_page(page, live_server, staff, ["analyst"])
        page.goto(f"{live_server}/staff/reports")
        assert page.locator("tr[data-reference]").count() == 4
        # Typed as an analyst might paste it: upper-case host, a fragment.
        page.get_by_label("Search: web address, domain or host, reference code").fill(
            "https://EXAMPLE.org/gallery/7#top"
        )
        page.locator("#main").get_by_role("button", name="Search", exact=True).click()
        rows = page.locator("tr[data-reference]")
        assert rows.count() == 1
        assert rows.first.get_attribute("data-reference") == wanted
        rows.first.get_by_role("link").click()
        assert "https://example.org/gallery/7" in page.content()
        # A search that is no kind of address keeps what was typed and says why.
        page.goto(f"{live_server}/staff/reports")
        page.get_by_label("Search: web address, domain or host, reference code").fill("not a url")
        page.locator("#main").get_by_role("button", name="Search", exact=True).click()
        assert page.get_by_role("alert").is_visible()
        assert page.locator("#q").input_value() == "not a url"
    finally:
        context.close()

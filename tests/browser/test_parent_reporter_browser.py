"""Issue 14.6 journeys in a real browser (Debian's chromium): a parent in French filters the
helplines by country and leaves by the quick exit (button by keyboard, and Esc twice), which
replaces the history entry; a reporter whose report was a duplicate learns the address's
outcome and dates on the status page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from hotline.advice.seed import seed_advice
from hotline.db.engine import Database
from hotline.intake.tables import ReportedUrlRow

pytestmark = pytest.mark.browser

NEUTRAL = "https://www.example.org/"


def _neutral_site(page) -> None:  # type: ignore[no-untyped-def]
    # The test machine has no way out: the neutral site is answered here.
    page.route(
        NEUTRAL + "**",
        lambda route: route.fulfill(
            body="<!doctype html><title>Neutral</title><h1>Weather</h1>",
            content_type="text/html",
        ),
    )


def test_parent_filters_helplines_in_french_and_leaves_quickly(  # type: ignore[no-untyped-def]
    live_server: str, page, db: Database
) -> None:
    seed_advice(db)
    _neutral_site(page)
    page.goto(f"{live_server}/advice?lang=fr")
    page.get_by_role("link", name="Où trouver de l’aide, par pays").click()
    page.get_by_label("Pays").select_option(label="Royaume-Uni")
    page.get_by_role("button", name="Afficher les lignes d’assistance").click()
    page.wait_for_url(re.compile(r"/advice/help\?country=GB$"))
    expect(page.get_by_role("heading", name="Royaume-Uni", level=2)).to_be_visible()
    assert page.locator("h2").all_inner_texts() == ["Royaume-Uni"]

    # The quick exit is reachable from the keyboard alone.
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "quick-exit":
            break
    else:
        pytest.fail("the quick exit is not reachable with Tab")
    assert page.locator("#quick-exit").inner_text() == "Sortie rapide"
    page.keyboard.press("Enter")
    page.wait_for_url(NEUTRAL)
    # location.replace: the page the parent left is no longer in the history.
    page.go_back()
    page.wait_for_load_state()
    assert not page.url.endswith("/advice/help?country=GB")
    assert page.url.endswith("/advice/help")


def test_escape_twice_leaves(live_server: str, page, db: Database) -> None:  # type: ignore[no-untyped-def]
    seed_advice(db)
    _neutral_site(page)
    page.goto(f"{live_server}/advice/campaigns/safer-at-home")
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url(NEUTRAL)
    expect(page.get_by_role("heading", name="Weather")).to_be_visible()


def test_duplicate_reporter_learns_the_outcome(live_server: str, page, db: Database) -> None:  # type: ignore[no-untyped-def]
    def report(url: str) -> str:
        page.goto(f"{live_server}/report")
        page.get_by_label("Web address (URL)").fill(url)
        page.get_by_role("button", name="Send report").click()
        return page.locator("#reference").inner_text()

    report("https://www.example.com/gallery/7")
    reference = report("https://WWW.example.com/gallery/7?utm_source=mail")
    with db.write() as session:  # an analyst's verdict, then the takedown found it gone
        session.execute(
            update(ReportedUrlRow).values(
                status="actioned",
                verdict_at=datetime(2026, 11, 3, 10, tzinfo=UTC),
                removed_at=datetime(2026, 11, 20, 9, tzinfo=UTC),
            )
        )
    page.goto(f"{live_server}/report/status")
    page.get_by_label("Reference").fill(reference.lower().replace("-", ""))
    page.get_by_role("button", name="Check").click()
    assert page.locator("#status").get_attribute("data-status") == "duplicate"
    outcome = page.locator("#outcome")
    assert outcome.get_attribute("data-outcome") == "actioned"
    assert "no longer available" in outcome.inner_text()
    dates = page.locator("#dates").inner_text()
    assert "November 3, 2026" in dates and "November 20, 2026" in dates

    # The language switcher keeps the reference: the same answer, in French.
    page.locator('nav.lang a[hreflang="fr"]').click()
    assert page.locator("#status").get_attribute("data-status") == "duplicate"
    assert "3 novembre 2026" in page.locator("#dates").inner_text()
    assert "Issue pour l’adresse" in page.locator("#outcome").inner_text()


def test_without_javascript_the_quick_exit_is_a_plain_link(  # type: ignore[no-untyped-def]
    live_server: str, browser, db: Database
) -> None:
    seed_advice(db)
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    try:
        page = context.new_page()
        _neutral_site(page)
        page.goto(f"{live_server}/advice/help?country=GB")
        page.get_by_role("link", name="Quick exit").click()
        page.wait_for_url(NEUTRAL)
        expect(page.get_by_role("heading", name="Weather")).to_be_visible()
    finally:
        context.close()

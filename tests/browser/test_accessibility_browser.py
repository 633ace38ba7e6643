"""axe-core (bundled by axe-playwright-python) on every public page and the main staff pages
in Debian's Chromium: no serious or critical violation (issue 14)."""

from __future__ import annotations

import os

import pytest
from axe_playwright_python.sync_playwright import Axe

from hotline.advice.seed import seed_advice
from hotline.db.engine import Database
from tests.assess.conftest import draw_image
from tests.browser.test_grading_browser import sign_in_page
from tests.conftest import StaffFactory
from tests.grading.helpers import store_media
from tests.lists.helpers import entries, new_list

pytestmark = pytest.mark.browser

PUBLIC = [
    "/",
    "/report",
    "/report/status",
    "/advice",
    "/advice/age/under-5",
    "/advice/age/14-17",
    "/advice/videos",
    "/advice/links",
    "/advice/help",
    "/advice/search?q=online",
    "/advice/campaigns",
    "/advice/campaigns/safer-at-home",
    "/statistics",
    "/privacy",
    "/no-such-page",
    "/staff/login",
]
STAFF = [
    "/staff",
    "/staff/queue",
    "/staff/queue?q=&status=open",
    "/staff/reports",
    "/staff/grading",
    "/staff/grading?q=&state=awaiting_grades",
    "/staff/grading/disagreements",
    "/staff/wellbeing",
    "/staff/takedown",
    "/staff/takedown/search?sort=proposed",
    "/staff/hosts",
    "/staff/hosts?q=example",
    "/staff/hosts/new",
    "/staff/stats/removal",
    "/staff/stats/dashboard",
    "/staff/lists/feedback",
    "/staff/exchange-feeds",
    "/staff/members",
    "/staff/partners",
    "/staff/advice",
    "/staff/advice/campaigns/new",
    "/staff/advice/campaigns/1",  # the first seeded campaign (identities restart per test)
    "/staff/taskforce",
    "/staff/crawls",
    "/staff/users",
    "/staff/audit",
    "/staff/audit/entries",
    "/staff/lists",
    "/staff/lists/axe-list/settings",
    "/staff/lists/axe-list/entries",
]
ALL_ROLES = [
    "admin",
    "senior_analyst",
    "takedown_officer",
    "taskforce_grader",
    "content_editor",
]
BLOCKING = {"serious", "critical"}


def _violations(axe: Axe, page) -> list[str]:  # type: ignore[no-untyped-def]
    found = axe.run(page).response["violations"]
    print(page.url, [(v["id"], v["impact"]) for v in found])  # shown with -s
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v.get("impact") in BLOCKING
    ]


def test_public_and_staff_pages_have_no_serious_violations(  # type: ignore[no-untyped-def]
    live_server: str,
    page,
    app,
    db: Database,
    staff: StaffFactory,
) -> None:
    seed_advice(db)
    new_list(db, "axe-list", entries(3))  # the list's settings and entries pages
    axe = Axe()
    problems: dict[str, list[str]] = {}
    # the check itself works: an image without a text alternative is a critical violation
    page.set_content(
        '<!doctype html><html lang="en"><title>t</title><main><img src="x.png"></main>'
    )
    assert any(v.startswith("image-alt (critical)") for v in _violations(axe, page))

    def check(path: str) -> None:
        page.goto(f"{live_server}{path}")
        if found := _violations(axe, page):
            problems[path] = found

    for path in PUBLIC:
        check(path)
    for lang in ("fr",):
        check(f"/?lang={lang}")
        check(f"/report?lang={lang}")
    page.goto(f"{live_server}/report?lang=en")
    page.get_by_label("Web address", exact=False).first.fill("https://example.com/axe")
    page.get_by_role("button", name="Send report").click()
    if found := _violations(axe, page):
        problems["thanks"] = found
    reference = page.locator("strong, code").first.inner_text()
    check(f"/report/status?reference={reference}")

    item = store_media(app, db, draw_image(41), "image", name="41")
    sign_in_page(page, live_server, staff, ALL_ROLES)
    for path in (*STAFF, f"/staff/grading/{item}"):
        check(path)
    page.goto(f"{live_server}/staff/queue")
    page.get_by_role("link", name="https://example.com/axe").first.click()
    page.get_by_role("button", name="Claim this address").click()
    if found := _violations(axe, page):
        problems["case"] = found
    page.goto(f"{live_server}/staff/grading/{item}")
    page.get_by_role("button", name="Reveal this item").click()
    if found := _violations(axe, page):
        problems["revealed"] = found
    # 390 px wide (a phone): the page itself never scrolls sideways, tables scroll within it
    page.set_viewport_size({"width": 390, "height": 844})
    wide: dict[str, int] = {}
    for path in (f"/staff/grading/{item}", "/staff/queue/1", "/staff/queue", "/staff/reports"):
        check(path)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > 390:
            wide[path] = width
        if shots := os.environ.get("HOTLINE_SCREENSHOTS"):
            name = path.strip("/").replace("/", "-")
            page.screenshot(path=f"{shots}/{name}-390.png", full_page=True)
    assert problems == {}
    assert wide == {}

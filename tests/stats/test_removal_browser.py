"""The time-to-removal page in a real browser: the charts render as images with accessible
names, at a real size, with no CSP complaint."""

from __future__ import annotations

import os

import pytest

from hotline.db.engine import Database
from hotline.security import totp
from tests.conftest import StaffFactory
from tests.stats.helpers import add_case, at

pytestmark = pytest.mark.browser


def sign_in(page, base: str, staff: StaffFactory, roles: list[str]) -> None:  # type: ignore[no-untyped-def]
    username, password, secret = staff.create(roles)
    page.goto(f"{base}/staff/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Six-digit code from your authenticator app").fill(totp.current_code(secret))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/staff")


def test_charts_are_images_with_names(
    live_server: str,
    page,  # type: ignore[no-untyped-def]
    staff: StaffFactory,
    db: Database,
) -> None:
    for day, host in enumerate(["h1.example", "<b>h2</b>.example", "h1.example"], start=1):
        add_case(
            db,
            f"TD-{day}",
            reported=at(f"2024-0{day}-01 00:00"),
            notice=at(f"2024-0{day}-01 02:00"),
            removed=at(f"2024-0{day}-0{day + 1} 00:00"),
            host=host,
        )
    complaints: list[str] = []
    page.on("console", lambda message: complaints.append(message.text))
    sign_in(page, live_server, staff, ["takedown_officer"])
    page.goto(f"{live_server}/staff/stats/removal?from=2024-01-01&to=2024-06-30")
    images = page.get_by_role("img")
    assert images.count() == 3
    for name in (
        "Time to removal and share removed within 24 hours, by month of first report",
        "Hours to removal by host",
        "Hours to removal by country",
    ):
        chart = page.get_by_role("img", name=name)
        assert chart.is_visible()
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 60
    host_chart = page.get_by_role("img", name="Hours to removal by host")
    # The hostile name is text on the chart, not markup in it.
    assert host_chart.locator("text", has_text="<b>h2</b>.example").count() == 1
    assert page.locator("svg b").count() == 0
    assert not [c for c in complaints if "Content Security Policy" in c]
    if os.environ.get("HOTLINE_STATS_SCREENSHOT"):  # for a person to look at the charts
        page.screenshot(path=os.environ["HOTLINE_STATS_SCREENSHOT"], full_page=True)

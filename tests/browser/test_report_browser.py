"""A person reports a URL through the form, reads the reference, checks its status; an analyst
signs in with two-factor and finds it in the queue. Real browser: Debian's chromium."""

from __future__ import annotations

import re

import pytest

from hotline.security import totp
from tests.conftest import StaffFactory

pytestmark = pytest.mark.browser


def test_report_through_the_form_and_check_status(live_server: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="Report a web address").first.click()
    page.get_by_label("Web address (URL)").fill("https://www.example.com/page?utm_source=x")
    page.get_by_label("Images").check()
    page.get_by_label("Your country, as a two-letter code (optional)").fill("GB")
    page.get_by_role("button", name="Send report").click()
    reference = page.locator("#reference").inner_text()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", reference)
    page.get_by_role("link", name="Check this report").click()
    assert page.locator("#status").get_attribute("data-status") == "received"


def test_form_errors_are_shown_next_to_fields(live_server: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server}/report")
    page.get_by_label("Web address (URL)").fill("http://192.168.0.1/router")
    page.get_by_label("Your email address (optional)").fill("not-an-email")
    page.get_by_role("button", name="Send report").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "private or local network" in alert.inner_text()
    assert "not a valid email" in alert.inner_text()
    # What was typed is kept, so nothing is lost.
    assert page.get_by_label("Web address (URL)").input_value() == "http://192.168.0.1/router"


def test_form_is_usable_by_keyboard_and_labelled(live_server: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server}/report")
    assert page.locator("html").get_attribute("lang") == "en"
    # Every visible form control has a label.
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), textarea, select')]
              .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
              .map(el => el.name)"""
    )
    assert unlabelled == []
    assert page.evaluate("() => [...document.images].filter(i => !i.alt).length") == 0
    page.get_by_label("Web address (URL)").focus()
    page.keyboard.type("https://example.net/keyboard")
    # Tab through the form to the button and press Enter: no mouse needed.
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent.trim()") == "Send report":
            break
    page.keyboard.press("Enter")
    page.wait_for_selector("#reference")


def test_api_report_reaches_the_analyst_queue_after_2fa(
    live_server: str,
    page,
    staff: StaffFactory,  # type: ignore[no-untyped-def]
) -> None:
    import httpx

    created = httpx.post(
        f"{live_server}/api/v1/reports", json={"url": "https://files.example.org/shared/item-42"}
    )
    assert created.status_code == 201
    username, password, secret = staff.create(["analyst"])
    page.goto(f"{live_server}/staff/queue")
    assert "/staff/login" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Six-digit code from your authenticator app").fill(totp.current_code(secret))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{live_server}/staff")
    page.goto(f"{live_server}/staff/queue")
    assert page.get_by_text("https://files.example.org/shared/item-42").is_visible()

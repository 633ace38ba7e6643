"""A parent browses the advice hub in French through the visible switcher; a content editor
fixes a mistake in a form. Real browser: Debian's chromium."""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import expect

from hotline.advice.seed import seed_advice
from hotline.db.engine import Database
from hotline.security import totp
from tests.conftest import StaffFactory

pytestmark = pytest.mark.browser

_UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), textarea, select')]
    .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
    .map(el => el.name || el.id)"""
_NO_ALT = "() => [...document.images].filter(i => !i.hasAttribute('alt')).length"
_HEADINGS = "() => [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => +h.tagName[1])"


def _check_page(page) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate(_NO_ALT) == 0
    assert page.evaluate(_UNLABELLED) == []
    levels = page.evaluate(_HEADINGS)
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels


def test_browse_the_hub_in_french(live_server: str, page, db: Database) -> None:  # type: ignore[no-untyped-def]
    seed_advice(db)
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="Advice for parents and carers", exact=True).click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Online safety advice for parents and carers"
    _check_page(page)

    page.get_by_role("navigation", name="Language").get_by_role("link", name="Français").click()
    page.wait_for_url(re.compile(re.escape("/advice?lang=fr") + "$"))
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text() == (
        "Conseils de sécurité en ligne pour les parents et les proches"
    )
    expect(page.get_by_role("heading", name="Conseils par âge")).to_be_visible()
    _check_page(page)

    page.get_by_role("link", name="De 8 à 10 ans").click()
    page.wait_for_url(re.compile(re.escape("/advice/age/8-10") + "$"))
    # The choice is remembered (cookie) without ?lang= in the address.
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text() == (
        "De 8 à 10 ans : jeux, discussions et premiers téléphones"
    )
    expect(page.get_by_role("heading", name="Jeux et discussions", level=2)).to_be_visible()
    expect(page.get_by_role("heading", name="Autres tranches d’âge", level=2)).to_be_visible()
    _check_page(page)

    page.get_by_role("link", name="Où trouver de l’aide, par pays").click()
    expect(page.get_by_role("heading", name="Royaume-Uni", level=2)).to_be_visible()
    assert page.get_by_role("link", name="0800 1111").get_attribute("href") == "tel:08001111"
    _check_page(page)


def test_editor_form_is_labelled_and_shows_errors(  # type: ignore[no-untyped-def]
    live_server: str, page, db: Database, staff: StaffFactory
) -> None:
    seed_advice(db)
    username, password, secret = staff.create(["content_editor"])
    page.goto(f"{live_server}/staff/advice")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Six-digit code from your authenticator app").fill(totp.current_code(secret))
    page.get_by_role("button", name="Continue").click()
    page.goto(f"{live_server}/staff/advice")
    _check_page(page)
    page.get_by_role("link", name="Add: Helpline").click()
    _check_page(page)
    page.get_by_label("Web address").fill("javascript:alert(1)")
    page.get_by_label("Country").select_option("GB")
    page.get_by_label("Title (English)").fill("Example helpline")
    page.get_by_role("button", name="Save").click()
    alert = page.get_by_role("alert")
    assert "Enter a full web address" in alert.inner_text()
    assert "This field is required." in alert.inner_text()
    assert page.get_by_label("Title (English)").input_value() == "Example helpline"
    _check_page(page)

"""The analyst's demo journey in a real browser, offline: sign in, open a demo report (it
names the demo's own benign site), claim it, fetch the page, and see its drawn images, the
traced demo host, and on the known page an item graded by the demo's hash list. Real
browser: Debian's chromium."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from hotline import demo
from hotline.assess.fetcher import fetch_policy_from
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.demo_site import KNOWN_IMAGE, DemoSite
from hotline.intake.tables import ReportedUrlRow
from hotline.security import totp
from hotline.web.app import create_app
from tests.conftest import StaffFactory
from tests.flow.test_demo_site_flow import demo_settings_for, no_dns

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_settings(db: Database, tmp_path: Path) -> Settings:
    return demo.demo_settings(demo_settings_for(db, tmp_path / "data"))


@pytest.fixture
def site(demo_settings: Settings) -> Iterator[DemoSite]:
    assert demo_settings.demo_site is not None
    running = DemoSite(demo_settings.demo_site[1], demo_settings.smtp_port)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def app(demo_settings: Settings, db: Database, site: DemoSite) -> FastAPI:  # the live server's
    built = create_app(demo_settings, db)
    built.state.fetch_policy = dataclasses.replace(
        fetch_policy_from(demo_settings), resolver=no_dns
    )
    demo.seed_reports(db, site.base_url)
    demo.seed_known(db, site.images[KNOWN_IMAGE])
    demo.seed_takedown(db, demo_settings)
    return built


def url_id(db: Database, url: str) -> int:
    with db.read() as session:
        return session.scalars(
            select(ReportedUrlRow.id).where(ReportedUrlRow.normalized_url == url)
        ).one()


def test_an_analyst_captures_the_demo_site_offline(  # type: ignore[no-untyped-def]
    live_server: str, page, db: Database, demo_settings: Settings, site: DemoSite
) -> None:
    username, password, secret = StaffFactory(db, demo_settings).create(["analyst"])
    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Six-digit code from your authenticator app").fill(totp.current_code(secret))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{live_server}/staff")

    page.goto(f"{live_server}/staff/queue")
    gallery = site.page_url("gallery")
    assert page.get_by_text(gallery).first.is_visible()  # the demo's reports name its site

    for name, new, known in (("gallery", 3, 0), ("known", 0, 1)):
        page.goto(f"{live_server}/staff/queue/{url_id(db, site.page_url(name))}")
        page.get_by_role("button", name="Claim this address").click()
        page.get_by_role("button", name="Fetch the page and its media now").click()
        captured = page.locator("ul.captures li").first.inner_text()
        assert "HTTP 200" in captured and f"{new} new, {known} known, 0 failed" in captured
        assert "Example Hosting Ltd" in page.locator("#host-trace").inner_text()
        rows = page.locator("#media tbody tr")
        assert rows.count() == new + known
    assert "Known match" in rows.first.inner_text()
    assert demo.DEMO_KNOWN_CATEGORY in rows.first.inner_text()

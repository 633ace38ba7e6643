"""The admin journey of issue 14 in a real browser with JavaScript off: through the staff
navigation, reset an analyst's two-factor, release a list, then create and revoke a member's
API key; each action confirms itself in the status region and is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.db.engine import Database
from hotline.matching import keys
from hotline.security import totp, users
from hotline.security.tables import AuditRow
from tests.conftest import StaffFactory

pytestmark = pytest.mark.browser


def _status(page) -> str:  # type: ignore[no-untyped-def]
    return str(page.get_by_role("status").first.inner_text())


def test_admin_journey(live_server: str, browser, staff: StaffFactory, db: Database) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="en-GB", java_script_enabled=False)
    page = context.new_page()
    try:
        analyst, _, _ = staff.create(["analyst"])
        admin, password, secret = staff.create(["admin"])
        page.goto(f"{live_server}/staff/login")
        page.get_by_label("Username").fill(admin)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_label("Six-digit code from your authenticator app").fill(
            totp.current_code(secret)
        )
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(f"{live_server}/staff")
        nav = page.get_by_role("navigation", name="Staff areas")

        # Reset an analyst's two-factor.
        nav.get_by_role("link", name="Staff accounts").click()
        page.get_by_role("button", name=f"Reset two-factor {analyst}").click()
        page.wait_for_url(f"{live_server}/staff/users")
        assert "Two-factor reset." in _status(page)
        with db.read() as session:
            assert not users.get_user(session, analyst).totp_enabled

        # Create and release a list.
        nav.get_by_role("link", name="Lists and releases").click()
        page.get_by_label("Short name").fill("known-test")
        page.get_by_role("button", name="Create list").click()
        assert "List created." in _status(page)
        page.get_by_role("button", name="Release version 0 known-test").click()
        assert "List released." in _status(page)
        assert page.get_by_role("table", name="Releases of known-test").is_visible()

        # Create and revoke a member's key.
        nav.get_by_role("link", name="Members and API keys").click()
        page.get_by_label("Short name").fill("example-platform")
        page.get_by_role("button", name="Add member").click()
        assert "Member added." in _status(page)
        page.get_by_label("known-test").check()
        page.get_by_role("button", name="Issue key").click()
        key = page.locator("#issued-key").inner_text().strip()
        assert key.startswith(keys.KEY_PREFIX)
        page.goto(f"{live_server}/staff/members")
        assert key not in page.content()  # shown once only
        page.get_by_role("button", name=f"Revoke {key[: len(keys.KEY_PREFIX) + 4]}").click()
        assert "Key revoked." in _status(page)
        assert page.get_by_role("cell", name="revoked", exact=False).count() == 1
    finally:
        context.close()
    with db.read() as session:
        trail = session.execute(
            select(AuditRow.action, AuditRow.object_id).where(AuditRow.actor == admin)
        ).all()
    done = {(action, str(object_id)) for action, object_id in trail}
    assert ("hash_list.created", "known-test") in done
    assert {a for a, _ in done} >= {"user.2fa_reset", "member_key.created", "member_key.revoked"}

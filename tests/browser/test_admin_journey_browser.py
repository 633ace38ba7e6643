"""The admin journey of issue 14 in a real browser with JavaScript off: through the staff
navigation, reset an analyst's two-factor, release a list, create and revoke a member's API
key, configure a list, withdraw one of its entries (search, choose, confirm) and set a
partner hotline's key; each action confirms itself in the status region and is audited."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from hotline.db.engine import Database
from hotline.exchange import partners
from hotline.lists import store as lists_store
from hotline.matching import keys, store
from hotline.security import totp, users
from hotline.security.tables import AuditRow
from tests.conftest import StaffFactory
from tests.lists.helpers import entries, ids, new_list

pytestmark = pytest.mark.browser


def _key() -> str:
    """A partner's public key (Ed25519, base64), made here."""
    raw = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    return base64.b64encode(raw).decode()


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

        # Configure a list: its PDQ distance and what its releases carry.
        new_list(db, "known-hashes", entries(3, seed=5))
        first, second, _third = ids(db, "known-hashes")
        nav.get_by_role("link", name="Lists and releases").click()
        page.get_by_role("link", name="Settings known-hashes").click()
        page.get_by_label("pdq (0 to 63)", exact=True).fill("24")
        page.get_by_label("threatexchange").uncheck()
        page.get_by_role("button", name="Save the settings").click()
        assert "List settings saved." in _status(page)
        assert page.get_by_label("pdq (0 to 63)", exact=True).input_value() == "24"

        # Withdraw an entry: find it by id, choose it, give a reason, confirm.
        page.get_by_role("link", name="Entries of known-hashes").click()
        page.locator("#q").fill(str(second))
        page.locator("#main").get_by_role("button", name="Search", exact=True).click()
        page.get_by_label(f"Withdraw entry {second}").check()
        page.get_by_label("Reason", exact=False).fill("regraded: not illegal")
        page.get_by_role("button", name="Review the withdrawal").click()
        page.get_by_role("button", name="Withdraw 1 entry").click()
        assert "Entries withdrawn." in _status(page)
        assert page.get_by_text("withdrawn in version 2: regraded: not illegal").is_visible()

        # Set a partner hotline's key after it rotated its own.
        with db.write() as session:
            partner = partners.add(session, "Hotline B", "IE", "https://b.example.org", _key())
        nav.get_by_role("link", name="Partner hotlines").click()
        rotated = _key()
        page.get_by_label("New public key of Hotline B").fill(rotated)
        page.get_by_role("button", name="Save key Hotline B").click()
        assert "Partner key saved." in _status(page)
    finally:
        context.close()
    with db.read() as session:
        trail = session.execute(
            select(AuditRow.action, AuditRow.object_id).where(AuditRow.actor == admin)
        ).all()
    done = {(action, str(object_id)) for action, object_id in trail}
    assert ("hash_list.created", "known-test") in done
    assert {a for a, _ in done} >= {"user.2fa_reset", "member_key.created", "member_key.revoked"}
    assert ("hash_list.configured", "known-hashes") in done
    assert ("hash_list.entries_withdrawn", "known-hashes") in done
    assert ("partner.key_set", str(partner.id)) in done
    with db.read() as session:
        assert store.get_list(session, "known-hashes").pdq_max_distance == 24
        assert lists_store.get_config(session, "known-hashes").formats == ("jsonl", "csv", "vics")
        assert partners.by_name(session, "Hotline B").public_key == rotated
        assert first in ids(db, "known-hashes") and second not in ids(db, "known-hashes")

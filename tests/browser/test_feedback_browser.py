"""The members' feedback queue in a real browser: an admin upholds a false positive with one
button, without JavaScript, and the entry is withdrawn."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from hotline.db.engine import Database
from hotline.matching import store
from tests.browser.test_grading_browser import sign_in_page
from tests.conftest import StaffFactory
from tests.lists.helpers import entries, ids, new_list
from tests.matching.helpers import make_key

pytestmark = pytest.mark.browser


def test_admin_upholds_a_false_positive(  # type: ignore[no-untyped-def]
    live_server: str, page, staff: StaffFactory, client: TestClient, db: Database
) -> None:
    new_list(db, "alpha", entries(2))
    key = make_key(db, "example-platform", ["alpha"])
    entry = ids(db, "alpha")[0]
    sent = client.post(
        f"/api/v1/lists/alpha/entries/{entry}/feedback",
        json={"verdict": "false_positive", "note": "a drawn test pattern"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert sent.status_code == 201
    sign_in_page(page, live_server, staff, ["admin"])
    page.goto(f"{live_server}/staff/lists/feedback")
    assert page.get_by_role("heading", name="Members' feedback").is_visible()
    assert page.get_by_role("cell", name="a drawn test pattern").is_visible()
    page.get_by_role("button", name=f"Uphold and withdraw alpha {entry}").click()
    page.wait_for_url(f"{live_server}/staff/lists/feedback")
    assert page.get_by_text("No feedback here.").is_visible()
    with db.read() as session:
        assert store.get_list(session, "alpha").entries == 1
    page.get_by_role("link", name="Upheld").click()
    assert page.get_by_role("cell", name=f"{entry} (withdrawn)").is_visible()

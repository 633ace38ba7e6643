"""Taskforce grading in a real browser, by keyboard: a grader takes a cluster, reveals its
representative, grades it with keys, confirms two near-duplicate members and splits one out;
a second grader verifies the representative by keyboard too; the confirmed members then hold
the final grade (propagated) and the split member waits as a cluster of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.grading.media_store import MediaStore
from hotline.grading.tables import MediaItemRow
from hotline.taskforce.cluster import connect
from hotline.taskforce.model import ClusterState, GradeState
from hotline.taskforce.tables import CaseItemRow, ClusterRow
from tests.browser.test_grading_browser import sign_in_page
from tests.conftest import StaffFactory
from tests.taskforce.conftest import family_folder, run_import

pytestmark = pytest.mark.browser


@pytest.fixture
def imported(db: Database, settings: Settings, tmp_path: Path) -> None:
    store = MediaStore(settings.data_dir / "taskforce-media", settings.secret)
    with connect(workers=1, processes=False) as client:
        run_import(db, "Op", [family_folder(tmp_path / "in")], client, hash_only=False, media=store)


def _press(page: Any, key: str) -> None:
    """A key that submits a form: wait for the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press(key)


def _grade_by_keys(page: Any) -> None:
    for key in ("b", "3", "t"):
        page.keyboard.press(key)
    assert page.locator("#category-B").is_checked()
    assert page.locator("#age_band").input_value() == "7-10"
    assert page.locator("#sex").input_value() == "both"
    _press(page, "Enter")


@pytest.mark.usefixtures("imported")
def test_grade_one_cluster_by_keyboard_then_verify_and_propagate(
    live_server: str, browser: Any, staff: StaffFactory, db: Database
) -> None:
    first = browser.new_context(locale="en-GB").new_page()
    sign_in_page(first, live_server, staff, ["taskforce_grader"])
    first.goto(f"{live_server}/staff/taskforce")
    first.locator("#grade-clusters").click()
    first.wait_for_url(f"{live_server}/staff/taskforce/grade")
    _press(first, "Enter")  # take the next cluster
    cluster_id = int(first.locator("#cluster-facts").get_attribute("data-cluster") or 0)
    assert first.locator("#blurred").is_visible() and first.locator("#revealed").count() == 0
    assert first.locator("#keys").is_visible()
    _press(first, "r")  # reveal
    assert first.wait_for_selector("#revealed") is not None
    assert first.evaluate("() => document.getElementById('revealed').naturalWidth") == 160
    _grade_by_keys(first)
    assert first.locator("#graded").is_visible()
    members = first.locator("#members li")
    assert members.count() == 3
    _press(first, "y")  # confirm the highlighted member
    _press(first, "y")
    _press(first, "x")  # split the last one out
    assert first.locator("#members li[data-state=confirmed]").count() == 2
    _press(first, "Enter")  # next: every member decided, so this cluster is let go
    assert int(first.locator("#cluster-facts").get_attribute("data-cluster") or 0) != cluster_id

    second = browser.new_context(locale="en-GB").new_page()
    sign_in_page(second, live_server, staff, ["taskforce_grader"])
    second.goto(f"{live_server}/staff/taskforce/grade")
    _press(second, "Enter")
    # The cluster waiting for verification comes first; its first grade is not shown.
    assert int(second.locator("#cluster-facts").get_attribute("data-cluster") or 0) == cluster_id
    _grade_by_keys(second)
    assert second.locator("#cluster-state").inner_text() == ClusterState.final.value

    with db.read() as session:
        cluster = session.get(ClusterRow, cluster_id)
        assert cluster is not None and cluster.state == ClusterState.final
        items = list(
            session.execute(
                select(CaseItemRow).where(CaseItemRow.cluster_id == cluster_id)
            ).scalars()
        )
        propagated = [i for i in items if i.grade_state == GradeState.propagated]
        assert len(propagated) == 2 and len(items) == 3
        for item in propagated:
            row = session.get(MediaItemRow, item.media_id)
            assert row is not None and row.status == "agreed"
            assert row.inherited_from == cluster.media_id
        split = session.execute(
            select(ClusterRow).where(ClusterRow.split_from == cluster_id)
        ).scalar_one()
        assert split.state == ClusterState.open

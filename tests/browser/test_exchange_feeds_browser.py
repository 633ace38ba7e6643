"""An admin reads the exchange feeds' status page in a real browser (Debian's chromium),
in English and then in French through the visible language switcher: a feed that worked and
one whose exchange refused the credentials, with its error shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.assess.fetcher import FetchPolicy
from hotline.db.engine import Database
from hotline.lists import feed_actions
from hotline.security.permissions import Actor
from tests.browser.test_grading_browser import sign_in_page
from tests.conftest import StaffFactory
from tests.lists import exchange_fakes as fx

pytestmark = pytest.mark.browser
OPERATOR = Actor.operator("tester")


def test_admin_reads_feed_status_in_english_and_french(  # type: ignore[no-untyped-def]
    live_server: str, page, staff: StaffFactory, db: Database, tmp_path: Path
) -> None:
    signals = tmp_path / "signals.txt"
    signals.write_text(f"pdq {fx.hex_hash(256)}\nvideo_md5 {fx.hex_hash(128)}\n")
    with db.write() as session:
        feed_actions.add_feed(
            session,
            OPERATOR,
            "partner-file",
            "file",
            "partner",
            create_list=True,
            filename=str(signals),
        )
        feed_actions.add_feed(
            session,
            OPERATOR,
            "gone-file",
            "file",
            "gone",
            create_list=True,
            filename=str(tmp_path / "missing.txt"),
        )
    for name in ("partner-file", "gone-file"):
        feed_actions.fetch_feed(db, OPERATOR, name, FetchPolicy())

    sign_in_page(page, live_server, staff, ["admin"])
    page.goto(f"{live_server}/staff/exchange-feeds")
    assert page.get_by_role("heading", name="Exchange feeds").is_visible()
    table = page.get_by_role("table")
    good = table.get_by_role("row").filter(has_text="partner-file")
    assert "succeeded" in good.inner_text() and "\t2\t2\t0\t0" in good.inner_text()
    bad = table.get_by_role("row").filter(has_text="gone-file")
    assert "failed" in bad.inner_text() and "No such file" in bad.inner_text()

    page.get_by_role("link", name="Français").click()
    assert page.get_by_role("heading", name="Flux d’échange").is_visible()
    assert page.get_by_role("columnheader", name="Dernière récupération").is_visible()
    assert "réussie" in page.get_by_role("row").filter(has_text="partner-file").inner_text()

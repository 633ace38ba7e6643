"""The public statistics page in Chromium, in both languages: no sign-in, charts as images
with accessible names and a real size, tables read by their headers, no CSP complaint, and
it works with JavaScript off."""

from __future__ import annotations

import pytest

from hotline.assess import site_types
from hotline.db.engine import Database
from hotline.stats import actions
from tests.stats.published_data import seed

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("lang", "heading", "chart", "origin", "fewer"),
    [
        ("en", "Statistics for 2026", "Actioned addresses by site type", "Partner hotlines",
         "fewer than 2"),
        ("fr", "Statistiques pour 2026", "Adresses traitées par type de site",
         "Hotlines partenaires", "moins de 2"),
    ],
)  # fmt: skip
def test_the_page_reads_in_both_languages(
    live_server: str,
    page,  # type: ignore[no-untyped-def]
    db: Database,
    lang: str,
    heading: str,
    chart: str,
    origin: str,
    fewer: str,
) -> None:
    seed(db)
    with db.write() as session:
        site_types.seed_defaults(session)
    actions.refresh_published(db, None, threshold=2)
    complaints: list[str] = []
    page.on("console", lambda message: complaints.append(message.text))
    page.goto(f"{live_server}/statistics/2026?lang={lang}")
    assert page.get_by_role("heading", level=1).inner_text() == heading
    image = page.get_by_role("img", name=chart)
    assert image.is_visible()
    box = image.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 60
    table = page.get_by_role("table", name=heading_of(lang))
    row = table.get_by_role("row").filter(has_text=origin)
    assert row.get_by_role("cell").nth(0).inner_text() == fewer  # 1 in 2026, below 2
    assert not [c for c in complaints if "Content Security Policy" in c]


def heading_of(lang: str) -> str:
    return "Reports received by source" if lang == "en" else "Signalements reçus par origine"


def test_the_page_works_without_javascript(
    live_server: str,
    browser,  # type: ignore[no-untyped-def]
    db: Database,
) -> None:
    seed(db)
    actions.refresh_published(db, None, threshold=2)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server}/statistics")
        assert page.url.endswith("/statistics/2026")
        page.get_by_role("link", name="2025").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Statistics for 2025"
    finally:
        context.close()

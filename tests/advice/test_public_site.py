"""Issue 14.6, the public site for parents and reporters: campaigns (page, index, visit
counts), share metadata, advice search, helplines by country, the quick exit, the privacy
page and the reporter's status page (duplicate outcome, dates). Both databases."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from hotline.advice import campaigns
from hotline.advice.pages import visit_counter
from hotline.advice.seed import seed_advice
from hotline.advice.tables import CampaignRow, CampaignVisitRow
from hotline.db.engine import Database
from hotline.intake.tables import ReportedUrlRow, ReportRow

CAMPAIGN = "/advice/campaigns/safer-at-home"
PUBLIC_PAGES = [
    "/advice",
    "/advice/videos",
    "/advice/links",
    "/advice/help",
    "/advice/age/8-10",
    "/advice/campaigns",
    CAMPAIGN,
    "/advice/search?q=tablet",
]


@pytest.fixture
def seeded(db: Database, client: TestClient) -> TestClient:
    seed_advice(db)
    return client


def meta(html: str, key: str) -> str:
    match = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)">', html)
    assert match, f"no {key} meta tag"
    return match.group(1)


# Campaigns ---------------------------------------------------------------------------------


def test_campaign_page_in_english(seeded: TestClient) -> None:
    html = seeded.get(CAMPAIGN).text
    assert "<h1>Safer at home: online safety while schools are closed</h1>" in html
    assert "From March 2, 2026 to June 30, 2026" in html
    for partner in ("Example Ministry of Education", "Example Social Network Company"):
        assert f"<li>{partner}</li>" in html
    # Videos by language, the reader's first; links only to reserved example domains.
    assert html.index("In English") < html.index("In French")
    assert "Ten minutes to safer settings" in html
    links = re.findall(r'href="(https?://[^"]+)"', html)
    assert links and all(re.match(r"https://(www\.)?example\.(org|net|com)/", u) for u in links)


def test_campaign_page_in_french(seeded: TestClient) -> None:
    html = seeded.get(CAMPAIGN + "?lang=fr").text
    assert "En sécurité à la maison" in html
    assert "Du 2 mars 2026 au 30 juin 2026" in html
    assert html.index("En français") < html.index("En anglais")


def test_campaign_index_lists_newest_first(seeded: TestClient) -> None:
    html = seeded.get("/advice/campaigns").text
    assert html.index("Think before you share") < html.index("Safer at home")
    assert 'href="/advice/campaigns/safer-at-home"' in html
    assert "Since October 5, 2026" in html


@pytest.mark.parametrize("slug", ["no-such-campaign", "UPPER", "a" * 65, "a%00b"])
def test_unknown_campaign_is_a_404_page(seeded: TestClient, slug: str) -> None:
    response = seeded.get(f"/advice/campaigns/{slug}")
    assert response.status_code == 404
    assert "there is no campaign at that address" in response.text
    assert '<html lang="en">' in response.text  # the site's one error page, not a bare body


def test_seeding_campaigns_again_adds_nothing(db: Database) -> None:
    seed_advice(db)
    seed_advice(db)
    with db.read() as session:
        assert session.execute(select(func.count()).select_from(CampaignRow)).scalar_one() == 2


# Visit counts ------------------------------------------------------------------------------


def test_visits_are_counted_per_day_in_batches(seeded: TestClient, db: Database) -> None:
    counter = visit_counter(seeded.app)  # type: ignore[arg-type]
    counter.flush_seconds, counter.flush_views = 3600, 1000
    for _ in range(3):
        assert seeded.get(CAMPAIGN).status_code == 200
    seeded.get("/advice/campaigns/think-before-you-share")
    with db.read() as session:  # nothing written yet: the views wait in the batch
        assert session.execute(select(CampaignVisitRow)).first() is None
    assert counter.flush(db) == 4
    seeded.get(CAMPAIGN)
    counter.flush(db)
    with db.read() as session:
        rows = {
            (r.campaign_id, r.day): r.views
            for r in session.execute(select(CampaignVisitRow)).scalars()
        }
        safer = campaigns.load_campaign(session, "safer-at-home").id
        totals = campaigns.visit_totals(session)
    today = datetime.now(UTC).date()
    assert rows[(safer, today)] == 4 and sum(rows.values()) == 5
    assert totals[safer] == campaigns.VisitTotals(total=4, last_30_days=4)
    # A count and nothing else: the table has no column that could hold a visitor's details.
    assert set(CampaignVisitRow.__table__.columns.keys()) == {"campaign_id", "day", "views"}


def test_a_full_batch_is_written_without_waiting(seeded: TestClient, db: Database) -> None:
    counter = visit_counter(seeded.app)  # type: ignore[arg-type]
    counter.flush_seconds, counter.flush_views = 3600, 2
    seeded.get(CAMPAIGN)
    seeded.get(CAMPAIGN)
    with db.read() as session:
        assert session.execute(select(func.sum(CampaignVisitRow.views))).scalar_one() == 2


def test_old_days_leave_the_30_day_figure(db: Database) -> None:
    seed_advice(db)
    with db.write() as session:
        safer = campaigns.load_campaign(session, "safer-at-home").id
        session.add(CampaignVisitRow(campaign_id=safer, day=date(2026, 1, 1), views=7))
        session.add(CampaignVisitRow(campaign_id=safer, day=date(2026, 3, 1), views=2))
    with db.read() as session:
        totals = campaigns.visit_totals(session, today=date(2026, 3, 10))
    assert totals[safer] == campaigns.VisitTotals(total=9, last_30_days=2)


def test_staff_see_the_counts(db: Database, login_as, seeded: TestClient) -> None:  # type: ignore[no-untyped-def]
    seeded.get(CAMPAIGN)  # waits in the batch; the editor page writes it before reading
    editor = login_as(["content_editor"])
    html = editor.get("/staff/advice").text
    table = html[html.index('id="campaign-visits"') :]
    row = re.search(
        r"Safer at home[^<]*</a>[^<]*</th><td>.*?</td><td>(\d+)</td><td>(\d+)</td>", table
    )
    assert row and row.groups() == ("1", "1")


# Share metadata ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_every_advice_page_has_a_share_card(seeded: TestClient, path: str) -> None:
    html = seeded.get(path).text
    assert meta(html, "og:title") and meta(html, "og:description")
    assert meta(html, "og:image") == "http://testserver/static/share-card.png"
    assert meta(html, "og:url") == "http://testserver" + path.split("?")[0]
    assert meta(html, "twitter:card") == "summary_large_image"
    assert seeded.get("/static/share-card.png").headers["content-type"] == "image/png"


def test_campaign_card_uses_its_own_title(seeded: TestClient) -> None:
    html = seeded.get(CAMPAIGN + "?lang=fr").text
    assert meta(html, "og:title").startswith("En sécurité à la maison")
    assert meta(html, "og:locale") == "fr_FR"


# Quick exit --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*PUBLIC_PAGES, "/report", "/privacy"])
def test_quick_exit_on_every_advice_page_and_the_report_form(seeded: TestClient, path: str) -> None:
    html = seeded.get(path).text
    assert '<a id="quick-exit" href="https://www.example.org/"' in html
    assert '<script src="/static/quick-exit.js" defer></script>' in html
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None  # no inline script (CSP)


def test_quick_exit_address_is_a_setting(db: Database, settings) -> None:  # type: ignore[no-untyped-def]
    from hotline.web.app import create_app

    app = create_app(settings.model_copy(update={"quick_exit_url": "https://weather.example/"}), db)
    with TestClient(app) as other:
        assert 'href="https://weather.example/"' in other.get("/advice").text


def test_quick_exit_setting_refuses_a_non_https_address() -> None:
    from pydantic import ValidationError

    from hotline.config import Settings

    with pytest.raises(ValidationError):
        Settings(quick_exit_url="javascript:alert(1)")


# Search ------------------------------------------------------------------------------------


def test_search_finds_guides_and_resources_in_either_language(seeded: TestClient) -> None:
    html = seeded.get("/advice/search?q=TABLET").text
    assert "Ten minutes to safer settings" in html  # a campaign video (resource text)
    french = seeded.get("/advice/search?q=tablette").text  # French text, English reader
    assert 'href="/advice/videos"' in french
    guides = seeded.get("/advice/search?q=first steps").text
    assert 'href="/advice/age/under-5"' in guides


def test_search_with_no_match_and_wildcards(seeded: TestClient) -> None:
    html = seeded.get("/advice/search?q=zzqqxx").text
    assert "Nothing matched" in html
    for wildcard in ("%%", "__", "%_"):
        assert "Nothing matched" in seeded.get("/advice/search", params={"q": wildcard}).text


def test_empty_search_shows_the_form(seeded: TestClient) -> None:
    response = seeded.get("/advice/search")
    assert response.status_code == 200 and 'name="q"' in response.text


@pytest.mark.parametrize(
    ("query", "message"), [("x" * 101, "at most 100 characters"), ("a", "at least 2 characters")]
)
def test_bad_searches_are_clear_errors(seeded: TestClient, query: str, message: str) -> None:
    response = seeded.get("/advice/search", params={"q": query})
    assert response.status_code == 422
    assert message in response.text


# Helplines by country ----------------------------------------------------------------------


def test_helplines_filter_by_country(seeded: TestClient) -> None:
    everything = seeded.get("/advice/help").text
    assert "<h2>United Kingdom</h2>" in everything
    others = [c for c in re.findall(r"<h2>([^<]+)</h2>", everything) if c != "United Kingdom"]
    assert others, "the seed should list more than one country"
    only = seeded.get("/advice/help?country=gb").text
    assert "<h2>United Kingdom</h2>" in only
    assert not any(f"<h2>{c}</h2>" in only for c in others)
    assert '<option value="GB" selected>United Kingdom</option>' in only


def test_helplines_for_a_country_with_none(seeded: TestClient) -> None:
    html = seeded.get("/advice/help?country=IS&lang=fr").text
    assert "Aucune ligne d’assistance n’est encore répertoriée pour Islande" in html


@pytest.mark.parametrize("bad", ["GBR", "1A", "é!"])
def test_helplines_refuse_a_malformed_country(seeded: TestClient, bad: str) -> None:
    response = seeded.get("/advice/help", params={"country": bad})
    assert response.status_code == 422


# Privacy -----------------------------------------------------------------------------------


def test_privacy_page_says_what_is_kept(client: TestClient) -> None:
    html = client.get("/privacy").text
    assert "at most 30 days" in html  # media_retention_days
    assert "encrypted (AES-GCM)" in html  # store_reporter_email on
    assert "No network (IP) addresses" in html
    assert "“lang”" in html and "“hotline_csrf”" in html
    assert 'href="/privacy"' in client.get("/report").text


def test_privacy_page_follows_the_settings(db: Database, settings) -> None:  # type: ignore[no-untyped-def]
    from hotline.web.app import create_app

    changed = settings.model_copy(update={"store_reporter_email": False, "media_retention_days": 7})
    with TestClient(create_app(changed, db)) as other:
        html = other.get("/privacy?lang=fr").text
    assert "au plus 7 jours" in html
    assert "AES-GCM" not in html


# The reporter's status page ----------------------------------------------------------------


def _report(client: TestClient, url: str) -> str:
    reference: str = client.post("/api/v1/reports", json={"url": url}).json()["reference"]
    return reference


def _assess(db: Database, url: str, status: str, removed: bool = False) -> None:
    with db.write() as session:
        session.execute(
            update(ReportedUrlRow)
            .where(ReportedUrlRow.normalized_url == url)
            .values(
                status=status,
                verdict_at=datetime(2026, 11, 3, 10, tzinfo=UTC),
                removed_at=datetime(2026, 11, 20, 9, tzinfo=UTC) if removed else None,
            )
        )


def test_duplicate_reporter_learns_the_outcome_of_the_address(
    client: TestClient, db: Database
) -> None:
    url = "https://example.com/dup"
    _report(client, url)
    second = _report(client, url + "?utm_source=x")
    page = client.get(f"/report/status?reference={second}").text
    assert 'data-status="duplicate"' in page and 'data-outcome="received"' in page
    _assess(db, url, "actioned", removed=True)
    page = client.get(f"/report/status?reference={second}").text
    assert 'data-outcome="actioned"' in page
    assert "no longer available" in page
    assert "November 3, 2026" in page and "November 20, 2026" in page
    # Nothing about the other reporter: not when they reported, nor how many reports there are.
    with db.read() as session:
        first_at = session.execute(select(func.min(ReportRow.created_at))).scalar_one()
        assert session.execute(select(ReportedUrlRow.report_count)).scalar_one() == 2
    assert first_at.strftime("%H:%M:%S") not in page and "2 reports" not in page


def test_status_page_dates_in_french(client: TestClient, db: Database) -> None:
    url = "https://example.com/nothing"
    reference = _report(client, url)
    _assess(db, url, "no_action")
    page = client.get(f"/report/status?reference={reference}&lang=fr").text
    assert 'data-status="no_action"' in page and 'id="outcome"' not in page
    assert "3 novembre 2026" in page
    assert "Adresse évaluée" in page


def test_status_page_shows_no_assessment_date_while_open(client: TestClient, db: Database) -> None:
    url = "https://example.com/open"
    reference = _report(client, url)
    _assess(db, url, "in_assessment")  # a claim time in verdict_at must not read as assessed
    page = client.get(f"/report/status?reference={reference}").text
    assert "Address assessed" not in page


def test_status_page_bad_reference(client: TestClient) -> None:
    response = client.get("/report/status?reference=nope")
    assert response.status_code == 422 and "ABCD-1234-WXYZ" in response.text


def test_every_page_links_to_privacy_in_its_footer(client: TestClient) -> None:
    for path in ("/", "/advice", "/report/status"):
        footer = client.get(path).text.split('<footer class="site">')[1]
        assert '<a href="/privacy">Privacy</a>' in footer

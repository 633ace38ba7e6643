"""Public hub pages: no sign-in, English and French, fallback to English with a note."""

from __future__ import annotations

import itertools
import re

import pytest
from fastapi.testclient import TestClient

from hotline.advice import store
from hotline.advice.model import AgeBand, GuideText
from hotline.advice.seed import seed_advice
from hotline.db.engine import Database

PAGES = ["/advice", "/advice/videos", "/advice/links", "/advice/help"] + [
    f"/advice/age/{band.value}" for band in AgeBand
]


@pytest.fixture
def seeded(db: Database, client: TestClient) -> TestClient:
    seed_advice(db)
    return client


def h1(html: str) -> str:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert match, "page has no h1"
    return match.group(1).strip()


def headings(html: str) -> list[int]:
    return [int(level) for level in re.findall(r"<h([1-6])[\s>]", html)]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_public_and_well_formed(seeded: TestClient, path: str) -> None:
    response = seeded.get(path)
    assert response.status_code == 200
    html = response.text
    assert '<html lang="en">' in html
    levels = headings(html)
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    assert "<img" not in html and "<iframe" not in html and "<video" not in html


def test_hub_in_english(seeded: TestClient) -> None:
    html = seeded.get("/advice").text
    assert h1(html) == "Online safety advice for parents and carers"
    for band in AgeBand:
        assert f'href="/advice/age/{band.value}"' in html
    assert "not been translated" not in html


def test_query_parameter_picks_french_and_remembers_it(seeded: TestClient) -> None:
    response = seeded.get("/advice?lang=fr")
    assert '<html lang="fr">' in response.text
    assert h1(response.text) == "Conseils de sécurité en ligne pour les parents et les proches"
    assert "Conseils par âge" in response.text
    assert response.cookies.get("lang") == "fr"
    # The cookie now carries the choice to the next page.
    page = seeded.get("/advice/age/8-10")
    assert h1(page.text) == "De 8 à 10 ans : jeux, discussions et premiers téléphones"


def test_accept_language_picks_french(seeded: TestClient) -> None:
    html = seeded.get("/advice/age/under-5", headers={"Accept-Language": "fr-CA,fr;q=0.9"}).text
    assert '<html lang="fr">' in html
    assert h1(html) == "Moins de 5 ans : premiers pas en ligne"
    assert "<h2>Configurez les appareils avant de les confier</h2>" in html
    assert "Autres tranches d’âge" in html


def test_unsupported_language_gets_english(seeded: TestClient) -> None:
    html = seeded.get("/advice/age/under-5", headers={"Accept-Language": "de-DE"}).text
    assert h1(html) == "Under 5: first steps online"


def test_missing_translation_falls_back_to_english_with_a_note(
    db: Database, seeded: TestClient
) -> None:
    with db.write() as session:
        english = store.load_guide(session, AgeBand.age_14_17).texts["en"]
        store.save_guide(session, AgeBand.age_14_17, {"en": english}, ["en", "fr"], "editor")
    html = seeded.get("/advice/age/14-17?lang=fr").text
    assert '<html lang="fr">' in html
    assert "pas encore traduits dans votre langue" in html
    assert f'<h1 lang="en">{english.title}</h1>' in html
    assert '<div class="advice-body" lang="en">' in html
    hub = seeded.get("/advice?lang=fr").text
    assert "pas encore traduits" in hub


def test_help_page_lists_helplines_by_country_with_phone_links(seeded: TestClient) -> None:
    html = seeded.get("/advice/help").text
    assert "<h2>United Kingdom</h2>" in html
    assert '<a href="tel:08001111">0800 1111</a>' in html
    assert 'href="https://www.childline.org.uk/"' in html
    fr = seeded.get("/advice/help?lang=fr").text
    assert "<h2>Royaume-Uni</h2>" in fr and "Téléphone :" in fr
    # Sorted as a French reader expects: États-Unis before France.
    assert fr.index("<h2>États-Unis</h2>") < fr.index("<h2>France</h2>")


def test_videos_are_links_labelled_with_language_and_example(seeded: TestClient) -> None:
    html = seeded.get("/advice/videos").text
    assert "Example entry:" in html
    assert "Language of the video: English" in html
    assert 'hreflang="en"' in html
    fr = seeded.get("/advice/videos?lang=fr").text
    assert "Langue de la vidéo : français" in fr
    # Videos in the reader's language come first (the header's switcher is left out).
    main = fr[fr.index("<main") :]
    assert main.index('hreflang="fr"') < main.index('hreflang="en"')


def test_links_are_grouped_government_then_charity(seeded: TestClient) -> None:
    html = seeded.get("/advice/links").text
    assert html.index("<h2>Government advice</h2>") < html.index("<h2>Charity advice</h2>")
    assert 'href="https://www.nspcc.org.uk/"' in html


def test_unknown_age_band_is_404(seeded: TestClient) -> None:
    assert seeded.get("/advice/age/18-25").status_code == 404


def test_empty_hub_still_renders(client: TestClient) -> None:
    html = client.get("/advice").text
    assert "advice coming soon" in html
    assert client.get("/advice/age/5-7").status_code == 404
    assert "There are no videos yet." in client.get("/advice/videos").text


def test_body_markdown_is_rendered_safely_on_the_public_page(
    db: Database, client: TestClient
) -> None:
    body = "## Safe\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))"
    with db.write() as session:
        store.save_guide(session, AgeBand.under_5, {"en": GuideText("T", "S", body)}, ["en"], "e")
    html = client.get("/advice/age/under-5").text
    assert "<h2>Safe</h2>" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript' not in html

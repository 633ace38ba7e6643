"""The public statistics page and the open data: no login, both languages, from the cache;
every bad input a clear 4xx in the one error shape (the open data) or the error page."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from hotline.assess import site_types
from hotline.db.engine import Database
from hotline.stats import actions
from tests.stats.published_data import seed


@pytest.fixture
def published(db: Database) -> Database:
    seed(db)
    with db.write() as session:
        site_types.seed_defaults(session)
    actions.refresh_published(db, None, threshold=2)
    return db


def _error(response, status: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


def test_the_page_needs_no_login_and_shows_both_years(
    client: TestClient, published: Database
) -> None:
    latest = client.get("/statistics", follow_redirects=False)
    assert latest.status_code == 303 and latest.headers["location"] == "/statistics/2026"
    page = client.get("/statistics/2026")
    assert page.status_code == 200
    text = page.text
    assert "Statistics for 2026" in text and "<script" not in text
    assert 'role="img"' in text and "<title" in text  # charts with accessible names
    # 2026 reports 6, 2025 reports 1 (below the threshold of 2: suppressed).
    assert 'data-key="reports_received"><th scope="row">Reports received</th>' in text
    assert '<td data-year="2026">6</td><td data-year="2025">fewer than 2</td>' in text
    assert "Median hours from first report to removal" in text and "56.0" in text
    assert "Image host" in text and "France" in text and ".example" in text
    assert 'id="methodology"' in text


def test_the_page_in_french(client: TestClient, published: Database) -> None:
    text = client.get("/statistics/2026?lang=fr").text
    assert "Statistiques pour 2026" in text
    assert (
        "moins de 2" in text and "Hébergeur d'images" in text
    ) or "Hébergeur d&#39;images" in text
    assert "Méthodologie" in text


def test_no_figures_yet(client: TestClient, db: Database) -> None:
    page = client.get("/statistics")
    assert page.status_code == 200 and 'id="no-figures"' in page.text


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/statistics/1999", 422),
        ("/statistics/20x6", 422),
        ("/statistics/2019", 404),
        ("/statistics/" + "9" * 40, 422),
    ],
)
def test_bad_years_on_the_page(
    client: TestClient, published: Database, path: str, status: int
) -> None:
    assert client.get(path).status_code == status


def test_open_data_csv_and_json(client: TestClient, published: Database) -> None:
    got = client.get("/api/v1/statistics/actioned_by_tld.csv?from=2026&to=2026")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert {r["key"]: (r["value"], r["suppressed"]) for r in rows} == {
        "com": ("", "true"), "org": ("", "true"), "example": ("", "true"), "total": ("3", "false"),
    }  # fmt: skip
    body = client.get("/api/v1/statistics/funnel.json").json()
    assert body["from"] == 2025 and body["to"] == 2026 and body["suppression_threshold"] == 2
    cells = {(r["year"], r["key"]): r["value"] for r in body["rows"]}
    assert cells[(2026, "urls_actioned")] == 3 and cells[(2025, "urls_actioned")] is None
    dictionary = client.get("/api/v1/statistics/dictionary.json").json()
    assert {f["name"] for f in dictionary["figures"]} >= {"funnel", "takedown"}
    assert client.get("/api/v1/statistics/dictionary.csv").text.startswith("name,type,")


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/api/v1/statistics/funnel.csv?from=2026&to=2025", 422, "from"),
        ("/api/v1/statistics/funnel.csv?from=26", 422, "from"),
        ("/api/v1/statistics/funnel.json?to=yesterday", 422, "to"),
        ("/api/v1/statistics/funnel.xlsx", 404, None),
        ("/api/v1/statistics/funnel", 404, None),
        ("/api/v1/statistics/no_such_figure.csv", 404, None),
    ],
)
def test_bad_open_data_requests(
    client: TestClient, published: Database, path: str, status: int, field: str | None
) -> None:
    error = _error(client.get(path), status)
    if field:
        assert [f["field"] for f in error["fields"]] == [field]  # type: ignore[union-attr]


def test_a_year_with_no_data_in_range_is_empty_not_an_error(
    client: TestClient, published: Database
) -> None:
    got = client.get("/api/v1/statistics/funnel.csv?from=2010&to=2011")
    assert got.status_code == 200 and got.text.strip() == "year,figure,key,value,suppressed"


def test_open_data_before_any_refresh(client: TestClient, db: Database) -> None:
    _error(client.get("/api/v1/statistics/funnel.csv"), 404)

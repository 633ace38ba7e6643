"""`hotline stats report`: the year's figures, charts and methodology as one printable HTML
file in either language, from the cache; bad years, formats and languages exit 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.security.tables import AuditRow
from hotline.stats import actions
from tests.stats.published_data import seed


@pytest.fixture
def runner(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    seed(db)
    actions.refresh_published(db, None, threshold=2)
    return CliRunner()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize(
    ("lang", "title", "row"),
    [("en", "Annual report 2026", "Reports received 6 fewer than 2"),
     ("fr", "Rapport annuel 2026", "Signalements reçus 6 moins de 2")],
)  # fmt: skip
def test_the_report_in_both_languages(
    runner: CliRunner, db: Database, tmp_path: Path, lang: str, title: str, row: str
) -> None:
    out = tmp_path / f"report-{lang}.html"
    done = runner.invoke(app, ["stats", "report", "--year", "2026", "--out", str(out),
                               "--lang", lang])  # fmt: skip
    assert done.exit_code == 0, done.output
    html = out.read_text()
    assert "<script" not in html and "src=" not in html  # self-contained
    text = _text(html)
    assert title in text and row in text
    assert html.count('role="img"') == 11  # one chart per breakdown
    assert 'id="methodology"' in html
    with db.read() as session:
        entries = session.execute(
            select(AuditRow.detail).where(AuditRow.action == "stats.export")
        ).scalars()
        assert [json.loads(e)["lang"] for e in entries] == [lang]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--year", "26"], "year"),
        (["--year", "2019"], "no figures are published for 2019"),
        (["--year", "2026", "--format", "docx"], "format"),
        (["--year", "2026", "--lang", "de"], "lang"),
    ],
)
def test_bad_input_exits_2(runner: CliRunner, tmp_path: Path, args: list[str], says: str) -> None:
    out = tmp_path / "r.html"
    done = runner.invoke(app, ["stats", "report", "--out", str(out), *args])
    assert done.exit_code == 2 and says in done.output
    assert not out.exists()


def _pdf_text(data: bytes) -> list[str]:
    """The text runs of an uncompressed PDF (fpdf2's literal strings, unescaped)."""
    runs = re.findall(rb"\(((?:[^()\\]|\\.)*)\) Tj", data)
    return [re.sub(rb"\\(.)", rb"\1", r).decode("latin-1") for r in runs]


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("en", ["Annual report 2026", "Reports received by source", "Partner hotlines",
             "fewer than 2", "Methodology and definitions"]),
     ("fr", ["Rapport annuel 2026", "Signalements reçus par origine", "Hotlines partenaires",
             "moins de 2", "Méthodologie et définitions"])],
)  # fmt: skip
def test_the_pdf_report_text_is_the_figures(
    runner: CliRunner, tmp_path: Path, lang: str, expected: list[str]
) -> None:
    out = tmp_path / "r.pdf"
    done = runner.invoke(app, ["stats", "report", "--year", "2026", "--format", "pdf",
                               "--out", str(out), "--lang", lang])  # fmt: skip
    assert done.exit_code == 0, done.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    runs = _pdf_text(data)
    for text in expected:
        assert text in runs, text
    # The funnel's first row: label, 2026, 2025 in that order.
    label = "Reports received" if lang == "en" else "Signalements reçus"
    at = runs.index(label)
    assert runs[at + 1 : at + 3] == ["6", expected[3]]

"""The public statistics page and the open data: no login, read from the cache only (the
figures are computed by the periodic refresh, never on a request). Not audited: they show
published aggregates to anyone, and a log entry per anonymous visit would let anyone fill
the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from hotline.assess import site_types
from hotline.stats import figures, labels, published
from hotline.stats.cache import Cell, state
from hotline.web import charts
from hotline.web.deps import get_db, get_settings
from hotline.web.i18n import current_locale
from hotline.web.i18n import gettext_ as _
from hotline.web.templating import render

router = APIRouter(prefix="/statistics", include_in_schema=False)
data_router = APIRouter(prefix="/api/v1/statistics", tags=["statistics"])
CHART_ROWS = 12


def _chart(name: str, title: str, year: int, rows: list[dict[str, Any]]) -> Markup:
    shown = [r for r in rows if r["key"] != "total"][:CHART_ROWS]
    return Markup(  # noqa: S704 - charts.esc escapes every text and attribute value
        charts.bar_chart(
            chart_id=f"chart-{name.replace('_', '-')}",
            title=title,
            desc=_(
                "Bars for %(year)s and %(previous)s; suppressed counts have no bar. The table "
                "gives every figure."
            )
            % {"year": year, "previous": year - 1},
            labels=[str(r["label"]) for r in shown],
            series=[
                charts.Series(str(year), [r["now"] for r in shown]),
                charts.Series(str(year - 1), [r["before"] for r in shown]),
            ],
            unit="",
            axis_label=_("Count"),
            empty_text=_("Nothing to show for these years."),
            digits=0,
        )
    )


def _sections(page: published.YearPage, kinds: dict[str, str]) -> list[dict[str, Any]]:
    threshold = page.state.threshold
    now, before = page.figures.get(page.year, {}), page.figures.get(page.previous, {})
    titles = labels.titles()
    sections: list[dict[str, Any]] = []
    for figure in figures.FIGURES:
        cells: dict[str, list[Cell | None]] = {}
        for index, found in enumerate((now.get(figure.name, []), before.get(figure.name, []))):
            for cell in found:
                cells.setdefault(cell.key, [None, None])[index] = cell
        rows: list[dict[str, Any]] = []
        for key, (a, b) in cells.items():
            rows.append({
                "key": key,
                "label": labels.cell_label(figure.name, key, kinds),
                "now": a.value if a else None,
                "before": b.value if b else None,
                "now_text": labels.value_text(figure.name, key, a.value, a.suppressed, threshold)
                if a else "—",
                "before_text": labels.value_text(figure.name, key, b.value, b.suppressed,
                                                 threshold) if b else "—",
            })  # fmt: skip
        chart = (
            _chart(figure.name, titles[figure.name], page.year, rows)
            if figure.kind == "breakdown"
            else None
        )
        sections.append({"name": figure.name, "title": titles[figure.name], "rows": rows,
                         "chart": chart})  # fmt: skip
    return sections


@router.get("", response_class=HTMLResponse)
def latest(request: Request) -> Response:
    with get_db(request).read() as session:
        years = state(session).years
    if years:
        return RedirectResponse(f"/statistics/{years[-1]}", status_code=303)
    return render(request, "stats/public.html", {"page": None, "sections": []})


@router.get("/{year}", response_class=HTMLResponse)
def year_page(request: Request, year: str) -> HTMLResponse:
    number = published.parse_year(year)
    with get_db(request).read() as session:
        page = published.year_page(session, number)
        kinds = site_types.labels(session, current_locale())
    return render(
        request,
        "stats/public.html",
        {"page": page, "sections": _sections(page, kinds), "years": page.state.years},
    )


@data_router.get("/{name}")
def open_data(
    request: Request,
    name: str,
    start: str | None = Query(None, alias="from", max_length=8),
    end: str | None = Query(None, alias="to", max_length=8),
) -> Response:
    """One figure over a range of years (`from`, `to`: years, both included; default every
    year published), as CSV or JSON; `dictionary.csv` / `dictionary.json`: what each column
    and figure means."""
    figure, fmt = published.parse_file(name)
    if figure == "dictionary":
        content, media = published.dictionary(
            fmt, get_settings(request).stats_suppression_threshold
        )
    else:
        with get_db(request).read() as session:
            content, media = published.figure_file(session, figure, fmt, start, end)
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'inline; filename="{name}"'})  # fmt: skip

"""The public statistics page and the open data: no login, read from the cache only (the
figures are computed by the periodic refresh, never on a request). Not audited: they show
published aggregates to anyone, and a log entry per anonymous visit would let anyone fill
the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hotline.assess import site_types
from hotline.errors import error_responses
from hotline.stats import labels, published, sections
from hotline.stats.cache import state
from hotline.web.deps import get_db, get_settings
from hotline.web.i18n import current_locale
from hotline.web.templating import render

router = APIRouter(prefix="/statistics", include_in_schema=False)
# Under /api/ so that their errors take the one JSON error shape; documented in the OpenAPI
# document like the rest of the API.
data_router = APIRouter(prefix="/api/v1/statistics", tags=["statistics"])
_FILES = {
    200: {
        "description": "The figure (or the data dictionary) as CSV or JSON, as the name's "
        "extension asks",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    },
    **error_responses(404, 422),
}


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
        {
            "page": page,
            "sections": sections.build(page, kinds),
            "years": page.state.years,
            "methodology": labels.methodology(page.state.threshold),
        },
    )


@data_router.get("/{name}", responses=_FILES, response_class=Response)
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

"""The staff search page, `/staff/search?q=…`: the box in every staff page's header and the
lists that can show what was typed, with counts (hotline.stats.staff_search). A search that no
list can make shows the form again with the text and what is wrong with it (422)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from hotline.security.permissions import Action, Actor
from hotline.stats import staff_search
from hotline.web.deps import get_db, require
from hotline.web.listing_pages import list_page
from hotline.web.templating import render

router = APIRouter(prefix="/staff", include_in_schema=False)


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request, actor: Actor = Depends(require(Action.queue_view))
) -> HTMLResponse:
    if "q" not in request.query_params:  # the empty form, before any search
        context: dict[str, object] = {"page": None, "values": {}, "errors": {}, "message": None}
        return render(request, "staff/search.html", context)

    def run(params: dict[str, str]) -> staff_search.SearchResult:
        with get_db(request).write() as session:
            return staff_search.search(session, actor, params.get("q", ""))

    return list_page(request, "staff/search.html", run, {"kinds": staff_search.KIND_WORDS})

"""Takedown cases searched: /staff/takedown/search (address, domain, reference; list, country,
category; sortable; pages by key) and its CSV. Thin callers of `case_search`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from hotline.errors import InvalidInput
from hotline.security.permissions import Action, Actor
from hotline.takedown import case_search, cases
from hotline.web.deps import get_db, require
from hotline.web.templating import render

router = APIRouter(prefix="/staff/takedown", include_in_schema=False)


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request, actor: Actor = Depends(require(Action.takedown_manage))
) -> Response:
    params = dict(request.query_params)
    context: dict[str, object] = {"values": params, "tabs": list(cases.CaseTab)}
    try:
        with get_db(request).write() as session:
            page = case_search.search_cases(session, actor, params)
    except InvalidInput as exc:
        errors = {f.field: f.message for f in exc.fields}
        context |= {"page": None, "errors": errors, "message": exc.message}
        return render(request, "takedown/search.html", context, status_code=422)
    context |= {"page": page, "errors": {}, "message": None}
    return render(request, "takedown/search.html", context)


@router.get("/search.csv")
def search_csv(
    request: Request, actor: Actor = Depends(require(Action.takedown_manage))
) -> Response:
    db = get_db(request)
    with db.write() as session:
        query = case_search.export_cases(session, actor, dict(request.query_params))
    return StreamingResponse(
        case_search.cases_csv(db, query),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="takedown-cases.csv"'},
    )

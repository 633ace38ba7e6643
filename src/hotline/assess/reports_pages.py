"""The staff reports list: every report, any status, searched, filtered, sorted, paged by key,
and exported as CSV. Thin callers of `assess.reports_list`, which checks and audits."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from hotline.assess import reports_list
from hotline.errors import InvalidInput
from hotline.intake.reports import ContentType, Origin, Source, UrlStatus
from hotline.security.permissions import Action, Actor
from hotline.web.deps import get_db, require
from hotline.web.templating import render

router = APIRouter(prefix="/staff/reports", include_in_schema=False)


def _choices() -> dict[str, list[str]]:
    return {
        "status": list(UrlStatus),
        "source": list(Source),
        "origin": list(Origin),
        "content_type": list(ContentType),
    }


@router.get("", response_class=HTMLResponse)
def reports_page(
    request: Request, actor: Actor = Depends(require(Action.queue_view))
) -> HTMLResponse:
    params = dict(request.query_params)
    try:
        with get_db(request).write() as session:
            page = reports_list.list_reports(session, actor, params)
    except InvalidInput as exc:
        # The form again, with what was typed and what is wrong with it; nothing listed.
        errors = {f.field: f.message for f in exc.fields}
        return render(
            request,
            "assess/reports.html",
            {"page": None, "values": params, "errors": errors, "message": exc.message}
            | {"choices": _choices()},
            status_code=422,
        )
    return render(
        request,
        "assess/reports.html",
        {"page": page, "values": params, "errors": {}, "message": None, "choices": _choices()},
    )


@router.get("/export.csv")
def export_csv(request: Request, actor: Actor = Depends(require(Action.queue_view))) -> Response:
    """Exactly what the list's filter shows, every page of it, streamed as CSV."""
    db = get_db(request)
    with db.write() as session:
        query = reports_list.export_reports(session, actor, dict(request.query_params))
    lines = reports_list.listing_csv(db, query)
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="reports.csv"'},
    )

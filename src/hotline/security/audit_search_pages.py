"""The audit log searched: /staff/audit/entries (who, what, which object, when), paged by key,
and /staff/audit/entries.csv. Thin callers of `audit_search`, which checks and audits."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from hotline.errors import InvalidInput
from hotline.security import audit_search
from hotline.security.permissions import Action, Actor
from hotline.web.deps import get_db, require
from hotline.web.templating import render

router = APIRouter(prefix="/staff/audit", include_in_schema=False)


@router.get("/entries", response_class=HTMLResponse)
def entries_page(request: Request, actor: Actor = Depends(require(Action.audit_view))) -> Response:
    params = dict(request.query_params)
    try:
        page = audit_search.search(get_db(request), actor, params)
    except InvalidInput as exc:
        errors = {f.field: f.message for f in exc.fields}
        return render(
            request,
            "staff/audit_search.html",
            {"page": None, "values": params, "errors": errors, "message": exc.message},
            status_code=422,
        )
    return render(
        request,
        "staff/audit_search.html",
        {"page": page, "values": params, "errors": {}, "message": None},
    )


@router.get("/entries.csv")
def entries_csv(request: Request, actor: Actor = Depends(require(Action.audit_view))) -> Response:
    lines = audit_search.export(get_db(request), actor, dict(request.query_params))
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )

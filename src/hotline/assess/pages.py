"""The assessment queue page: reported URLs waiting for an analyst."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from hotline.intake import reports
from hotline.security import audit
from hotline.security.permissions import Action, Actor
from hotline.web.deps import get_db, require
from hotline.web.templating import render

router = APIRouter(prefix="/staff", include_in_schema=False)
PAGE_SIZE = 50


@router.get("/queue", response_class=HTMLResponse)
def queue_page(
    request: Request,
    page: int = Query(1, ge=1, le=100_000),
    actor: Actor = Depends(require(Action.queue_view)),
) -> HTMLResponse:
    with get_db(request).write() as session:
        items = reports.queue(session, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        total = reports.queue_size(session)
        audit.record(
            session,
            actor.username,
            "queue.view",
            "queue",
            "assessment",
            {"page": page, "shown": len(items)},
        )
    return render(
        request,
        "assess/queue.html",
        {"items": items, "total": total, "page": page, "has_next": page * PAGE_SIZE < total},
    )

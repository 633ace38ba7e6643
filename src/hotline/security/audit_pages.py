"""The staff audit page: the log a page at a time, newest first, and the chain verified.

Verification is incremental and takes no lock: it starts from the last point a walk found
intact (kept, tagged with the audit key, in `audit_state`) and reads in a plain read
transaction, so audited writes elsewhere never wait for it (appends lock only the head row).
The view, its entry and the walk are `audit_actions.open_audit_log`; the full walk against
signed checkpoints is `hotline audit verify`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from hotline.security import audit_actions
from hotline.security.permissions import Action, Actor
from hotline.web.deps import get_db, require
from hotline.web.templating import render

router = APIRouter(prefix="/staff", include_in_schema=False)

PAGE_SIZE = 100
# Rows one visit verifies at most: a first visit to a long, never-verified chain answers in
# seconds, and the next visit goes on from where it stopped.
WALK_LIMIT = 50_000


@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    before: int | None = Query(default=None, ge=1, le=2**62),
    actor: Actor = Depends(require(Action.audit_view)),
) -> Response:
    shown = audit_actions.open_audit_log(
        get_db(request), actor, before, page_size=PAGE_SIZE, walk_limit=WALK_LIMIT
    )
    return render(
        request,
        "staff/audit.html",
        {"entries": shown.entries, "result": shown.result, "older": shown.older, "before": before},
    )

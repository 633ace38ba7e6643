"""The staff case-set page: every case set with its import progress (taskforce graders)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from hotline.security.permissions import Action, Actor
from hotline.taskforce import actions
from hotline.web.deps import get_db, require
from hotline.web.templating import render

router = APIRouter(prefix="/staff", include_in_schema=False)


@router.get("/taskforce", response_class=HTMLResponse)
def case_sets(
    request: Request, actor: Actor = Depends(require(Action.taskforce_grade))
) -> Response:
    with get_db(request).write() as session:  # the view is audited, in its own transaction
        sets = actions.list_case_sets(session, actor)
    return render(request, "taskforce/case_sets.html", {"case_sets": sets})

"""The staff crawl pages: every crawl's progress and yield (known media per 1,000 pages), and
one crawl's figures. Views are audited (the actions record them). Nothing found is shown
here: media are counted, never displayed."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from hotline.proactive import actions
from hotline.security.permissions import Action, Actor
from hotline.web.deps import get_db, require
from hotline.web.templating import render

router = APIRouter(prefix="/staff", include_in_schema=False)


@router.get("/crawls", response_class=HTMLResponse)
def crawls(request: Request, actor: Actor = Depends(require(Action.crawl_view))) -> Response:
    with get_db(request).write() as session:  # the view is audited, in its own transaction
        views = actions.list_crawls(session, actor)
    return render(request, "proactive/crawls.html", {"crawls": views})


@router.get("/crawls/{crawl_id}", response_class=HTMLResponse)
def crawl(
    crawl_id: int, request: Request, actor: Actor = Depends(require(Action.crawl_view))
) -> Response:
    with get_db(request).write() as session:
        view = actions.crawl_status(session, actor, crawl_id)
    return render(request, "proactive/crawl.html", {"crawl": view})

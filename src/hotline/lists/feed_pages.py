"""The exchange feeds' status page for staff: each feed's last fetch, counts and last
error (`/staff/exchange-feeds`). A view, so an action: `feed_actions.view_feeds` checks the
permission (lists.manage) and writes the audit entry."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from hotline.lists import feed_actions
from hotline.security.permissions import Action, Actor
from hotline.web.deps import get_db, require
from hotline.web.templating import render

router = APIRouter(prefix="/staff/exchange-feeds", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def feeds_status(
    request: Request, actor: Actor = Depends(require(Action.lists_manage))
) -> Response:
    with get_db(request).write() as session:
        feeds = feed_actions.view_feeds(session, actor)
    return render(request, "lists/feeds.html", {"feeds": feeds})

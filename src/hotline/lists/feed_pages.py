"""The exchange feeds' status page for staff: each feed's last fetch, counts and last
error (`/staff/exchange-feeds`), and per feed "fetch now", enable and disable. Thin: each goes
through `feed_actions` (permission lists.manage, the write, the audit entry) and is confirmed
on the page it lands on (web.flash); the view itself is audited by `view_feeds`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from hotline.errors import AppError
from hotline.lists import feed_actions
from hotline.security.permissions import Action, Actor
from hotline.web.deps import get_db, require
from hotline.web.flash import redirect_with_flash
from hotline.web.templating import render

router = APIRouter(prefix="/staff/exchange-feeds", include_in_schema=False)

_MANAGE = Depends(require(Action.lists_manage))
_HERE = "/staff/exchange-feeds"


def _page(request: Request, actor: Actor, error: AppError | None = None) -> Response:
    with get_db(request).write() as session:
        feeds = feed_actions.view_feeds(session, actor)
    context = {"feeds": feeds, "error": error.message if error else None}
    return render(request, "lists/feeds.html", context, status_code=error.status if error else 200)


@router.get("", response_class=HTMLResponse)
def feeds_status(request: Request, actor: Actor = _MANAGE) -> Response:
    return _page(request, actor)


@router.post("/{name}/fetch", response_class=HTMLResponse)
def feed_fetch_now(name: str, request: Request, actor: Actor = _MANAGE) -> Response:
    try:
        with get_db(request).write() as session:
            feed_actions.fetch_soon(session, actor, name)
    except AppError as exc:
        return _page(request, actor, exc)
    return redirect_with_flash(request, _HERE, "feed.fetch_requested")


def _set_enabled(request: Request, actor: Actor, name: str, enabled: bool) -> Response:
    try:
        with get_db(request).write() as session:
            feed_actions.set_feed_enabled(session, actor, name, enabled)
    except AppError as exc:
        return _page(request, actor, exc)
    return redirect_with_flash(request, _HERE, "feed.enabled" if enabled else "feed.disabled")


@router.post("/{name}/enable", response_class=HTMLResponse)
def feed_enable(name: str, request: Request, actor: Actor = _MANAGE) -> Response:
    return _set_enabled(request, actor, name, True)


@router.post("/{name}/disable", response_class=HTMLResponse)
def feed_disable(name: str, request: Request, actor: Actor = _MANAGE) -> Response:
    return _set_enabled(request, actor, name, False)

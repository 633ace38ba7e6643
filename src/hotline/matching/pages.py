"""Admin pages for industry members and their API keys: add a member, issue a key scoped to
lists (the key shown once, on the answer to the form, never again), revoke a key, and see each
key's scopes, creation, revocation, last use and answered calls (today, last 7 days, total).
Every change goes through `hotline.matching.actions`, as `hotline member …` does."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from hotline.errors import AppError
from hotline.matching import actions, keys
from hotline.security.permissions import Action, Actor
from hotline.web.csrf import PostedForm
from hotline.web.deps import get_db, require
from hotline.web.flash import redirect_with_flash
from hotline.web.templating import render, render_form_error

router = APIRouter(prefix="/staff/members", include_in_schema=False)

_MANAGE = Depends(require(Action.members_manage))


def _context(request: Request, actor: Actor) -> dict[str, Any]:
    with get_db(request).read() as session:
        members, member_keys, lists = actions.view_members(session, actor)
    return {
        "members": members,
        "keys": member_keys,
        "lists": lists,
        "key_prefix": keys.KEY_PREFIX,
        "issued": None,
        "errors": {},
        "values": {},
    }


def _with_error(
    request: Request, actor: Actor, exc: AppError, form: str, values: dict[str, Any]
) -> Response:
    context = _context(request, actor)
    return render_form_error(request, "staff/members.html", context, exc, form, values)


@router.get("", response_class=HTMLResponse)
def member_list(request: Request, actor: Actor = _MANAGE) -> Response:
    return render(request, "staff/members.html", _context(request, actor))


@router.post("", response_class=HTMLResponse)
def member_add(request: Request, actor: Actor = _MANAGE, form: FormData = PostedForm) -> Response:
    name = str(form.get("name", ""))[:200]
    try:
        with get_db(request).write() as session:
            actions.add_member(session, actor, name)
    except AppError as exc:
        return _with_error(request, actor, exc, "member", {"name": name})
    return redirect_with_flash(request, "/staff/members", "member.created")


@router.post("/keys", response_class=HTMLResponse)
def key_create(request: Request, actor: Actor = _MANAGE, form: FormData = PostedForm) -> Response:
    member = str(form.get("member", ""))[:200]
    scopes = [str(v)[:200] for v in form.getlist("lists")][:100]
    try:
        with get_db(request).write() as session:
            issued, info = actions.create_key(session, actor, member, scopes)
    except AppError as exc:
        return _with_error(request, actor, exc, "key", {"member": member, "lists": scopes})
    # The one time the key is shown: on this answer, not after a redirect, and never stored.
    context = _context(request, actor) | {"issued": {"key": issued.key, "info": info}}
    response = render(request, "staff/members.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/keys/revoke", response_class=HTMLResponse)
def key_revoke(request: Request, actor: Actor = _MANAGE, form: FormData = PostedForm) -> Response:
    prefix = str(form.get("prefix", ""))[:64]
    try:
        with get_db(request).write() as session:
            actions.revoke_key(session, actor, prefix)
    except AppError as exc:
        return _with_error(request, actor, exc, "revoke", {})
    return redirect_with_flash(request, "/staff/members", "member_key.revoked")

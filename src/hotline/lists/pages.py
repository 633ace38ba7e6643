"""Admin pages for lists: create a list, release one (every format, the delta from the previous
release, the signed manifest), see each list's releases, and rotate the release-signing key.
Every change goes through `hotline.lists.actions`, as `hotline lists …` does; entries,
imports, grading sync and a list's configuration stay with the CLI (docs/lists.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from hotline.errors import N_, AppError, FieldError, InvalidInput
from hotline.lists import actions
from hotline.lists.api import release_root
from hotline.matching.model import LIST_KINDS
from hotline.security.permissions import Action, Actor
from hotline.web.csrf import PostedForm
from hotline.web.deps import get_db, get_settings, require
from hotline.web.flash import redirect_with_flash
from hotline.web.templating import render, render_form_error

router = APIRouter(prefix="/staff/lists", include_in_schema=False)

_MANAGE = Depends(require(Action.lists_manage))


def _context(request: Request, actor: Actor) -> dict[str, Any]:
    with get_db(request).read() as session:
        lists, releases = actions.view_lists(session, actor)
        signing_keys = actions.signing_keys(session, actor)
    return {
        "lists": lists,
        "releases": releases,
        "signing_keys": signing_keys,
        "kinds": LIST_KINDS,
        "errors": {},
        "values": {},
    }


def _with_error(
    request: Request, actor: Actor, exc: AppError, form: str, values: dict[str, Any]
) -> Response:
    context = _context(request, actor)
    return render_form_error(request, "lists/lists.html", context, exc, form, values)


@router.get("", response_class=HTMLResponse)
def list_lists(request: Request, actor: Actor = _MANAGE) -> Response:
    return render(request, "lists/lists.html", _context(request, actor))


def _distance(text: str) -> int:
    try:
        return int(text.strip() or "31")
    except ValueError:
        raise InvalidInput(
            N_("the distance is a whole number"),
            fields=[FieldError("pdq_max_distance", N_("must be a whole number"))],
        ) from None


@router.post("", response_class=HTMLResponse)
def list_create(request: Request, actor: Actor = _MANAGE, form: FormData = PostedForm) -> Response:
    values = {
        k: str(form.get(k, ""))[:500] for k in ("name", "kind", "description", "pdq_max_distance")
    }
    try:
        distance = _distance(values["pdq_max_distance"])
        with get_db(request).write() as session:
            actions.create_list(
                session,
                actor,
                values["name"],
                description=values["description"],
                pdq_max_distance=distance,
                kind=values["kind"] or "hash",
            )
    except AppError as exc:
        return _with_error(request, actor, exc, "create", values)
    return redirect_with_flash(request, "/staff/lists", "list.created")


@router.post("/release", response_class=HTMLResponse)
def list_release(request: Request, actor: Actor = _MANAGE, form: FormData = PostedForm) -> Response:
    name = str(form.get("name", ""))[:200]
    settings = get_settings(request)
    try:
        actions.publish(get_db(request), actor, release_root(settings), name, settings.secret)
    except AppError as exc:
        return _with_error(request, actor, exc, "release", {})
    return redirect_with_flash(request, "/staff/lists", "list.released")


@router.post("/signing-key/rotate", response_class=HTMLResponse)
def signing_key_rotate(request: Request, actor: Actor = _MANAGE) -> Response:
    with get_db(request).write() as session:
        actions.rotate_signing_key(session, actor, get_settings(request).secret)
    return redirect_with_flash(request, "/staff/lists", "list.signing_key_rotated")

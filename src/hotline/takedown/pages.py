"""Takedown pages for takedown officers: cases by state, one case with its notices and
re-checks, confirm-and-send, send again, record removal, check now, clear a flag. Every view
and decision is audited (views and the removal by `takedown.actions`); each decision confirms
itself with a flash message after its redirect, and a refused one shows the case again with
the errors in the page's language and what was typed kept."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from hotline.errors import N_, AppError, FieldError, InvalidInput
from hotline.security.permissions import Action, Actor
from hotline.takedown import actions, cases, checks
from hotline.web.csrf import PostedForm
from hotline.web.deps import get_db, get_settings, require
from hotline.web.flash import redirect_with_flash
from hotline.web.templating import render

router = APIRouter(prefix="/staff/takedown", include_in_schema=False)
PAGE_SIZE = 50


@router.get("", response_class=HTMLResponse)
def cases_page(
    request: Request,
    tab: cases.CaseTab = Query(cases.CaseTab.proposed),
    page: int = Query(1, ge=1, le=100_000),
    actor: Actor = Depends(require(Action.takedown_manage)),
) -> HTMLResponse:
    with get_db(request).write() as session:
        shown = actions.open_cases(session, actor, tab, page=page, page_size=PAGE_SIZE)
    items, counts = shown.items, shown.counts
    return render(
        request,
        "takedown/cases.html",
        {
            "tab": tab,
            "tabs": list(cases.CaseTab),
            "counts": counts,
            "items": items,
            "page": page,
            "has_next": page * PAGE_SIZE < counts[tab],
        },
    )


def _context(
    shown: actions.CasePage, errors: dict[str, str], values: dict[str, str]
) -> dict[str, object]:
    return {
        "view": shown.view,
        "c": shown.view.case,
        "providers": shown.providers,
        "errors": errors,
        "values": values,
    }


@router.get("/{case_id}", response_class=HTMLResponse)
def case_page(
    case_id: int, request: Request, actor: Actor = Depends(require(Action.takedown_manage))
) -> HTMLResponse:
    with get_db(request).write() as session:
        shown = actions.open_case(session, actor, case_id)
    return render(request, "takedown/case.html", _context(shown, {}, {}))


def _done(request: Request, case_id: int, flash_key: str) -> Response:
    """Back to the case, which confirms what was done."""
    return redirect_with_flash(request, f"/staff/takedown/{case_id}", flash_key)


def _form_error(
    request: Request, actor: Actor, case_id: int, exc: AppError, values: dict[str, str]
) -> Response:
    errors = {f.field: f.message for f in exc.fields} or {"form": exc.message}
    with get_db(request).read() as session:
        shown = actions.case_page(session, actor, case_id)
    return render(
        request, "takedown/case.html", _context(shown, errors, values), status_code=exc.status
    )


def _provider_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(
            N_("choose a hosting provider"),
            fields=[FieldError("provider_id", N_("choose a provider"))],
        ) from None


def _send_form(
    case_id: int,
    request: Request,
    actor: Actor,
    form: FormData,
    send: Callable[[Session, int], object],
) -> Response:
    """The confirm and resend forms: read the chosen provider, send, or show the errors."""
    values = {"provider_id": str(form.get("provider_id", "") or "")}
    try:
        provider_id = _provider_id(values["provider_id"])
        with get_db(request).write() as session:
            send(session, provider_id)
    except AppError as exc:
        return _form_error(request, actor, case_id, exc, values)
    return _done(request, case_id, "takedown.notice_queued")


@router.post("/{case_id}/confirm")
def confirm(
    case_id: int,
    request: Request,
    actor: Actor = Depends(require(Action.takedown_manage)),
    form: FormData = PostedForm,
) -> Response:
    """Confirm the host and send the notice (queued; the worker delivers it)."""
    settings = get_settings(request)
    return _send_form(
        case_id,
        request,
        actor,
        form,
        lambda session, provider_id: cases.confirm(
            session,
            case_id,
            provider_id=provider_id,
            settings=settings,
            actor=actor.username,
            user_id=actor.id,
        ),
    )


@router.post("/{case_id}/resend")
def resend(
    case_id: int,
    request: Request,
    actor: Actor = Depends(require(Action.takedown_manage)),
    form: FormData = PostedForm,
) -> Response:
    """Send the notice again, to the same or another provider (after a failure or bounce)."""
    settings = get_settings(request)
    return _send_form(
        case_id,
        request,
        actor,
        form,
        lambda session, provider_id: cases.resend(
            session, case_id, provider_id=provider_id, settings=settings, actor=actor.username
        ),
    )


@router.post("/{case_id}/removal")
def record_removal(
    case_id: int,
    request: Request,
    actor: Actor = Depends(require(Action.takedown_manage)),
    form: FormData = PostedForm,
) -> Response:
    """Record removal by hand (the host confirmed it, or an officer saw it gone)."""
    values = {k: str(form.get(k, "") or "") for k in ("at", "note")}
    try:
        with get_db(request).write() as session:
            actions.record_removal(session, actor, case_id, at=values["at"], note=values["note"])
    except AppError as exc:
        return _form_error(request, actor, case_id, exc, values)
    return _done(request, case_id, "takedown.removal_recorded")


@router.post("/{case_id}/check")
def check_now(
    case_id: int, request: Request, actor: Actor = Depends(require(Action.takedown_manage))
) -> Response:
    """Queue a re-check now; the page shows its result once the worker has run it."""
    try:
        with get_db(request).write() as session:
            checks.request_check(session, case_id, actor=actor.username)
    except AppError as exc:
        return _form_error(request, actor, case_id, exc, {})
    return _done(request, case_id, "takedown.check_queued")


@router.post("/{case_id}/clear-flag")
def clear_flag(
    case_id: int, request: Request, actor: Actor = Depends(require(Action.takedown_manage))
) -> Response:
    try:
        with get_db(request).write() as session:
            cases.clear_flag(session, case_id, get_settings(request), actor=actor.username)
    except AppError as exc:
        return _form_error(request, actor, case_id, exc, {})
    return _done(request, case_id, "takedown.flag_cleared")

"""Takedown pages for takedown officers: cases by state, one case with its notices and
re-checks, confirm-and-send, send again, record removal, check now, clear a flag. Every view
and decision is audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from hotline.db.base import utcnow
from hotline.errors import AppError, Conflict, FieldError, InvalidInput
from hotline.security import audit
from hotline.security.permissions import Action, Actor
from hotline.takedown import cases, checks, directory
from hotline.takedown.removal import RemovalReason
from hotline.web.csrf import PostedForm
from hotline.web.deps import get_db, get_settings, require
from hotline.web.templating import render

router = APIRouter(prefix="/staff/takedown", include_in_schema=False)
PAGE_SIZE = 50
MAX_NOTE = 1000
_TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S")


@router.get("", response_class=HTMLResponse)
def cases_page(
    request: Request,
    tab: cases.CaseTab = Query(cases.CaseTab.proposed),
    page: int = Query(1, ge=1, le=100_000),
    actor: Actor = Depends(require(Action.takedown_manage)),
) -> HTMLResponse:
    with get_db(request).write() as session:
        items = cases.list_cases(session, tab, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        counts = cases.tab_counts(session)
        audit.record(
            session,
            actor.username,
            "takedown.cases_viewed",
            cases.OBJECT,
            tab.value,
            {"page": page, "shown": len(items)},
        )
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
    session: Session, case_id: int, errors: dict[str, str], values: dict[str, str]
) -> dict[str, object]:
    view = cases.case_view(session, case_id)
    return {
        "view": view,
        "c": view.case,
        "providers": [e.provider for e in directory.list_providers(session)],
        "errors": errors,
        "values": values,
    }


@router.get("/{case_id}", response_class=HTMLResponse)
def case_page(
    case_id: int, request: Request, actor: Actor = Depends(require(Action.takedown_manage))
) -> HTMLResponse:
    with get_db(request).write() as session:
        context = _context(session, case_id, {}, {})
        audit.record(session, actor.username, "takedown.case_viewed", cases.OBJECT, case_id, {})
    return render(request, "takedown/case.html", context)


def _redirect(case_id: int, note: str = "") -> Response:
    return RedirectResponse(f"/staff/takedown/{case_id}{note}", status_code=303)


def _form_error(request: Request, case_id: int, exc: AppError, values: dict[str, str]) -> Response:
    errors = {f.field: f.message for f in exc.fields} or {"form": exc.message}
    with get_db(request).read() as session:
        context = _context(session, case_id, errors, values)
    return render(request, "takedown/case.html", context, status_code=exc.status)


def _provider_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(
            "choose a hosting provider", fields=[FieldError("provider_id", "choose a provider")]
        ) from None


def _send_form(
    case_id: int, request: Request, form: FormData, send: Callable[[Session, int], object]
) -> Response:
    """The confirm and resend forms: read the chosen provider, send, or show the errors."""
    values = {"provider_id": str(form.get("provider_id", "") or "")}
    try:
        provider_id = _provider_id(values["provider_id"])
        with get_db(request).write() as session:
            send(session, provider_id)
    except AppError as exc:
        return _form_error(request, case_id, exc, values)
    return _redirect(case_id, "?sent=1")


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
        form,
        lambda session, provider_id: cases.resend(
            session, case_id, provider_id=provider_id, settings=settings, actor=actor.username
        ),
    )


def parse_removed_at(text: str) -> datetime:
    """The form's removal time (UTC); empty means now."""
    text = text.strip()
    if not text:
        return utcnow()
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise InvalidInput(
        "the removal time is not a date and time",
        fields=[FieldError("at", "use YYYY-MM-DD HH:MM (UTC)")],
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
        note = values["note"].strip()
        if len(note) > MAX_NOTE:
            raise InvalidInput(
                "the note is too long",
                fields=[FieldError("note", f"at most {MAX_NOTE} characters")],
            )
        at = parse_removed_at(values["at"])
        with get_db(request).write() as session:
            if not cases.record_removal(
                session, case_id, at, RemovalReason.manual.value, actor=actor.username
            ):
                raise Conflict("the removal of this case is already recorded")
            if note:
                audit.record(
                    session,
                    actor.username,
                    "takedown.removal_note",
                    cases.OBJECT,
                    case_id,
                    {"note": note},
                )
    except AppError as exc:
        return _form_error(request, case_id, exc, values)
    return _redirect(case_id)


@router.post("/{case_id}/check")
def check_now(
    case_id: int, request: Request, actor: Actor = Depends(require(Action.takedown_manage))
) -> Response:
    """Queue a re-check now; the page shows its result once the worker has run it."""
    try:
        with get_db(request).write() as session:
            checks.request_check(session, case_id, actor=actor.username)
    except AppError as exc:
        return _form_error(request, case_id, exc, {})
    return _redirect(case_id, "?checking=1")


@router.post("/{case_id}/clear-flag")
def clear_flag(
    case_id: int, request: Request, actor: Actor = Depends(require(Action.takedown_manage))
) -> Response:
    try:
        with get_db(request).write() as session:
            cases.clear_flag(session, case_id, get_settings(request), actor=actor.username)
    except AppError as exc:
        return _form_error(request, case_id, exc, {})
    return _redirect(case_id)

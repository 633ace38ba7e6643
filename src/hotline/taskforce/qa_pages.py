"""The QA review pages, `/staff/taskforce/qa`: the propagated members drawn for QA, and one
member at a time, blurred until revealed (each reveal charged and audited), with a form to
record agree or disagree with the corrected grade. Plain forms, POST-redirect-GET: no
JavaScript needed. The rules live in `taskforce.qa`; these routes call it and render.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from hotline.errors import AppError
from hotline.grading import actions as grading_actions
from hotline.grading.model import AgeBand, Category, ChildrenSex, NonPhotographic
from hotline.grading.thumbnails import blurred_thumbnail, placeholder
from hotline.hashing import HashingError
from hotline.security.permissions import Action, Actor
from hotline.taskforce import grading, qa
from hotline.taskforce.grading_pages import image_type, stores
from hotline.web.csrf import PostedForm
from hotline.web.deps import get_db, get_settings, require
from hotline.web.flash import redirect_with_flash
from hotline.web.templating import render

router = APIRouter(prefix="/staff/taskforce/qa", include_in_schema=False)
REVIEW = Depends(require(Action.grade_resolve))


def _viewing(request: Request) -> grading_actions.Viewing:
    return grading_actions.Viewing.of(get_settings(request))


@router.get("", response_class=HTMLResponse)
def queue(request: Request, actor: Actor = REVIEW) -> HTMLResponse:
    with get_db(request).write() as session:
        members = qa.open_queue(session, actor)
    return render(request, "taskforce/qa_list.html", {"members": members})


def _page(
    request: Request,
    actor: Actor,
    item_id: int,
    *,
    revealed: bool = False,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with get_db(request).write() as session:
        view = qa.open_member(session, actor, item_id, _viewing(request), revealed=revealed)
    return render(
        request,
        "taskforce/qa_member.html",
        {
            "view": view,
            "member": view.member,
            "exposure": view.exposure,
            "errors": errors or {},
            "values": values or {},
            "categories": list(Category),
            "age_bands": list(AgeBand),
            "sexes": list(ChildrenSex),
            "non_photographic": list(NonPhotographic),
        },
        status_code=status_code,
    )


@router.get("/{item_id:int}", response_class=HTMLResponse)
def member_page(item_id: int, request: Request, actor: Actor = REVIEW) -> HTMLResponse:
    return _page(request, actor, item_id)


@router.post("/{item_id:int}/reveal", response_class=HTMLResponse)
def reveal(item_id: int, request: Request, actor: Actor = REVIEW) -> HTMLResponse:
    # Rendered here, not redirected: the ticket for the full item lives only in this page.
    with get_db(request).write() as session:
        qa.reveal(session, actor, item_id, _viewing(request))
    return _page(request, actor, item_id, revealed=True)


@router.post("/{item_id:int}/review", response_class=HTMLResponse)
def review(
    item_id: int, request: Request, actor: Actor = REVIEW, form: FormData = PostedForm
) -> Response:
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        with get_db(request).write() as session:
            qa.review(session, actor, item_id, values.get("outcome"), values)
    except AppError as exc:
        fields = {f.field: f.message for f in exc.fields}
        errors = fields or {"member": exc.message}
        return _page(request, actor, item_id, errors=errors, values=values, status_code=exc.status)
    return redirect_with_flash(request, f"/staff/taskforce/qa/{item_id}", "taskforce.qa_recorded")


@router.get("/{item_id:int}/thumb")
def thumbnail(item_id: int, request: Request, actor: Actor = REVIEW) -> Response:
    with get_db(request).write() as session:
        blur = qa.open_member_media(session, actor, item_id, _viewing(request))
    data = grading.item_bytes(stores(request).taskforce, item_id)
    try:
        png = blurred_thumbnail(data, blur)
    except HashingError:
        png = placeholder()
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/{item_id:int}/full")
def full(item_id: int, request: Request, ticket: str = "", actor: Actor = REVIEW) -> Response:
    with get_db(request).write() as session:
        qa.open_member_media(session, actor, item_id, _viewing(request), full_ticket=ticket)
    data = grading.item_bytes(stores(request).taskforce, item_id)
    return Response(
        data,
        media_type=image_type(data),
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": "inline",
            "X-Content-Type-Options": "nosniff",
        },
    )

"""Grading pages and media endpoints, built to show an analyst as little as possible.

Thumbnails are small, greyscale and blurred; the full item is sent only after the analyst
reveals that one item, through a short-lived ticket bound to them and the item. Each view and
reveal is audited and charged to the analyst's daily viewing time; at the cap, media display
stops. Known material (matched by hash) is never displayed at all. The rules live in
`grading.actions` (one action per view); these pages call them and render.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from hotline.errors import AppError
from hotline.grading import actions, media_list, wellbeing
from hotline.grading.jurisdictions import derive_all, jurisdictions
from hotline.grading.media_store import MediaStore
from hotline.grading.model import AgeBand, Category, ChildrenSex, NonPhotographic
from hotline.grading.service import MediaStatus
from hotline.security.permissions import Action, Actor, allowed
from hotline.web.csrf import PostedForm
from hotline.web.deps import get_db, get_settings, require
from hotline.web.flash import redirect_with_flash
from hotline.web.i18n import gettext_
from hotline.web.listing_pages import csv_response, list_page
from hotline.web.templating import render

router = APIRouter(prefix="/staff", include_in_schema=False)
# The waiting count stops here (the page then says "10000+"), so its cost stays bounded.
COUNT_LIMIT = 10_000


def _viewing(request: Request) -> actions.Viewing:
    return actions.Viewing.of(get_settings(request))


def _store(request: Request) -> MediaStore | None:
    store: MediaStore | None = request.app.state.media_store
    return store


def _form_choices() -> dict[str, object]:
    return {
        "categories": list(Category),
        "age_bands": list(AgeBand),
        "sexes": list(ChildrenSex),
        "non_photographic": list(NonPhotographic),
        "jurisdiction_labels": {j.name: j.label for j in jurisdictions()},
    }


@router.get("/grading", response_class=HTMLResponse)
def grading_list(
    request: Request,
    done: int | None = None,
    actor: Actor = Depends(require(Action.image_grade)),
) -> HTMLResponse:
    """The items waiting for the actor's grade, as blurred thumbnails; with a search or a
    filter, media items in any state by hash (`media_list`): no thumbnails, no media."""
    context: dict[str, object] = {
        "senior": allowed(actor, Action.grade_resolve),
        "done": done,
        "states": list(MediaStatus),
        "categories": list(Category),
        "kinds": list(media_list.KINDS),
    }
    if media_list.wants_list(request.query_params):

        def run(params: dict[str, str]) -> media_list.MediaPage:
            with get_db(request).write() as session:
                return media_list.list_media(session, actor, params)

        return list_page(request, "grading/list.html", run, context | {"listing": True})
    with get_db(request).write() as session:
        shown = actions.open_grading_list(
            session, actor, _viewing(request), count_limit=COUNT_LIMIT + 1
        )
    items, total = shown.items, shown.total
    return render(
        request,
        "grading/list.html",
        context
        | {
            "items": items,
            "total": min(total, COUNT_LIMIT),
            "more_than": total > COUNT_LIMIT,
            "exposure": shown.exposure,
            "listing": False,
            "page": None,
            "values": {},
            "errors": {},
            "message": None,
        },
    )


@router.get("/grading/export.csv")
def export_csv(request: Request, actor: Actor = Depends(require(Action.image_grade))) -> Response:
    """What the search and filters show, every page of it, as CSV: hashes and states only."""
    db = get_db(request)
    with db.write() as session:
        query = media_list.export_media(session, actor, dict(request.query_params))
    return csv_response(media_list.listing_csv(db, query), "media-items.csv")


def _item_page(
    request: Request,
    actor: Actor,
    media_id: int,
    *,
    revealed: bool = False,
    done: int | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with get_db(request).write() as session:
        view = actions.open_item(session, actor, media_id, _viewing(request), revealed=revealed)
    return render(
        request,
        "grading/item.html",
        {
            "item": view.item,
            "graded": view.graded,
            "others": view.others,
            "exposure": view.exposure,
            "senior": view.senior,
            "ticket": view.ticket,
            "done": done,
            "errors": errors or {},
            "values": values or {},
            "derived": derive_all(view.item.final_grade) if view.item.final_grade else {},
            **_form_choices(),
        },
        status_code=status_code,
    )


@router.get("/grading/disagreements", response_class=HTMLResponse)
def disagreements(
    request: Request,
    done: int | None = None,
    actor: Actor = Depends(require(Action.grade_resolve)),
) -> HTMLResponse:
    with get_db(request).write() as session:
        review = actions.open_review(session, actor)
    return render(
        request,
        "grading/review.html",
        {
            "items": review.disagreements,
            "sample": review.sample,
            "agreement": review.agreement,
            "done": done,
        },
    )


@router.get("/grading/{media_id}", response_class=HTMLResponse)
def grading_item(
    media_id: int,
    request: Request,
    done: int | None = None,
    actor: Actor = Depends(require(Action.image_grade)),
) -> HTMLResponse:
    return _item_page(request, actor, media_id, done=done)


@router.post("/grading/{media_id}/reveal", response_class=HTMLResponse)
def reveal(
    media_id: int, request: Request, actor: Actor = Depends(require(Action.image_grade))
) -> HTMLResponse:
    with get_db(request).write() as session:
        actions.reveal(session, actor, media_id, _viewing(request))
    return _item_page(request, actor, media_id, revealed=True)


@router.post("/grading/{media_id}/grade", response_class=HTMLResponse)
def grade(
    media_id: int,
    request: Request,
    actor: Actor = Depends(require(Action.image_grade)),
    form: FormData = PostedForm,
) -> Response:
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    settings = get_settings(request)
    try:
        with get_db(request).write() as session:
            actions.submit_grade(
                session,
                actor,
                media_id,
                values,
                required=settings.graders_required,
                qa_share=settings.qa_sample_share,
            )
            following = actions.next_to_grade(session, actor)
    except AppError as exc:
        errors = {f.field: gettext_(f.message) for f in exc.fields} or {
            "category": gettext_(exc.message)
        }
        return _item_page(
            request, actor, media_id, errors=errors, values=values, status_code=exc.status
        )
    return _after(following, media_id, "/staff/grading")


def _after(following: int | None, done: int, otherwise: str) -> RedirectResponse:
    """After a grade, the next item waiting (or the list when none is left), saying which
    item's grade was recorded."""
    where = f"/staff/grading/{following}" if following is not None else otherwise
    return RedirectResponse(f"{where}?done={done}", status_code=303)


@router.post("/grading/{media_id}/resolve", response_class=HTMLResponse)
def resolve(
    media_id: int,
    request: Request,
    actor: Actor = Depends(require(Action.grade_resolve)),
    form: FormData = PostedForm,
) -> Response:
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        with get_db(request).write() as session:
            actions.resolve(session, actor, media_id, values)
            following = actions.next_disagreement(session, actor)
    except AppError as exc:
        errors = {f.field: gettext_(f.message) for f in exc.fields} or {
            "category": gettext_(exc.message)
        }
        return _item_page(
            request, actor, media_id, errors=errors, values=values, status_code=exc.status
        )
    return _after(following, media_id, "/staff/grading/disagreements")


@router.get("/media/{media_id}/thumb")
def thumbnail(
    media_id: int, request: Request, actor: Actor = Depends(require(Action.image_grade))
) -> Response:
    with get_db(request).write() as session:
        item, blur = actions.open_thumbnail(session, actor, media_id, _viewing(request))
    png = actions.thumbnail_png(_store(request), item, blur)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/media/{media_id}/full")
def full_media(
    media_id: int,
    request: Request,
    ticket: str = "",
    actor: Actor = Depends(require(Action.image_grade)),
) -> Response:
    with get_db(request).write() as session:
        item = actions.open_full_media(session, actor, media_id, ticket, _viewing(request))
    data = actions.media_bytes(_store(request), item)
    media_type = "video/mp4" if item.kind == "video" else "application/octet-stream"
    if item.kind == "image":
        media_type = _image_type(data)
    return Response(
        data,
        media_type=media_type,
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": "inline",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _image_type(data: bytes) -> str:
    signatures = {
        b"\x89PNG": "image/png",
        b"\xff\xd8\xff": "image/jpeg",
        b"GIF8": "image/gif",
        b"BM": "image/bmp",
        b"II*\x00": "image/tiff",
        b"MM\x00*": "image/tiff",
    }
    for magic, kind in signatures.items():
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


@router.get("/wellbeing", response_class=HTMLResponse)
def wellbeing_page(
    request: Request, actor: Actor = Depends(require(Action.staff_home))
) -> HTMLResponse:
    with get_db(request).write() as session:
        shown = actions.open_wellbeing(session, actor, _viewing(request))
    return render(
        request,
        "grading/wellbeing.html",
        {
            "exposure": shown.exposure,
            "blur": shown.blur,
            "min_blur": wellbeing.MIN_BLUR,
            "max_blur": wellbeing.MAX_BLUR,
            "errors": {},
        },
    )


@router.post("/wellbeing/break")
def take_break(request: Request, actor: Actor = Depends(require(Action.staff_home))) -> Response:
    with get_db(request).write() as session:
        actions.take_break(session, actor)
    return redirect_with_flash(request, "/staff/wellbeing", "wellbeing.break_taken")


@router.post("/wellbeing/blur")
def set_blur(
    request: Request,
    actor: Actor = Depends(require(Action.staff_home)),
    form: FormData = PostedForm,
) -> Response:
    with get_db(request).write() as session:
        actions.set_blur(session, actor, str(form.get("blur_strength")))
    return redirect_with_flash(request, "/staff/wellbeing", "wellbeing.blur_saved")

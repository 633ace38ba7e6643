"""Grading pages and media endpoints, built to show an analyst as little as possible.

Thumbnails are made here, small, greyscale and blurred; the full item is sent only after the
analyst reveals that one item, through a short-lived ticket bound to them and the item. Each
view and reveal is audited and charged to the analyst's daily viewing time; at the cap, media
display stops. Known material (matched by hash) is never displayed at all.
"""

from __future__ import annotations

import hmac
import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from hotline.errors import AppError, Forbidden
from hotline.grading import actions, service, thumbnails, wellbeing
from hotline.grading.jurisdictions import derive_all, jurisdictions
from hotline.grading.media_store import MediaStore, MediaUnavailable
from hotline.grading.model import AgeBand, Category, ChildrenSex, NonPhotographic
from hotline.hashing import HashingError
from hotline.security import audit
from hotline.security.crypto import derive_key, hmac_hex
from hotline.security.permissions import Action, Actor, allowed
from hotline.web.csrf import PostedForm
from hotline.web.deps import get_db, get_settings, require
from hotline.web.templating import render

router = APIRouter(prefix="/staff", include_in_schema=False)
# The waiting count stops here (the page then says "10000+"), so its cost stays bounded.
COUNT_LIMIT = 10_000
TICKET_SECONDS = 120


class DailyCapReached(Forbidden):
    code = "daily_cap_reached"


def _exposure(request: Request, session: Session, actor: Actor) -> wellbeing.Exposure:
    settings = get_settings(request)
    return wellbeing.exposure(
        session,
        actor.id,
        cap_minutes=settings.daily_view_cap_minutes,
        break_every_minutes=settings.break_every_minutes,
    )


def _store(request: Request) -> MediaStore | None:
    store: MediaStore | None = request.app.state.media_store
    return store


def _ticket(request: Request, actor: Actor, media_id: int, expires: int) -> str:
    key = derive_key(get_settings(request).secret, "media-ticket")
    return f"{expires}.{hmac_hex(key, f'{actor.id}:{media_id}:{expires}')}"


def _ticket_ok(request: Request, actor: Actor, media_id: int, ticket: str) -> bool:
    expires_text, _, mac = ticket.partition(".")
    if not expires_text.isdigit() or int(expires_text) < time.time():
        return False
    expected = _ticket(request, actor, media_id, int(expires_text)).partition(".")[2]
    return hmac.compare_digest(mac, expected)


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
    request: Request, actor: Actor = Depends(require(Action.image_grade))
) -> HTMLResponse:
    settings = get_settings(request)
    with get_db(request).write() as session:
        items = service.to_grade(session, actor.id)
        total = service.count_to_grade(session, actor.id, limit=COUNT_LIMIT + 1)
        exposure = _exposure(request, session, actor)
        if items and not exposure.capped:
            wellbeing.charge(session, actor.id, "thumbnails", settings.thumbnail_page_seconds)
        audit.record(
            session, actor.username, "grading.list.view", "media", "*", {"shown": len(items)}
        )
    return render(
        request,
        "grading/list.html",
        {
            "items": items,
            "total": min(total, COUNT_LIMIT),
            "more_than": total > COUNT_LIMIT,
            "exposure": exposure,
            "senior": allowed(actor, Action.grade_resolve),
        },
    )


def _item_page(
    request: Request,
    actor: Actor,
    media_id: int,
    *,
    revealed: bool = False,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    senior = allowed(actor, Action.grade_resolve)
    with get_db(request).write() as session:
        item = service.get_item(session, media_id)
        graded = service.has_graded(session, media_id, actor.id)
        others = service.grades_visible_to(session, media_id, actor.id, senior=senior)
        exposure = _exposure(request, session, actor)
        audit.record(
            session, actor.username, "media.view", "media", media_id, {"revealed": revealed}
        )
    ticket = None
    if revealed and not exposure.capped:
        ticket = _ticket(request, actor, media_id, int(time.time()) + TICKET_SECONDS)
    return render(
        request,
        "grading/item.html",
        {
            "item": item,
            "graded": graded,
            "others": others,
            "exposure": exposure,
            "senior": senior,
            "ticket": ticket,
            "errors": errors or {},
            "values": values or {},
            "derived": derive_all(item.final_grade) if item.final_grade else {},
            **_form_choices(),
        },
        status_code=status_code,
    )


@router.get("/grading/disagreements", response_class=HTMLResponse)
def disagreements(
    request: Request, actor: Actor = Depends(require(Action.grade_resolve))
) -> HTMLResponse:
    with get_db(request).write() as session:
        items = service.disagreements(session)
        sample = service.qa_sample(session, limit=50)
        agreement = service.grader_agreement(session)
        audit.record(
            session,
            actor.username,
            "grading.review.view",
            "media",
            "*",
            {"disagreements": len(items)},
        )
    return render(
        request, "grading/review.html", {"items": items, "sample": sample, "agreement": agreement}
    )


@router.get("/grading/{media_id}", response_class=HTMLResponse)
def grading_item(
    media_id: int, request: Request, actor: Actor = Depends(require(Action.image_grade))
) -> HTMLResponse:
    return _item_page(request, actor, media_id)


@router.post("/grading/{media_id}/reveal", response_class=HTMLResponse)
def reveal(
    media_id: int, request: Request, actor: Actor = Depends(require(Action.image_grade))
) -> HTMLResponse:
    settings = get_settings(request)
    with get_db(request).write() as session:
        item = service.get_item(session, media_id)
        if item.status is service.MediaStatus.known_match:
            raise Forbidden("this item matched known material and is never displayed")
        if _exposure(request, session, actor).capped:
            raise DailyCapReached(
                "you have reached today's viewing limit; media display is off until tomorrow"
            )
        wellbeing.charge(session, actor.id, "reveal", settings.reveal_seconds, media_id)
        audit.record(session, actor.username, "media.reveal", "media", media_id, {})
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
    except AppError as exc:
        errors = {f.field: f.message for f in exc.fields} or {"category": exc.message}
        return _item_page(
            request, actor, media_id, errors=errors, values=values, status_code=exc.status
        )
    return RedirectResponse(f"/staff/grading/{media_id}", status_code=303)


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
    except AppError as exc:
        errors = {f.field: f.message for f in exc.fields} or {"category": exc.message}
        return _item_page(
            request, actor, media_id, errors=errors, values=values, status_code=exc.status
        )
    return RedirectResponse(f"/staff/grading/{media_id}", status_code=303)


def _media_bytes(request: Request, item: service.MediaItem) -> bytes:
    store = _store(request)
    if item.status is service.MediaStatus.known_match:
        raise Forbidden("this item matched known material and is never displayed")
    if store is None or not item.stored:
        raise Forbidden("this item's media is not stored (hash-only mode or purged)")
    try:
        return store.get(item.id)
    except MediaUnavailable as exc:
        raise Forbidden(str(exc)) from exc


@router.get("/media/{media_id}/thumb")
def thumbnail(
    media_id: int, request: Request, actor: Actor = Depends(require(Action.image_grade))
) -> Response:
    settings = get_settings(request)
    with get_db(request).write() as session:
        item = service.get_item(session, media_id)
        if _exposure(request, session, actor).capped:
            raise DailyCapReached("today's viewing limit is reached")
        blur = wellbeing.blur_strength(session, actor.id, settings.default_blur)
        audit.record(session, actor.username, "media.thumbnail", "media", media_id, {})
    data = _media_bytes(request, item)
    try:
        if item.kind == "video":
            poster = thumbnails.video_poster(data)
            png = (
                thumbnails.blurred_thumbnail(poster, blur) if poster else (thumbnails.placeholder())
            )
        else:
            png = thumbnails.blurred_thumbnail(data, blur)
    except HashingError:
        png = thumbnails.placeholder()
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/media/{media_id}/full")
def full_media(
    media_id: int,
    request: Request,
    ticket: str = "",
    actor: Actor = Depends(require(Action.image_grade)),
) -> Response:
    if not _ticket_ok(request, actor, media_id, ticket):
        raise Forbidden("reveal the item on its grading page first")
    with get_db(request).write() as session:
        item = service.get_item(session, media_id)
        audit.record(session, actor.username, "media.full", "media", media_id, {})
    data = _media_bytes(request, item)
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
    settings = get_settings(request)
    with get_db(request).write() as session:
        exposure = _exposure(request, session, actor)
        blur = wellbeing.blur_strength(session, actor.id, settings.default_blur)
        audit.record(session, actor.username, "wellbeing.view", "user", actor.id, {})
    return render(
        request,
        "grading/wellbeing.html",
        {
            "exposure": exposure,
            "blur": blur,
            "min_blur": wellbeing.MIN_BLUR,
            "max_blur": wellbeing.MAX_BLUR,
            "errors": {},
        },
    )


@router.post("/wellbeing/break")
def take_break(request: Request, actor: Actor = Depends(require(Action.staff_home))) -> Response:
    with get_db(request).write() as session:
        actions.take_break(session, actor)
    return RedirectResponse("/staff/wellbeing", status_code=303)


@router.post("/wellbeing/blur")
def set_blur(
    request: Request,
    actor: Actor = Depends(require(Action.staff_home)),
    form: FormData = PostedForm,
) -> Response:
    with get_db(request).write() as session:
        actions.set_blur(session, actor, str(form.get("blur_strength")))
    return RedirectResponse("/staff/wellbeing", status_code=303)

"""The taskforce grading page, `/staff/taskforce/grade`: one cluster at a time.

Its representative is a blurred, greyscale thumbnail until revealed (each reveal charged and
audited); its near-duplicate members are a strip of blurred thumbnails, each with confirm
and split-out buttons. Plain forms with POST-redirect-GET work without JavaScript; with it,
`/static/taskforce-grade.js` maps keys to the same forms (shown on the page). The rules live
in `taskforce.grading`; these routes call it and render.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from hotline.errors import AppError, Conflict
from hotline.grading import actions as grading_actions
from hotline.grading.media_store import MediaStore
from hotline.grading.model import AgeBand, Category, ChildrenSex, ChildSex, NonPhotographic
from hotline.grading.thumbnails import blurred_thumbnail, placeholder
from hotline.hashing import HashingError
from hotline.security.permissions import Action, Actor
from hotline.taskforce import grading
from hotline.taskforce.model import GradeState
from hotline.web.csrf import PostedForm
from hotline.web.deps import get_db, get_settings, require
from hotline.web.flash import redirect_with_flash
from hotline.web.templating import render

router = APIRouter(prefix="/staff/taskforce", include_in_schema=False)
GRADE = Depends(require(Action.taskforce_cluster_grade))
CHILD_ROWS = 4  # child rows on the form (more through JSON)


def _viewing(request: Request) -> grading_actions.Viewing:
    return grading_actions.Viewing.of(get_settings(request))


def _rules(request: Request) -> grading.Rules:
    return grading.Rules.of(get_settings(request))


def stores(request: Request) -> grading.Stores:
    settings = get_settings(request)
    media: MediaStore | None = request.app.state.media_store
    return grading.Stores(MediaStore(settings.data_dir / "taskforce-media", settings.secret), media)


def _page(
    request: Request,
    actor: Actor,
    cluster_id: int | None,
    *,
    revealed: bool = False,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = None
    if cluster_id is not None:
        with get_db(request).write() as session:
            view = grading.open_cluster(
                session, actor, cluster_id, _viewing(request), revealed=revealed
            )
    current = None
    if view is not None:
        current = next(
            (m.item_id for m in view.cluster.members if m.state is GradeState.suggested), None
        )
    return render(
        request,
        "taskforce/grade.html",
        {
            "view": view,
            "cluster": view.cluster if view else None,
            "exposure": view.exposure if view else None,
            "current": current,
            "errors": errors or {},
            "values": values or {},
            "categories": list(Category),
            "age_bands": list(AgeBand),
            "sexes": list(ChildrenSex),
            "child_sexes": list(ChildSex),
            "non_photographic": list(NonPhotographic),
            "child_rows": range(1, CHILD_ROWS + 1),
            "empty": request.query_params.get("empty") == "1",
        },
        status_code=status_code,
    )


@router.get("/grade", response_class=HTMLResponse)
def start(request: Request, actor: Actor = GRADE) -> HTMLResponse:
    return _page(request, actor, None)


@router.post("/grade/next")
def claim_next(request: Request, actor: Actor = GRADE, form: FormData = PostedForm) -> Response:
    """Release the cluster the grader is done with (if any), then claim the next one."""
    done = str(form.get("cluster") or "")
    with get_db(request).write() as session:
        if done.isdigit():
            grading.finish(session, actor, int(done))
        cluster_id = grading.claim_next(
            session, actor, _rules(request), stores(request), viewing=_viewing(request)
        )
    if cluster_id is None:
        return RedirectResponse("/staff/taskforce/grade?empty=1", status_code=303)
    return redirect_with_flash(
        request, f"/staff/taskforce/grade/{cluster_id}", "taskforce.next_claimed"
    )


@router.get("/grade/{cluster_id}", response_class=HTMLResponse)
def cluster_page(cluster_id: int, request: Request, actor: Actor = GRADE) -> HTMLResponse:
    return _page(request, actor, cluster_id)


@router.post("/grade/{cluster_id}/claim")
def claim(cluster_id: int, request: Request, actor: Actor = GRADE) -> Response:
    with get_db(request).write() as session:
        grading.claim(
            session, actor, cluster_id, _rules(request), stores(request), viewing=_viewing(request)
        )
    return redirect_with_flash(request, f"/staff/taskforce/grade/{cluster_id}", "taskforce.claimed")


@router.post("/grade/{cluster_id}/reveal", response_class=HTMLResponse)
def reveal(cluster_id: int, request: Request, actor: Actor = GRADE) -> HTMLResponse:
    # Rendered here, not redirected: the ticket for the full item lives only in this page.
    with get_db(request).write() as session:
        grading.reveal(session, actor, cluster_id, _viewing(request))
    return _page(request, actor, cluster_id, revealed=True)


@router.post("/grade/{cluster_id}/grade", response_class=HTMLResponse)
def grade(
    cluster_id: int, request: Request, actor: Actor = GRADE, form: FormData = PostedForm
) -> Response:
    values = {k: str(v) for k, v in form.items() if k not in ("csrf_token", "version")}
    try:
        with get_db(request).write() as session:
            grading.grade(session, actor, cluster_id, form.get("version"), values, _rules(request))
    except AppError as exc:
        if isinstance(exc, Conflict) or not exc.fields:
            errors = {"cluster": exc.message}
        else:
            errors = {f.field: f.message for f in exc.fields}
        return _page(
            request, actor, cluster_id, errors=errors, values=values, status_code=exc.status
        )
    return redirect_with_flash(request, f"/staff/taskforce/grade/{cluster_id}", "taskforce.graded")


def _decide(
    request: Request, actor: Actor, cluster_id: int, run: Callable[[Session], object], done: str
) -> Response:
    """Run one decision on a member or the cluster; back to the cluster with the `done`
    confirmation, or the page again with the refusal."""
    try:
        with get_db(request).write() as session:
            run(session)
    except Conflict as exc:
        return _page(request, actor, cluster_id, errors={"cluster": exc.message}, status_code=409)
    return redirect_with_flash(request, f"/staff/taskforce/grade/{cluster_id}", done)


@router.post("/grade/{cluster_id}/members/{item_id}/confirm", response_class=HTMLResponse)
def confirm(
    cluster_id: int,
    item_id: int,
    request: Request,
    actor: Actor = GRADE,
    form: FormData = PostedForm,
) -> Response:
    rules = _rules(request)
    version = form.get("version")
    return _decide(
        request,
        actor,
        cluster_id,
        lambda s: grading.confirm(s, actor, cluster_id, version, item_id, rules),
        "taskforce.confirmed",
    )


@router.post("/grade/{cluster_id}/members/{item_id}/split", response_class=HTMLResponse)
def split(
    cluster_id: int,
    item_id: int,
    request: Request,
    actor: Actor = GRADE,
    form: FormData = PostedForm,
) -> Response:
    version = form.get("version")
    return _decide(
        request,
        actor,
        cluster_id,
        lambda s: grading.split(s, actor, cluster_id, version, item_id),
        "taskforce.split",
    )


@router.post("/grade/{cluster_id}/undo", response_class=HTMLResponse)
def undo(
    cluster_id: int, request: Request, actor: Actor = GRADE, form: FormData = PostedForm
) -> Response:
    version = form.get("version")
    return _decide(
        request,
        actor,
        cluster_id,
        lambda s: grading.undo(s, actor, cluster_id, version),
        "taskforce.undone",
    )


@router.post("/grade/{cluster_id}/release")
def release(cluster_id: int, request: Request, actor: Actor = GRADE) -> Response:
    with get_db(request).write() as session:
        grading.release(session, actor, cluster_id)
    return redirect_with_flash(request, "/staff/taskforce/grade", "taskforce.released")


@router.get("/items/{item_id}/thumb")
def thumbnail(item_id: int, request: Request, actor: Actor = GRADE) -> Response:
    with get_db(request).write() as session:
        _, blur = grading.open_item_media(session, actor, item_id, _viewing(request))
    data = grading.item_bytes(stores(request).taskforce, item_id)
    try:
        png = blurred_thumbnail(data, blur)
    except HashingError:
        png = placeholder()
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/items/{item_id}/full")
def full(item_id: int, request: Request, ticket: str = "", actor: Actor = GRADE) -> Response:
    with get_db(request).write() as session:
        grading.open_item_media(session, actor, item_id, _viewing(request), full_ticket=ticket)
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


_SIGNATURES = {
    b"\x89PNG": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF8": "image/gif",
    b"BM": "image/bmp",
    b"II*\x00": "image/tiff",
    b"MM\x00*": "image/tiff",
}


def image_type(data: bytes) -> str:
    for magic, kind in _SIGNATURES.items():
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"

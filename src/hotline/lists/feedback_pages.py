"""The staff review queue of members' feedback (`/staff/lists/feedback`): what members said
about list entries, and a decision on each open one. Thin: `lists.feedback` checks the
permission (lists.manage), writes, and audits the view and every decision; each decision is
confirmed on the page it lands on (web.flash)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from hotline import json_input
from hotline.errors import N_, AppError, NotFound
from hotline.lists import feedback
from hotline.security.permissions import Action, Actor
from hotline.web.csrf import PostedForm
from hotline.web.deps import get_db, require
from hotline.web.flash import redirect_with_flash
from hotline.web.templating import render

router = APIRouter(prefix="/staff/lists/feedback", include_in_schema=False)


def _page(
    request: Request, actor: Actor, state: str, error: str | None = None, status: int = 200
) -> Response:
    if state not in feedback.STATES:
        state = "open"
    with get_db(request).write() as session:
        items = feedback.open_queue(session, actor, state)
    context = {"items": items, "state": state, "states": feedback.STATES, "error": error}
    return render(request, "lists/feedback.html", context, status_code=status)


@router.get("", response_class=HTMLResponse)
def feedback_queue(
    request: Request, state: str = "open", actor: Actor = Depends(require(Action.lists_manage))
) -> Response:
    return _page(request, actor, state)


@router.post("/{feedback_id}", response_class=HTMLResponse)
def feedback_decide(
    request: Request,
    feedback_id: str,
    actor: Actor = Depends(require(Action.lists_manage)),
    form: FormData = PostedForm,
) -> Response:
    number = json_input.bounded_digits(feedback_id)
    try:
        if number is None:
            raise NotFound(N_("there is no feedback %(feedback_id)s", feedback_id=feedback_id))
        with get_db(request).write() as session:
            decided = feedback.decide(session, actor, number, str(form.get("decision", "")))
    except AppError as exc:
        return _page(request, actor, "open", exc.message, exc.status)
    if decided.state == "rejected":
        key = "feedback.rejected"
    else:
        key = "feedback.upheld_withdrawn" if decided.entry_withdrawn else "feedback.upheld"
    return redirect_with_flash(request, "/staff/lists/feedback", key)

"""Assessment pages: the queue, one URL's case, claims and verdicts. Everything is audited."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from hotline.assess import pipeline, queue
from hotline.assess.fetcher import SafeFetcher
from hotline.assess.hosting_store import latest_trace
from hotline.errors import AppError, Conflict
from hotline.grading import service as grading_service
from hotline.security import audit
from hotline.security.permissions import Action, Actor
from hotline.web.csrf import PostedForm
from hotline.web.deps import get_db, get_settings, require
from hotline.web.templating import render

router = APIRouter(prefix="/staff/queue", include_in_schema=False)
PAGE_SIZE = 50
# The waiting count stops here (the page then says "10000+"), so its cost stays bounded.
COUNT_LIMIT = 10_000
VERDICT_LABELS = {
    queue.Verdict.criminal.value: "Criminal content present",
    queue.Verdict.not_criminal.value: "Not criminal",
    queue.Verdict.unreachable.value: "Unreachable",
    queue.Verdict.duplicate.value: "Duplicate of another reported address",
}


def _lease(request: Request) -> timedelta:
    return timedelta(minutes=get_settings(request).claim_minutes)


@router.get("", response_class=HTMLResponse)
def queue_page(
    request: Request,
    after: str | None = Query(None, max_length=80),
    before: str | None = Query(None, max_length=80),
    actor: Actor = Depends(require(Action.queue_view)),
) -> HTMLResponse:
    """The waiting list, a page at a time; "Next" and "Previous" carry the place in the queue
    where the page ends (or starts), so a deep page costs what the first one does."""
    after_key = queue.QueueKey.parse(after) if after else None
    before_key = queue.QueueKey.parse(before) if before and not after_key else None
    with get_db(request).write() as session:
        page = queue.waiting_page(session, limit=PAGE_SIZE, after=after_key, before=before_key)
        total = queue.waiting_count(session, limit=COUNT_LIMIT + 1)
        audit.record(
            session,
            actor.username,
            "queue.view",
            "queue",
            "assessment",
            {"after": after, "before": before, "shown": len(page.entries)},
        )
    return render(
        request,
        "assess/queue.html",
        {
            "items": page.entries,
            "total": min(total, COUNT_LIMIT),
            "more_than": total > COUNT_LIMIT,
            "previous": page.previous.token() if page.previous else None,
            "next": page.next.token() if page.next else None,
        },
    )


@router.post("/claim-next")
def claim_next(request: Request, actor: Actor = Depends(require(Action.report_assess))) -> Response:
    with get_db(request).write() as session:
        url_id = queue.claim_next(session, actor.id, _lease(request))
        if url_id is not None:
            audit.record(session, actor.username, "url.claim", "reported_url", url_id, {})
    if url_id is None:
        return RedirectResponse("/staff/queue?empty=1", status_code=303)
    return RedirectResponse(f"/staff/queue/{url_id}", status_code=303)


@router.get("/{url_id}", response_class=HTMLResponse)
def case_page(
    url_id: int, request: Request, actor: Actor = Depends(require(Action.queue_view))
) -> HTMLResponse:
    with get_db(request).write() as session:
        context = _case_context(session, url_id, actor, {}, {})
        audit.record(session, actor.username, "url.view", "reported_url", url_id, {})
    return render(request, "assess/case.html", context)


@router.post("/{url_id}/capture")
def capture(
    url_id: int, request: Request, actor: Actor = Depends(require(Action.report_assess))
) -> Response:
    """Fetch the page and its media now (safely), hash them and queue new media for grading."""
    settings = get_settings(request)
    with get_db(request).read() as session:
        case = queue.get_case(session, url_id)
    if case.entry.claimed_by != actor.username:
        raise Conflict("claim this address before fetching it")
    with SafeFetcher(request.app.state.fetch_policy) as fetcher:
        pipeline.capture_url(
            get_db(request),
            fetcher,
            request.app.state.media_store,
            url_id,
            actor=actor.username,
            retention=timedelta(days=settings.media_retention_days),
            host_resolvers=request.app.state.host_resolvers,
        )
    return RedirectResponse(f"/staff/queue/{url_id}", status_code=303)


def _case_context(
    session: Session, url_id: int, actor: Actor, errors: dict[str, str], values: dict[str, str]
) -> dict[str, object]:
    case = queue.get_case(session, url_id)
    return {
        "case": case,
        "media": grading_service.items_for_url(session, url_id),
        "captures": pipeline.recent_captures(session, url_id),
        "host": latest_trace(session, url_id),
        "mine": case.entry.claimed_by == actor.username,
        "reasons": {v.value: list(r) for v, r in queue.REASONS.items()},
        "verdict_labels": VERDICT_LABELS,
        "errors": errors,
        "values": values,
    }


@router.post("/{url_id}/claim")
def claim(
    url_id: int, request: Request, actor: Actor = Depends(require(Action.report_assess))
) -> Response:
    with get_db(request).write() as session:
        queue.claim(session, url_id, actor.id, _lease(request))
        audit.record(session, actor.username, "url.claim", "reported_url", url_id, {})
    return RedirectResponse(f"/staff/queue/{url_id}", status_code=303)


@router.post("/{url_id}/release")
def release(
    url_id: int, request: Request, actor: Actor = Depends(require(Action.report_assess))
) -> Response:
    with get_db(request).write() as session:
        queue.release(session, url_id, actor.id)
        audit.record(session, actor.username, "url.release", "reported_url", url_id, {})
    return RedirectResponse("/staff/queue", status_code=303)


@router.post("/{url_id}/verdict")
def verdict(
    url_id: int,
    request: Request,
    actor: Actor = Depends(require(Action.report_assess)),
    form: FormData = PostedForm,
) -> Response:
    values = {k: str(form.get(k, "") or "") for k in ("decision", "note", "duplicate_of")}
    verdict_name, _, reason_code = values["decision"].partition("/")
    try:
        parsed, reason, note, duplicate_of = queue.validate_verdict(
            verdict_name, reason_code, values["note"], values["duplicate_of"] or None
        )
        with get_db(request).write() as session:
            status = queue.record_verdict(
                session, url_id, actor.id, parsed, reason, note, duplicate_of
            )
            audit.record(
                session,
                actor.username,
                "url.verdict",
                "reported_url",
                url_id,
                {
                    "verdict": parsed.value,
                    "reason": reason,
                    "duplicate_of": duplicate_of,
                    "status": status.value,
                },
            )
            # A criminal verdict records "verdict.criminal" (record_verdict): takedown reacts.
    except AppError as exc:
        errors = {f.field: f.message for f in exc.fields} or {"decision": exc.message}
        with get_db(request).read() as session:
            context = _case_context(session, url_id, actor, errors, values)
        return render(request, "assess/case.html", context, status_code=exc.status)
    return RedirectResponse("/staff/queue", status_code=303)

"""Assessment pages: the queue, one URL's case, claims and verdicts. Thin callers of
`assess.actions`, which check, write and audit each of them; the queue page's search over
addresses in any state calls `assess.queue_list`. Each action confirms itself with a flash
message after its redirect."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from hotline.assess import actions, pipeline, queue, queue_list
from hotline.assess.fetcher import SafeFetcher
from hotline.errors import N_, AppError, Conflict
from hotline.intake.reports import Origin, Source
from hotline.security.permissions import Action, Actor
from hotline.web.csrf import PostedForm
from hotline.web.deps import get_db, get_settings, require
from hotline.web.flash import redirect_with_flash
from hotline.web.i18n import current_locale, gettext_
from hotline.web.listing_pages import csv_response, list_page
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


def _list_choices() -> dict[str, object]:
    return {
        "statuses": list(queue_list.STATUSES),
        "priorities": list(queue_list.PRIORITIES),
        "sources": list(Source),
        "origins": list(Origin),
    }


@router.get("", response_class=HTMLResponse)
def queue_page(
    request: Request,
    after: str | None = Query(None, max_length=80),
    before: str | None = Query(None, max_length=80),
    actor: Actor = Depends(require(Action.queue_view)),
) -> HTMLResponse:
    """The waiting list, a page at a time; "Next" and "Previous" carry the place in the queue
    where the page ends (or starts), so a deep page costs what the first one does. With a
    search or a filter: addresses in any state (`queue_list`), sorted and paged by key."""
    if queue_list.wants_list(request.query_params):

        def run(params: dict[str, str]) -> queue_list.UrlsPage:
            with get_db(request).write() as session:
                return queue_list.list_urls(session, actor, params)

        context = {"items": None, "listing": True} | _list_choices()
        return list_page(request, "assess/queue.html", run, context)
    with get_db(request).write() as session:
        shown = actions.open_queue(
            session,
            actor,
            after=after,
            before=before,
            page_size=PAGE_SIZE,
            count_limit=COUNT_LIMIT + 1,
        )
    page, total = shown.page, shown.total
    return render(
        request,
        "assess/queue.html",
        {
            "items": page.entries,
            "total": min(total, COUNT_LIMIT),
            "more_than": total > COUNT_LIMIT,
            "previous": page.previous.token() if page.previous else None,
            "next": page.next.token() if page.next else None,
            "listing": False,
            "page": None,
            "values": {},
            "errors": {},
            "message": None,
        }
        | _list_choices(),
    )


@router.get("/export.csv")
def export_csv(request: Request, actor: Actor = Depends(require(Action.queue_view))) -> Response:
    """Exactly what the search and filters show, every page of it, streamed as CSV."""
    db = get_db(request)
    with db.write() as session:
        query = queue_list.export_urls(session, actor, dict(request.query_params))
    return csv_response(queue_list.listing_csv(db, actor, query), "reported-addresses.csv")


@router.post("/claim-next")
def claim_next(request: Request, actor: Actor = Depends(require(Action.report_assess))) -> Response:
    with get_db(request).write() as session:
        url_id = actions.claim_next(session, actor, _lease(request))
    if url_id is None:
        return RedirectResponse("/staff/queue?empty=1", status_code=303)
    return redirect_with_flash(request, f"/staff/queue/{url_id}", "queue.claimed")


@router.get("/{url_id}", response_class=HTMLResponse)
def case_page(
    url_id: int,
    request: Request,
    dup: str = "",
    actor: Actor = Depends(require(Action.queue_view)),
) -> HTMLResponse:
    """The case; with `dup`, the claim holder's search for the address it duplicates (a GET
    form, so it works without JavaScript), its results offered in the verdict form."""
    candidates = None
    with get_db(request).write() as session:
        view = actions.open_case(session, actor, url_id)
        if dup.strip() and view.mine:
            candidates = actions.duplicate_candidates(session, actor, url_id, dup)
    chosen = {"decision": "duplicate/same_content_as_other_url"} if candidates else {}
    context = _case_context(view, {}, chosen)
    context.update(dup=dup, candidates=candidates)
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
        raise Conflict(N_("claim this address before fetching it"))
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
    return redirect_with_flash(request, f"/staff/queue/{url_id}", "queue.captured")


def _case_context(
    view: actions.CaseView, errors: dict[str, str], values: dict[str, str]
) -> dict[str, object]:
    return {
        "case": view.case,
        "media": view.media,
        "captures": view.captures,
        "host": view.host,
        "mine": view.mine,
        "reasons": {v.value: list(r) for v, r in queue.REASONS.items()},
        "verdict_labels": VERDICT_LABELS,
        "site_types": [(t.code, t.label(current_locale())) for t in view.site_types],
        "errors": errors,
        "values": values,
        "dup": "",
        "candidates": None,
    }


@router.post("/{url_id}/claim")
def claim(
    url_id: int, request: Request, actor: Actor = Depends(require(Action.report_assess))
) -> Response:
    with get_db(request).write() as session:
        actions.claim(session, actor, url_id, _lease(request))
    return redirect_with_flash(request, f"/staff/queue/{url_id}", "queue.claimed")


@router.post("/{url_id}/release")
def release(
    url_id: int, request: Request, actor: Actor = Depends(require(Action.report_assess))
) -> Response:
    with get_db(request).write() as session:
        actions.release(session, actor, url_id)
    return redirect_with_flash(request, "/staff/queue", "queue.released")


@router.post("/{url_id}/verdict")
def verdict(
    url_id: int,
    request: Request,
    actor: Actor = Depends(require(Action.report_assess)),
    form: FormData = PostedForm,
) -> Response:
    fields = ("decision", "note", "duplicate_of", "site_type", "hosting")
    values = {k: str(form.get(k, "") or "") for k in fields}
    verdict_name, _, reason_code = values["decision"].partition("/")
    try:
        with get_db(request).write() as session:
            # A criminal verdict records "verdict.criminal" in this transaction: takedown reacts.
            actions.record_verdict(
                session,
                actor,
                url_id,
                verdict_name,
                reason_code,
                note=values["note"],
                duplicate_of=values["duplicate_of"] or None,
                site_type=values["site_type"],
                hosting=values["hosting"],
            )
    except AppError as exc:
        errors = {f.field: gettext_(f.message) for f in exc.fields} or {
            "decision": gettext_(exc.message)
        }
        with get_db(request).read() as session:
            view = actions.case_view(session, actor, url_id)
        return render(
            request, "assess/case.html", _case_context(view, errors, values), status_code=exc.status
        )
    return redirect_with_flash(request, "/staff/queue", "queue.verdict_recorded")

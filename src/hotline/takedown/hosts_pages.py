"""Staff pages for the hosting provider directory: list (searched, filtered, sorted, paged by
key: `takedown.hosts_list`), add, edit, delete, CSV in and out. Saving and deleting confirm with
a flash message; an import says how many providers it added and updated.

Only `Action.takedown_manage` enters. Every view and change is audited in the same
transaction as the work (the views by `takedown.actions`). Webhook secrets are entered here
and never shown again: the pages only say whether one is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from hotline.errors import N_, Conflict
from hotline.security.permissions import Action, Actor
from hotline.takedown import actions, directory, directory_csv, hosts_list
from hotline.takedown.directory import DirectoryInvalid, Problem, Provider
from hotline.takedown.provider_rules import FIELDS, LANGUAGES, NAME_MAX, NOTES_MAX
from hotline.web.csrf import PostedForm
from hotline.web.deps import get_db, get_settings, require
from hotline.web.flash import redirect_with_flash
from hotline.web.listing_pages import list_page
from hotline.web.templating import render

router = APIRouter(prefix="/staff/hosts", include_in_schema=False)
Officer = Depends(require(Action.takedown_manage))
CHANNEL_LABELS = {"email": N_("Email"), "webhook": N_("Signed webhook")}


def _values(provider: Provider) -> dict[str, str]:
    return {
        "name": provider.name,
        "asns": " ".join(str(a) for a in provider.asns),
        "countries": " ".join(provider.countries),
        "abuse_email": provider.abuse_email or "",
        "webhook_url": provider.webhook_url or "",
        "channel": provider.channel.value,
        "language": provider.language,
        "notes": provider.notes or "",
    }


def _by_field(problems: list[Problem]) -> dict[str, Problem]:
    first: dict[str, Problem] = {}
    for problem in problems:
        first.setdefault(problem.field, problem)
    return first


def _form(
    request: Request,
    provider_id: int | None,
    values: Mapping[str, str],
    problems: list[Problem],
    *,
    secret_set: bool = False,
    status: int = 200,
) -> HTMLResponse:
    action = f"/staff/hosts/{provider_id}" if provider_id else "/staff/hosts/new"
    return render(
        request,
        "takedown/hosts_form.html",
        {
            "provider_id": provider_id,
            "action": action,
            "values": {k: v for k, v in values.items() if k != "webhook_secret"},
            "errors": _by_field(problems),
            "secret_set": secret_set,
            "channels": list(CHANNEL_LABELS.items()),
            "languages": list(LANGUAGES.items()),
            "name_max": NAME_MAX,
            "notes_max": NOTES_MAX,
        },
        status_code=status,
    )


def _submitted(form: FormData) -> dict[str, str]:
    # Only text counts: a file sent in a text field is treated as empty.
    return {name: v if isinstance(v := form.get(name), str) else "" for name in FIELDS}


# -- list ------------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def directory_page(request: Request, actor: Actor = Officer) -> HTMLResponse:
    """The directory, searched, filtered, sorted and paged by key (`hosts_list`)."""

    def run(params: dict[str, str]) -> hosts_list.HostsPage:
        with get_db(request).write() as session:
            return hosts_list.list_hosts(session, actor, params)

    query = request.query_params
    context = {
        "channel_labels": CHANNEL_LABELS,
        "languages": LANGUAGES,
        "created": query.get("created", ""),
        "updated": query.get("updated", ""),
    }
    return list_page(request, "takedown/hosts.html", run, context)


# -- add and edit ----------------------------------------------------------------------------


@router.get("/new", response_class=HTMLResponse)
def new_page(request: Request, actor: Actor = Officer) -> HTMLResponse:
    with get_db(request).write() as session:
        actions.open_provider_form(session, actor, "new")
    return _form(request, None, {"channel": "email", "language": "en"}, [])


@router.post("/new", response_model=None)
def create(request: Request, actor: Actor = Officer, form: FormData = PostedForm) -> Response:
    values = _submitted(form)
    sealer = directory.secret_sealer(get_settings(request).secret)
    try:
        with get_db(request).write() as session:
            data = directory.parse(values)
            provider = directory.create_provider(session, data, sealer, actor.username)
    except DirectoryInvalid as exc:
        return _form(request, None, values, exc.problems, status=422)
    return redirect_with_flash(request, f"/staff/hosts/{provider.id}", "host.saved")


@router.get("/{provider_id:int}", response_class=HTMLResponse)
def edit_page(request: Request, provider_id: int, actor: Actor = Officer) -> HTMLResponse:
    with get_db(request).write() as session:
        entry = actions.open_provider(session, actor, provider_id)
    return _form(request, provider_id, _values(entry.provider), [], secret_set=entry.secret_set)


@router.post("/{provider_id:int}", response_model=None)
def update(
    request: Request, provider_id: int, actor: Actor = Officer, form: FormData = PostedForm
) -> Response:
    values = _submitted(form)
    sealer = directory.secret_sealer(get_settings(request).secret)
    db = get_db(request)
    try:
        with db.write() as session:
            data = directory.parse_input(values, session, provider_id)
            directory.update_provider(session, provider_id, data, sealer, actor.username)
    except DirectoryInvalid as exc:
        with db.read() as session:
            secret_set = directory.get_entry(session, provider_id).secret_set
        return _form(request, provider_id, values, exc.problems, secret_set=secret_set, status=422)
    return redirect_with_flash(request, f"/staff/hosts/{provider_id}", "host.saved")


# -- delete ----------------------------------------------------------------------------------


def _delete_page(
    request: Request, provider: Provider, cases: int, status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "takedown/hosts_delete.html",
        {"provider": provider, "cases": cases},
        status_code=status,
    )


@router.get("/{provider_id:int}/delete", response_class=HTMLResponse)
def delete_page(request: Request, provider_id: int, actor: Actor = Officer) -> HTMLResponse:
    with get_db(request).write() as session:
        provider, cases = actions.open_provider_deletion(session, actor, provider_id)
    return _delete_page(request, provider, cases)


@router.post("/{provider_id:int}/delete", response_model=None)
def delete(request: Request, provider_id: int, actor: Actor = Officer) -> Response:
    db = get_db(request)
    try:
        with db.write() as session:
            provider = directory.get_provider(session, provider_id)
            directory.delete_provider(session, provider_id, actor.username)
    except Conflict:
        with db.read() as session:
            cases = directory.case_count(session, provider_id)
        return _delete_page(request, provider, cases, status=409)
    return redirect_with_flash(request, "/staff/hosts", "host.deleted")


# -- CSV -------------------------------------------------------------------------------------


def _import_page(
    request: Request, problems: list[Problem], status: int = 200, **extra: Any
) -> HTMLResponse:
    return render(
        request,
        "takedown/hosts_import.html",
        {"problems": problems, "columns": directory_csv.COLUMNS, **extra},
        status_code=status,
    )


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, actor: Actor = Officer) -> HTMLResponse:
    with get_db(request).write() as session:
        actions.open_provider_form(session, actor, "import")
    return _import_page(request, [])


@router.post("/import", response_model=None)
async def import_upload(request: Request, actor: Actor = Officer) -> Response:
    """Async to read and close the spooled upload; the import itself runs in the thread pool."""
    form = await request.form()  # parsed once already, by the CSRF guard
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            problem = Problem("file", N_("Choose a CSV file to import."))
            return _import_page(request, [problem], status=422)
        filename = upload.filename
        data = await upload.read(directory_csv.MAX_BYTES + 1)
    finally:
        await form.close()  # the spooled upload; nothing else closes it
    return await run_in_threadpool(_import, request, actor, data, filename)


def _import(request: Request, actor: Actor, data: bytes, filename: str) -> Response:
    try:
        with get_db(request).write() as session:
            result = directory_csv.import_csv(session, data, actor.username)
    except DirectoryInvalid as exc:
        return _import_page(request, exc.problems, status=422, filename=filename)
    created, updated = len(result.created), len(result.updated)
    return RedirectResponse(f"/staff/hosts?created={created}&updated={updated}", status_code=303)


@router.get("/export.csv", response_model=None)
def export(request: Request, actor: Actor = Officer) -> Response:
    with get_db(request).write() as session:
        text = directory_csv.export_csv(session, actor.username)
    return Response(
        text.encode(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="hosting-providers.csv"',
            "Cache-Control": "no-store",
        },
    )

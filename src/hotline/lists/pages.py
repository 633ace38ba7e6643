"""Admin pages for lists: create a list, release one (every format, the delta from the previous
release, the signed manifest), see each list's releases, rotate the release-signing key,
configure a list (what it takes and carries, its match distances) and withdraw entries (search,
choose, give a reason, confirm). Every change goes through `hotline.lists.actions`, as
`hotline lists …` does; adding entries, imports and grading sync stay with the CLI
(docs/lists.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from hotline.errors import N_, AppError, FieldError, InvalidInput, translate
from hotline.lists import actions, entries_list, formats
from hotline.lists.api import release_root
from hotline.lists.model import FORMATS, SHAREABLE_FIELDS, UK_CATEGORIES
from hotline.matching import validation
from hotline.matching.model import LIST_KINDS
from hotline.security.permissions import Action, Actor
from hotline.web import i18n
from hotline.web.confirmation import require_confirmation
from hotline.web.csrf import PostedForm
from hotline.web.deps import get_db, get_settings, require
from hotline.web.flash import redirect_with_flash
from hotline.web.templating import render, render_form_error

router = APIRouter(prefix="/staff/lists", include_in_schema=False)

_MANAGE = Depends(require(Action.lists_manage))
_MAX_CHOSEN = 200  # entries one withdrawal may name (a page's worth)


def _context(request: Request, actor: Actor) -> dict[str, Any]:
    with get_db(request).read() as session:
        lists, releases = actions.view_lists(session, actor)
        signing_keys = actions.signing_keys(session, actor)
    return {
        "lists": lists,
        "releases": releases,
        "signing_keys": signing_keys,
        "kinds": LIST_KINDS,
        "errors": {},
        "values": {},
    }


def _with_error(
    request: Request, actor: Actor, exc: AppError, form: str, values: dict[str, Any]
) -> Response:
    context = _context(request, actor)
    return render_form_error(request, "lists/lists.html", context, exc, form, values)


def _said(exc: AppError) -> tuple[list[str], dict[str, str]]:
    """The refusal in the page's language: its message, then each field's (for the summary),
    and each field's message by field (shown beside the field)."""
    by_field = {f.field: translate(f.message, i18n.gettext_) for f in exc.fields}
    summary = [translate(exc.message, i18n.gettext_)]
    return summary, by_field


def _here(name: str, page: str) -> str:
    return f"/staff/lists/{quote(name, safe='')}/{page}"


@router.get("", response_class=HTMLResponse)
def list_lists(request: Request, actor: Actor = _MANAGE) -> Response:
    return render(request, "lists/lists.html", _context(request, actor))


def _distance(text: str, field: str, default: str | None = None) -> int:
    try:
        return int(text.strip() or (default or ""))
    except ValueError:
        raise InvalidInput(
            N_("the distance is a whole number"),
            fields=[FieldError(field, N_("must be a whole number"))],
        ) from None


@router.post("", response_class=HTMLResponse)
def list_create(request: Request, actor: Actor = _MANAGE, form: FormData = PostedForm) -> Response:
    values = {
        k: str(form.get(k, ""))[:500] for k in ("name", "kind", "description", "pdq_max_distance")
    }
    try:
        distance = _distance(values["pdq_max_distance"], "pdq_max_distance", "31")
        with get_db(request).write() as session:
            actions.create_list(
                session,
                actor,
                values["name"],
                description=values["description"],
                pdq_max_distance=distance,
                kind=values["kind"] or "hash",
            )
    except AppError as exc:
        return _with_error(request, actor, exc, "create", values)
    return redirect_with_flash(request, "/staff/lists", "list.created")


@router.post("/release", response_class=HTMLResponse)
def list_release(request: Request, actor: Actor = _MANAGE, form: FormData = PostedForm) -> Response:
    name = str(form.get("name", ""))[:200]
    # The VICS data model of the release's vics.json (a hash list's); `formats.vics_profile`
    # refuses anything but the four profiles before a file is written.
    profile = str(form.get("vics_profile", "") or formats.VICS_DEFAULT_PROFILE)[:40]
    settings = get_settings(request)
    try:
        actions.publish(
            get_db(request), actor, release_root(settings), name, settings.secret, profile
        )
    except AppError as exc:
        return _with_error(request, actor, exc, "release", {})
    return redirect_with_flash(request, "/staff/lists", "list.released")


def _rotation_confirmed(form: FormData) -> None:
    """Releases signed after a rotation fail members' checks until each takes the new keyring:
    the box must be ticked."""
    require_confirmation(
        form,
        N_("the signing key was not rotated: confirm that each member will get the new keyring"),
        N_("tick this box to rotate the key"),
    )


@router.post("/signing-key/rotate", response_class=HTMLResponse)
def signing_key_rotate(
    request: Request, actor: Actor = _MANAGE, form: FormData = PostedForm
) -> Response:
    try:
        _rotation_confirmed(form)
        with get_db(request).write() as session:
            actions.rotate_signing_key(session, actor, get_settings(request).secret)
    except AppError as exc:
        return _with_error(request, actor, exc, "rotate", {})
    return redirect_with_flash(request, "/staff/lists", "list.signing_key_rotated")


# -- a list's settings ---------------------------------------------------------------------------


def _settings_page(
    request: Request,
    actor: Actor,
    name: str,
    values: Mapping[str, Any] | None = None,
    exc: AppError | None = None,
) -> Response:
    with get_db(request).read() as session:
        found = actions.list_settings(session, actor, name)
    config, info = found.config, found.info
    shown = {
        "categories": list(config.categories),
        "fields": list(config.fields),
        "formats": list(config.formats),
        "jurisdictions": config.jurisdictions,
        "description": info.description,
        "distances": {
            k: str(info.pdq_max_distance if k == "pdq" else dict(info.max_distances).get(k, ""))
            for k in _distance_types()
        },
        "drawn": found.tag,
    }
    summary, by_field = _said(exc) if exc is not None else ([], {})
    context = {
        "info": info,
        "values": {**shown, **(values or {})},
        "choices": {
            "categories": UK_CATEGORIES,
            "fields": SHAREABLE_FIELDS,
            "formats": FORMATS,
        },
        "distance_types": _distance_types(),
        "summary": summary,
        "field_errors": by_field,
    }
    status = exc.status if exc is not None else 200
    return render(request, "lists/settings.html", context, status_code=status)


def _distance_types() -> dict[str, int]:
    """Each signal type a list may set a distance for, with the most it may be. Left blank,
    a type other than PDQ keeps its default (a vPDQ frame the list's PDQ distance, a plug-in
    its own)."""
    return validation.distance_types()


@router.get("/{name}/settings", response_class=HTMLResponse)
def list_settings(name: str, request: Request, actor: Actor = _MANAGE) -> Response:
    return _settings_page(request, actor, name)


@router.post("/{name}/settings", response_class=HTMLResponse)
def list_configure(
    name: str, request: Request, actor: Actor = _MANAGE, form: FormData = PostedForm
) -> Response:
    kinds = _distance_types()
    values: dict[str, Any] = {
        "categories": [str(v) for v in form.getlist("categories")][:20],
        "fields": [str(v) for v in form.getlist("fields")][:20],
        "formats": [str(v) for v in form.getlist("formats")][:20],
        "jurisdictions": form.get("jurisdictions") == "yes",
        # Cut well past the bound, so that an over-long one is refused, not shortened; a form
        # without the field (a script) keeps the description.
        "description": None
        if form.get("description") is None
        else str(form.get("description"))[: 2 * validation.DESCRIPTION_MAX],
        "distances": {k: str(form.get(f"distance_{k}", ""))[:20] for k in kinds},
        "drawn": str(form.get("drawn", ""))[:64],
    }
    try:
        distances: dict[str, int] = {}
        problems: list[FieldError] = []
        for kind, text in values["distances"].items():
            if not text.strip():
                continue
            try:
                distances[kind] = int(text.strip())
            except ValueError:
                problems.append(FieldError(f"max_distances.{kind}", N_("must be a whole number")))
        if problems:
            raise InvalidInput(N_("the maximum distances have problems"), fields=problems)
        with get_db(request).write() as session:
            actions.configure(
                session,
                actor,
                name,
                categories=values["categories"],
                fields=values["fields"],
                formats=values["formats"],
                jurisdictions=values["jurisdictions"],
                max_distances=distances,
                description=values["description"],
                drawn=values["drawn"],
            )
    except AppError as exc:
        if exc.status == 409:  # drawn from older settings: show the current ones
            return _settings_page(request, actor, name, None, exc)
        return _settings_page(request, actor, name, values, exc)
    return redirect_with_flash(request, _here(name, "settings"), "list.configured")


# -- a list's entries and withdrawing them -------------------------------------------------------


def _entries_page(
    request: Request,
    actor: Actor,
    name: str,
    params: Mapping[str, str],
    values: Mapping[str, Any] | None = None,
    exc: AppError | None = None,
) -> Response:
    query_error: AppError | None = None
    with get_db(request).write() as session:
        try:
            page = entries_list.list_entries(session, actor, name, params)
        except InvalidInput as bad:  # a bad search: the list's first page, and why
            query_error = bad
            page = entries_list.list_entries(session, actor, name, {})
    shown_error = exc or query_error
    summary, by_field = _said(shown_error) if shown_error is not None else ([], {})
    context = {
        "page": page,
        "info": page.info,
        "search": {k: str(params.get(k, ""))[:300] for k in ("q", "state")},
        "values": values or {"chosen": [], "reason": "", "typed": ""},
        "summary": summary,
        "field_errors": by_field,
        "states": entries_list.SPEC.filters[0].choices,
    }
    status = shown_error.status if shown_error is not None else 200
    return render(request, "lists/entries.html", context, status_code=status)


@router.get("/{name}/entries", response_class=HTMLResponse)
def list_entries(name: str, request: Request, actor: Actor = _MANAGE) -> Response:
    return _entries_page(request, actor, name, dict(request.query_params))


def _sent(form: FormData) -> dict[str, Any]:
    """What a withdrawal form sent (to show again): entries ticked, ids typed, the reason."""
    return {
        "chosen": [str(v)[:12] for v in form.getlist("entry")][:_MAX_CHOSEN],
        "typed": str(form.get("typed", ""))[:2000],
        "reason": str(form.get("reason", ""))[:500],
    }


def _chosen(values: Mapping[str, Any]) -> list[int]:
    """The entry ids a withdrawal names (ticked, or typed); InvalidInput when one is no
    number, or when there are more than a page's worth."""
    words = [w for w in values["typed"].replace(",", " ").split() if w]
    ids: list[int] = []
    for word in [*values["chosen"], *words]:
        if not word.isdigit() or len(word) > 9:
            raise InvalidInput(
                N_("entries are named by their ids (whole numbers)"),
                fields=[FieldError("entries", N_("not an entry of this list"))],
            )
        ids.append(int(word))
    if len(ids) > _MAX_CHOSEN:
        raise InvalidInput(
            N_("at most %(max)s entries at a time", max=_MAX_CHOSEN),
            fields=[FieldError("entries", N_("too many"))],
        )
    return list(dict.fromkeys(ids))


@router.post("/{name}/withdraw", response_class=HTMLResponse)
def list_withdraw(
    name: str, request: Request, actor: Actor = _MANAGE, form: FormData = PostedForm
) -> Response:
    """First the confirmation (what will be withdrawn, and why); with `confirm=yes`, the
    withdrawal itself."""
    values = _sent(form)
    try:
        ids = _chosen(values)
        if not ids:
            raise InvalidInput(
                N_("choose the entries to withdraw"),
                fields=[FieldError("entries", N_("no entry chosen"))],
            )
        if not values["reason"].strip():
            raise InvalidInput(
                N_("say why the entries are withdrawn"),
                fields=[FieldError("reason", N_("found wrong, regraded, …: it goes to members"))],
            )
        if form.get("confirm") != "yes":
            with get_db(request).read() as session:
                info = actions.list_settings(session, actor, name).info
            context = {"info": info, "ids": ids, "reason": values["reason"].strip()}
            return render(request, "lists/withdraw_confirm.html", context)
        with get_db(request).write() as session:
            actions.withdraw_entries(session, actor, name, ids, values["reason"])
    except AppError as exc:
        if exc.status in (403, 404) and not exc.fields:
            raise
        return _entries_page(request, actor, name, {}, values, exc)
    return redirect_with_flash(request, _here(name, "entries"), "list.entries_withdrawn")

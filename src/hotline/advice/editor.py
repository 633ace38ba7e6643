"""Staff pages for content editors: create and edit guides, videos, links and helplines.

Only `Action.advice_edit` may enter (content editors). Every view of an editor page and every
save is written to the audit log in the same transaction as the change, and a form is saved
whole or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from babel import Locale
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from hotline.advice import campaigns, campaigns_edit, store
from hotline.advice.model import (
    AGE_BAND_LABELS,
    LINK_CATEGORY_LABELS,
    AgeBand,
    AgeGuide,
    Resource,
    ResourceKind,
    sort_key,
)
from hotline.advice.pages import visit_counter
from hotline.advice.validation import (
    BODY_MAX,
    COUNTRY_CODES,
    GUIDE_SUMMARY_MAX,
    RESOURCE_SUMMARY_MAX,
    TITLE_MAX,
    URL_MAX,
    Errors,
    GuideForm,
    ResourceForm,
    validate_guide,
    validate_resource,
    version_of,
)
from hotline.errors import N_, Conflict, NotFound
from hotline.security import audit
from hotline.security.permissions import Action, Actor
from hotline.web.confirmation import require_confirmation
from hotline.web.csrf import PostedForm
from hotline.web.deps import get_db, require
from hotline.web.flash import redirect_with_flash
from hotline.web.i18n import SUPPORTED_LOCALES, current_locale
from hotline.web.templating import render

editor_router = APIRouter(prefix="/staff/advice", include_in_schema=False)
Editor = Depends(require(Action.advice_edit))

# URL segment -> kind; plural because the pages list many.
KIND_PATHS: dict[str, ResourceKind] = {
    "videos": ResourceKind.video,
    "links": ResourceKind.link,
    "helplines": ResourceKind.helpline,
}
PATH_OF_KIND = {kind: path for path, kind in KIND_PATHS.items()}
KIND_LABELS: dict[ResourceKind, str] = {
    ResourceKind.video: N_("Video"),
    ResourceKind.link: N_("Advice link"),
    ResourceKind.helpline: N_("Helpline"),
}
KIND_PLURAL_LABELS: dict[ResourceKind, str] = {
    ResourceKind.video: N_("Videos"),
    ResourceKind.link: N_("Government and charity links"),
    ResourceKind.helpline: N_("Helplines"),
}
LIMITS = {
    "title": TITLE_MAX,
    "guide_summary": GUIDE_SUMMARY_MAX,
    "resource_summary": RESOURCE_SUMMARY_MAX,
    "body": BODY_MAX,
    "url": URL_MAX,
}
RESOURCE_FIELDS = (
    "url",
    "position",
    "category",
    "country",
    "phone",
    "media_language",
    "is_example",
)
_TEXT_FIELDS = ("title", "summary", "body")


def _languages() -> list[str]:
    return list(SUPPORTED_LOCALES)


def _form_values(form: Mapping[str, Any], names: list[str]) -> dict[str, str]:
    # Only text counts: a file sent in a text field is treated as empty.
    values = {name: form.get(name) for name in names}
    return {name: value if isinstance(value, str) else "" for name, value in values.items()}


def _text_names(fields: tuple[str, ...]) -> list[str]:
    return [f"{f}_{lang}" for lang in _languages() for f in fields]


def _kind(path: str) -> ResourceKind:
    if path not in KIND_PATHS:
        raise NotFound(N_("there is no such kind of advice resource"))
    return KIND_PATHS[path]


def _band(value: str) -> AgeBand:
    if value not in AgeBand.__members__.values():
        raise NotFound(N_("there is no such age group"))
    return AgeBand(value)


def _countries() -> list[tuple[str, str]]:
    names = Locale.parse(current_locale()).territories
    options = [(code, str(names.get(code, code))) for code in COUNTRY_CODES]
    return sorted(options, key=lambda pair: sort_key(pair[1]))


def _view(session: Session, actor: Actor, object_type: str, object_id: str) -> None:
    audit.record(session, actor.username, "advice.view", object_type, object_id, {})


def _common(**extra: Any) -> dict[str, Any]:
    return {"languages": SUPPORTED_LOCALES, "limits": LIMITS, **extra}


# Index -------------------------------------------------------------------------------------


@editor_router.get("", response_class=HTMLResponse)
def index(request: Request, actor: Actor = Editor) -> HTMLResponse:
    db = get_db(request)
    visit_counter(request.app).flush(db)  # this process's waiting views, so the counts are current
    with db.write() as session:
        _view(session, actor, "advice", "index")
        guides = store.load_guides(session)
        resources = {kind: store.list_resources(session, kind) for kind in ResourceKind}
        campaign_list = campaigns.list_campaigns(session)
        visits = campaigns.visit_totals(session)
    return render(
        request,
        "advice/editor/index.html",
        _common(
            guides=guides,
            band_labels=AGE_BAND_LABELS,
            resources=resources,
            kind_paths=PATH_OF_KIND,
            kind_labels=KIND_LABELS,
            kind_plural_labels=KIND_PLURAL_LABELS,
            campaigns=campaign_list,
            visits=visits,
            no_visits=campaigns.VisitTotals(0, 0),
        ),
    )


# Age-band guides ---------------------------------------------------------------------------


def _guide_values(guide: AgeGuide) -> dict[str, str]:
    values: dict[str, str] = {}
    for lang, text in guide.texts.items():
        values[f"title_{lang}"] = text.title
        values[f"summary_{lang}"] = text.summary
        values[f"body_{lang}"] = text.body_md
    return values


def _guide_page(
    request: Request,
    band: AgeBand,
    values: dict[str, str],
    errors: Errors,
    status: int = 200,
    conflict: bool = False,
) -> HTMLResponse:
    return render(
        request,
        "advice/editor/guide_form.html",
        _common(
            band=band,
            band_label=AGE_BAND_LABELS[band],
            values=values,
            errors=errors,
            conflict=conflict,
        ),
        status_code=status,
    )


@editor_router.get("/age/{band}", response_class=HTMLResponse)
def edit_guide(request: Request, band: str, actor: Actor = Editor) -> HTMLResponse:
    age_band = _band(band)
    with get_db(request).write() as session:
        _view(session, actor, "advice_guide", age_band.value)
        values = _guide_values(store.load_guide(session, age_band))
    return _guide_page(request, age_band, {**values, "version": version_of(values)}, {})


@editor_router.post("/age/{band}", response_model=None)
def save_guide(
    request: Request, band: str, actor: Actor = Editor, form: FormData = PostedForm
) -> Response:
    age_band = _band(band)
    values = _form_values(form, [*_text_names(_TEXT_FIELDS), "version"])
    checked = validate_guide(values, _languages())
    if not isinstance(checked, GuideForm):
        return _guide_page(request, age_band, values, checked, status=422)
    with get_db(request).write() as session:
        current = version_of(_guide_values(store.load_guide(session, age_band)))
        if current != values["version"]:
            conflict = {**values, "version": current}
            return _guide_page(request, age_band, conflict, {}, status=409, conflict=True)
        changed = store.save_guide(session, age_band, checked.texts, _languages(), actor.username)
        audit.record(
            session,
            actor.username,
            "advice.update",
            "advice_guide",
            age_band.value,
            {"changed": changed},
        )
    return redirect_with_flash(request, f"/staff/advice/age/{age_band.value}", "advice.saved")


# Campaigns ---------------------------------------------------------------------------------

CAMPAIGN_FIELDS = ("slug", "partners", "starts_on", "ends_on", "position", "is_example")


def _campaign_page(
    request: Request,
    campaign_id: int | None,
    values: Mapping[str, str],
    selected: set[str],
    errors: Errors,
    status: int = 200,
    conflict: bool = False,
) -> HTMLResponse:
    """The campaign form: new (campaign_id None) or one campaign's, with its page views."""
    with get_db(request).read() as session:
        videos = store.list_resources(session, ResourceKind.video)
        visits = campaigns.visit_totals(session).get(campaign_id) if campaign_id else None
        published = campaigns.get_campaign(session, campaign_id).published if campaign_id else True
    return render(
        request,
        "advice/editor/campaign_form.html",
        _common(
            campaign_id=campaign_id,
            action=f"/staff/advice/campaigns/{campaign_id or 'new'}",
            values=values,
            selected=selected,
            errors=errors,
            conflict=conflict,
            videos=videos,
            visits=visits,
            published=published,
            video_limit=len(videos),
        ),
        status_code=status,
    )


def _campaign_form(form: FormData) -> tuple[dict[str, str], list[str]]:
    values = _form_values(form, [*CAMPAIGN_FIELDS, *_text_names(("title", "summary")), "version"])
    videos = [v for v in form.getlist("videos") if isinstance(v, str)]
    return values, videos


@editor_router.get("/campaigns/new", response_class=HTMLResponse)
def new_campaign(request: Request, actor: Actor = Editor) -> HTMLResponse:
    with get_db(request).write() as session:
        campaigns_edit.open_new(session, actor)
    return _campaign_page(request, None, {"position": "0"}, set(), {})


@editor_router.post("/campaigns/new", response_model=None)
def create_campaign(
    request: Request, actor: Actor = Editor, form: FormData = PostedForm
) -> Response:
    values, videos = _campaign_form(form)
    try:
        with get_db(request).write() as session:
            created = campaigns_edit.create_campaign(session, actor, values, videos, _languages())
    except campaigns_edit.CampaignRefused as refused:
        return _campaign_page(request, None, values, set(videos), refused.errors, status=422)
    return redirect_with_flash(request, f"/staff/advice/campaigns/{created.id}", "campaign.added")


@editor_router.get("/campaigns/{campaign_id:int}", response_class=HTMLResponse)
def edit_campaign(request: Request, campaign_id: int, actor: Actor = Editor) -> HTMLResponse:
    visit_counter(request.app).flush(get_db(request))  # this process's waiting views
    with get_db(request).write() as session:
        campaign = campaigns_edit.open_campaign(session, actor, campaign_id)
    values = campaigns_edit.values_of(campaign)
    values["version"] = version_of(values)
    selected = {str(i) for i in campaign.video_ids}
    return _campaign_page(request, campaign_id, values, selected, {})


@editor_router.post("/campaigns/{campaign_id:int}", response_model=None)
def update_campaign(
    request: Request, campaign_id: int, actor: Actor = Editor, form: FormData = PostedForm
) -> Response:
    values, videos = _campaign_form(form)
    try:
        with get_db(request).write() as session:
            campaigns_edit.update_campaign(
                session, actor, campaign_id, values, videos, _languages()
            )
    except campaigns_edit.CampaignRefused as refused:
        return _campaign_page(request, campaign_id, values, set(videos), refused.errors, status=422)
    except Conflict:
        with get_db(request).read() as session:
            current = {**values, "version": campaigns_edit.current_version(session, campaign_id)}
        return _campaign_page(
            request, campaign_id, current, set(videos), {}, status=409, conflict=True
        )
    return redirect_with_flash(request, f"/staff/advice/campaigns/{campaign_id}", "campaign.saved")


def _publish(request: Request, actor: Actor, campaign_id: int, published: bool) -> Response:
    with get_db(request).write() as session:
        campaigns_edit.set_published(session, actor, campaign_id, published)
    flash = "campaign.published" if published else "campaign.unpublished"
    return redirect_with_flash(request, f"/staff/advice/campaigns/{campaign_id}", flash)


@editor_router.post("/campaigns/{campaign_id:int}/unpublish", response_model=None)
def unpublish_campaign(request: Request, campaign_id: int, actor: Actor = Editor) -> Response:
    return _publish(request, actor, campaign_id, False)


@editor_router.post("/campaigns/{campaign_id:int}/publish", response_model=None)
def publish_campaign(request: Request, campaign_id: int, actor: Actor = Editor) -> Response:
    return _publish(request, actor, campaign_id, True)


@editor_router.get("/campaigns/{campaign_id:int}/delete", response_class=HTMLResponse)
def confirm_campaign_delete(
    request: Request, campaign_id: int, actor: Actor = Editor
) -> HTMLResponse:
    db = get_db(request)
    visit_counter(request.app).flush(db)  # this process's waiting views, in the count shown
    with db.write() as session:
        campaign = campaigns_edit.open_campaign(session, actor, campaign_id)
        visits = campaigns.visit_totals(session).get(campaign_id, campaigns.VisitTotals(0, 0))
    return render(
        request, "advice/editor/campaign_delete.html", {"campaign": campaign, "visits": visits}
    )


@editor_router.post("/campaigns/{campaign_id:int}/delete", response_model=None)
def delete_campaign(
    request: Request, campaign_id: int, actor: Actor = Editor, form: FormData = PostedForm
) -> Response:
    require_confirmation(
        form,
        N_("the campaign was not deleted: confirm on its delete page"),
        N_("confirm the deletion"),
    )
    db = get_db(request)
    visit_counter(request.app).flush(db)  # its waiting views are counted, then go with it
    with db.write() as session:
        campaigns_edit.delete_campaign(session, actor, campaign_id)
    return redirect_with_flash(request, "/staff/advice", "campaign.deleted")


# Videos, links and helplines ---------------------------------------------------------------


def _resource_values(resource: Resource) -> dict[str, str]:
    facts = resource.facts
    values = {
        "url": facts.url,
        "position": str(facts.position),
        "category": facts.category.value if facts.category else "",
        "country": facts.country or "",
        "phone": facts.phone or "",
        "media_language": facts.media_language or "",
        "is_example": "on" if facts.is_example else "",
    }
    for lang, text in resource.texts.items():
        values[f"title_{lang}"] = text.title
        values[f"summary_{lang}"] = text.summary
    return values


def _resource_page(
    request: Request,
    kind: ResourceKind,
    resource_id: int | None,
    values: dict[str, str],
    errors: Errors,
    status: int = 200,
    conflict: bool = False,
) -> HTMLResponse:
    path = PATH_OF_KIND[kind]
    action = f"/staff/advice/{path}/{resource_id}" if resource_id else f"/staff/advice/{path}/new"
    return render(
        request,
        "advice/editor/resource_form.html",
        _common(
            kind=kind,
            kind_label=KIND_LABELS[kind],
            resource_id=resource_id,
            action=action,
            path=path,
            values=values,
            errors=errors,
            categories=[(c.value, label) for c, label in LINK_CATEGORY_LABELS.items()],
            countries=_countries() if kind is ResourceKind.helpline else [],
            conflict=conflict,
        ),
        status_code=status,
    )


def _validated(form: FormData, kind: ResourceKind) -> tuple[dict[str, str], ResourceForm | Errors]:
    names = [*RESOURCE_FIELDS, *_text_names(("title", "summary")), "version", "campaign"]
    values = _form_values(form, names)
    return values, validate_resource(kind, values, _languages())


def _for_campaign(kind: ResourceKind, raw: str) -> int | None:
    """A new video may be made for a campaign (`campaign`: its id), and is then listed on it."""
    if not raw or kind is not ResourceKind.video:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise NotFound(N_("there is no such campaign"))
    return int(raw)


@editor_router.get("/{kind}/new", response_class=HTMLResponse)
def new_resource(
    request: Request, kind: str, campaign: str = "", actor: Actor = Editor
) -> HTMLResponse:
    resource_kind = _kind(kind)
    campaign_id = _for_campaign(resource_kind, campaign)
    values = {"position": "0"}
    with get_db(request).write() as session:
        if campaign_id is not None:
            values["campaign"] = str(campaigns_edit.open_campaign(session, actor, campaign_id).id)
        else:
            _view(session, actor, "advice_resource", f"new-{resource_kind.value}")
    return _resource_page(request, resource_kind, None, values, {})


@editor_router.post("/{kind}/new", response_model=None)
def create_resource(
    request: Request, kind: str, actor: Actor = Editor, form: FormData = PostedForm
) -> Response:
    resource_kind = _kind(kind)
    values, checked = _validated(form, resource_kind)
    campaign_id = _for_campaign(resource_kind, values["campaign"])
    if not isinstance(checked, ResourceForm):
        return _resource_page(request, resource_kind, None, values, checked, status=422)
    with get_db(request).write() as session:
        created = store.create_resource(session, checked.facts, checked.texts, actor.username)
        audit.record(
            session,
            actor.username,
            "advice.create",
            "advice_resource",
            created.id,
            {"kind": resource_kind.value, "slug": created.slug, "languages": sorted(created.texts)},
        )
        if campaign_id is not None:  # in the same transaction: both or neither
            campaigns_edit.add_video(session, actor, campaign_id, created.id)
    if campaign_id is not None:
        return redirect_with_flash(
            request, f"/staff/advice/campaigns/{campaign_id}", "campaign.video_added"
        )
    return redirect_with_flash(request, f"/staff/advice/{kind}/{created.id}", "advice.added")


def _load(session: Session, kind: ResourceKind, resource_id: int) -> Resource:
    try:
        resource = store.get_resource(session, resource_id)
    except store.NotFound:
        raise NotFound(N_("there is no such advice resource")) from None
    if resource.kind is not kind:
        raise NotFound(N_("there is no such advice resource"))
    return resource


@editor_router.get("/{kind}/{resource_id:int}", response_class=HTMLResponse)
def edit_resource(
    request: Request, kind: str, resource_id: int, actor: Actor = Editor
) -> HTMLResponse:
    resource_kind = _kind(kind)
    with get_db(request).write() as session:
        values = _resource_values(_load(session, resource_kind, resource_id))
        _view(session, actor, "advice_resource", str(resource_id))
    values["version"] = version_of(values)
    return _resource_page(request, resource_kind, resource_id, values, {})


@editor_router.post("/{kind}/{resource_id:int}", response_model=None)
def update_resource(
    request: Request,
    kind: str,
    resource_id: int,
    actor: Actor = Editor,
    form: FormData = PostedForm,
) -> Response:
    resource_kind = _kind(kind)
    with get_db(request).read() as session:
        _load(session, resource_kind, resource_id)  # 404 before reporting form errors
    values, checked = _validated(form, resource_kind)
    if not isinstance(checked, ResourceForm):
        return _resource_page(request, resource_kind, resource_id, values, checked, status=422)
    with get_db(request).write() as session:
        current = version_of(_resource_values(_load(session, resource_kind, resource_id)))
        if current != values["version"]:
            return _resource_page(
                request,
                resource_kind,
                resource_id,
                {**values, "version": current},
                {},
                status=409,
                conflict=True,
            )
        changed = store.update_resource(
            session, resource_id, checked.facts, checked.texts, _languages(), actor.username
        )
        audit.record(
            session,
            actor.username,
            "advice.update",
            "advice_resource",
            resource_id,
            {"kind": resource_kind.value, "changed": changed},
        )
    return redirect_with_flash(request, f"/staff/advice/{kind}/{resource_id}", "advice.saved")


# Deleting ----------------------------------------------------------------------------------


@editor_router.get("/{kind}/{resource_id:int}/delete", response_class=HTMLResponse)
def confirm_delete(
    request: Request, kind: str, resource_id: int, actor: Actor = Editor
) -> HTMLResponse:
    resource_kind = _kind(kind)
    with get_db(request).write() as session:
        resource = _load(session, resource_kind, resource_id)
        _view(session, actor, "advice_resource", str(resource_id))
    return render(
        request,
        "advice/editor/delete.html",
        _common(
            resource=resource,
            kind=resource_kind,
            kind_label=KIND_LABELS[resource_kind],
            path=PATH_OF_KIND[resource_kind],
        ),
    )


@editor_router.post("/{kind}/{resource_id:int}/delete", response_model=None)
def delete_resource(
    request: Request, kind: str, resource_id: int, actor: Actor = Editor
) -> Response:
    resource_kind = _kind(kind)
    with get_db(request).write() as session:
        resource = _load(session, resource_kind, resource_id)
        store.delete_resource(session, resource_id)
        english = resource.texts.get("en")
        audit.record(
            session,
            actor.username,
            "advice.delete",
            "advice_resource",
            resource_id,
            {
                "kind": resource_kind.value,
                "slug": resource.slug,
                "title": english.title if english else "",
            },
        )
    return redirect_with_flash(request, "/staff/advice", "advice.deleted")

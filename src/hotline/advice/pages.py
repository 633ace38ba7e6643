"""Public pages of the hub: no sign-in, read-only, in the reader's language where written."""

from __future__ import annotations

from dataclasses import dataclass

from babel import Locale
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from hotline.advice import store
from hotline.advice.markdown import render_markdown
from hotline.advice.model import (
    LINK_CATEGORY_LABELS,
    AgeBand,
    LinkCategory,
    Localised,
    Resource,
    ResourceKind,
    ResourceText,
    pick_text,
    sort_key,
    tel_uri,
)
from hotline.errors import N_, NotFound
from hotline.web.deps import get_db
from hotline.web.i18n import current_locale
from hotline.web.templating import render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class ResourceView:
    """A resource as one reader sees it: chosen text plus display names in their language."""

    resource: Resource
    text: Localised[ResourceText]
    country_name: str = ""
    media_language_name: str = ""
    tel: str = ""


def _any_fallback(views: list[ResourceView]) -> bool:
    return any(view.text.fallback for view in views)


def _names(locale: str) -> Locale:
    return Locale.parse(locale)


def _views(resources: list[Resource], locale: str) -> list[ResourceView]:
    names = _names(locale)
    views = []
    for resource in resources:
        text = pick_text(resource.texts, locale)
        if text is None:  # no English either: nothing sensible to show
            continue
        facts = resource.facts
        views.append(
            ResourceView(
                resource,
                text,
                country_name=names.territories.get(facts.country, facts.country)
                if facts.country
                else "",
                media_language_name=names.languages.get(facts.media_language, facts.media_language)
                if facts.media_language
                else "",
                tel=tel_uri(facts.phone) if facts.phone else "",
            )
        )
    return views


@router.get("/advice", response_class=HTMLResponse)
def hub(request: Request) -> HTMLResponse:
    locale = current_locale()
    with get_db(request).read() as session:
        guides = store.load_guides(session)
    bands = [(band, pick_text(guide.texts, locale)) for band, guide in guides.items()]
    any_fallback = any(text is not None and text.fallback for _band, text in bands)
    return render(request, "advice/hub.html", {"bands": bands, "any_fallback": any_fallback})


@router.get("/advice/age/{band}", response_class=HTMLResponse)
def age_guide(request: Request, band: str) -> HTMLResponse:
    if band not in AgeBand.__members__.values():
        raise NotFound(N_("there is no advice for that age group"))
    with get_db(request).read() as session:
        guide = store.load_guide(session, AgeBand(band))
    text = pick_text(guide.texts, current_locale())
    if text is None:
        raise NotFound(N_("there is no advice for that age group yet"))
    body = Markup(render_markdown(text.value.body_md))  # noqa: S704 - sanitised by nh3
    others = [b for b in AgeBand if b is not guide.band]
    return render(
        request,
        "advice/age.html",
        {"band": guide.band, "text": text, "body": body, "others": others},
    )


@router.get("/advice/videos", response_class=HTMLResponse)
def videos(request: Request) -> HTMLResponse:
    locale = current_locale()
    with get_db(request).read() as session:
        items = _views(store.list_resources(session, ResourceKind.video), locale)
    # Videos in the reader's language first; the rest stay, labelled with their language.
    items.sort(key=lambda v: v.resource.facts.media_language != locale)
    return render(
        request, "advice/videos.html", {"items": items, "any_fallback": _any_fallback(items)}
    )


@router.get("/advice/links", response_class=HTMLResponse)
def links(request: Request) -> HTMLResponse:
    with get_db(request).read() as session:
        items = _views(store.list_resources(session, ResourceKind.link), current_locale())
    groups = [
        (category, [v for v in items if v.resource.facts.category is category])
        for category in LinkCategory
    ]
    return render(
        request,
        "advice/links.html",
        {
            "groups": groups,
            "category_labels": LINK_CATEGORY_LABELS,
            "any_fallback": _any_fallback(items),
        },
    )


@router.get("/advice/help", response_class=HTMLResponse)
def helplines(request: Request) -> HTMLResponse:
    with get_db(request).read() as session:
        items = _views(store.list_resources(session, ResourceKind.helpline), current_locale())
    by_country: dict[str, list[ResourceView]] = {}
    for view in items:
        by_country.setdefault(view.country_name, []).append(view)
    countries = sorted(by_country.items(), key=lambda pair: sort_key(pair[0]))
    return render(
        request,
        "advice/help.html",
        {"countries": countries, "any_fallback": _any_fallback(items)},
    )

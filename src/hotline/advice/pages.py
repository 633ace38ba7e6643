"""Public pages of the hub: no sign-in, read-only, in the reader's language where written."""

from __future__ import annotations

from dataclasses import dataclass

from babel import Locale
from babel.dates import format_date
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from hotline.advice import campaigns, search, store
from hotline.advice.markdown import render_markdown
from hotline.advice.model import (
    LINK_CATEGORY_LABELS,
    AgeBand,
    GuideText,
    LinkCategory,
    Localised,
    Resource,
    ResourceKind,
    ResourceText,
    pick_text,
    sort_key,
    tel_uri,
)
from hotline.errors import N_, FieldError, InvalidInput, NotFound
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
def helplines(request: Request, country: str = "") -> HTMLResponse:
    """Helplines by country; `?country=GB` (the filter form, a plain GET) shows one country."""
    code = country.strip().upper()
    if code and not (len(code) == 2 and code.isascii() and code.isalpha()):
        raise InvalidInput(
            N_("choose a country from the list"),
            fields=[FieldError("country", N_("must be a two-letter country code"))],
        )
    with get_db(request).read() as session:
        items = _views(store.list_resources(session, ResourceKind.helpline), current_locale())
    by_country: dict[str, list[ResourceView]] = {}
    codes: dict[str, str] = {}
    for view in items:
        by_country.setdefault(view.country_name, []).append(view)
        codes[view.country_name] = view.resource.facts.country or ""
    countries = sorted(by_country.items(), key=lambda pair: sort_key(pair[0]))
    options = [(codes[name], name) for name, _views_ in countries]
    shown = [pair for pair in countries if not code or codes[pair[0]] == code]
    shown_items = [view for _name, views in shown for view in views]
    return render(
        request,
        "advice/help.html",
        {
            "countries": shown,
            "options": options,
            "selected": code,
            "selected_name": _names(current_locale()).territories.get(code, code) if code else "",
            "any_fallback": _any_fallback(shown_items),
        },
    )


@router.get("/advice/search", response_class=HTMLResponse)
def search_advice(request: Request, q: str = "") -> HTMLResponse:
    """Search the hub (GET form): guides and resources whose text in any language matches;
    each shown in the reader's language where written."""
    query = search.clean_query(q)
    locale = current_locale()
    guides: list[tuple[AgeBand, Localised[GuideText]]] = []
    items: list[ResourceView] = []
    if query:
        with get_db(request).read() as session:
            hits = search.search(session, query)
            all_guides = store.load_guides(session)
            wanted = set(hits.resource_ids)
            resources = [r for r in store.list_resources(session) if r.id in wanted]
        for band in hits.bands:
            text = pick_text(all_guides[band].texts, locale)
            if text is not None:
                guides.append((band, text))
        items = _views(resources, locale)
    return render(
        request,
        "advice/search.html",
        {
            "query": query,
            "guides": guides,
            "items": items,
            "page_for": search.page_for,
            "max_query": search.MAX_QUERY,
        },
    )


# Campaigns ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignView:
    campaign: campaigns.Campaign
    text: Localised[campaigns.CampaignText]
    start: str  # "2 March 2026", "2 mars 2026": in the reader's language
    end: str  # "" while the campaign runs


def _campaign_view(campaign: campaigns.Campaign, locale: str) -> CampaignView | None:
    text = pick_text(campaign.texts, locale)
    if text is None:
        return None
    start = format_date(campaign.starts_on, format="long", locale=locale)
    end = format_date(campaign.ends_on, format="long", locale=locale) if campaign.ends_on else ""
    return CampaignView(campaign, text, start, end)


def visit_counter(app: FastAPI) -> campaigns.VisitCounter:
    """This process's batch of campaign page views (created on first use)."""
    counter: campaigns.VisitCounter | None = getattr(app.state, "campaign_visits", None)
    if counter is None:
        counter = campaigns.VisitCounter()
        app.state.campaign_visits = counter
    return counter


@router.get("/advice/campaigns", response_class=HTMLResponse)
def campaign_index(request: Request) -> HTMLResponse:
    locale = current_locale()
    with get_db(request).read() as session:
        found = campaigns.list_campaigns(session, published_only=True)
    views = [v for v in (_campaign_view(c, locale) for c in found) if v is not None]
    return render(
        request,
        "advice/campaigns.html",
        {"campaigns": views, "any_fallback": any(v.text.fallback for v in views)},
    )


@router.get("/advice/campaigns/{slug}", response_class=HTMLResponse)
def campaign_page(request: Request, slug: str) -> HTMLResponse:
    locale = current_locale()
    db = get_db(request)
    with db.read() as session:
        try:
            campaign = campaigns.load_campaign(session, slug)
        except campaigns.CampaignNotFound:
            raise NotFound(N_("there is no campaign at that address")) from None
        wanted = set(campaign.video_ids)
        videos = [r for r in store.list_resources(session, ResourceKind.video) if r.id in wanted]
    view = _campaign_view(campaign, locale)
    if view is None:
        raise NotFound(N_("there is no campaign at that address"))
    items = _views(videos, locale)
    # Videos grouped by their language, the reader's language first.
    by_language: dict[str, list[ResourceView]] = {}
    for item in sorted(items, key=lambda v: v.resource.facts.media_language != locale):
        by_language.setdefault(item.media_language_name, []).append(item)
    visit_counter(request.app).hit(db, campaign.id)  # a count only: nothing about the visitor
    return render(
        request,
        "advice/campaign.html",
        {
            "view": view,
            "videos_by_language": list(by_language.items()),
            "any_fallback": view.text.fallback or _any_fallback(items),
        },
    )

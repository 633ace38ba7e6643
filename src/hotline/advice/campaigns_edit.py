"""Editing campaigns: the use cases behind the advice editor's campaign pages (docs/advice.md).

Each runs in the caller's transaction: the permission check (`advice.edit`, through
`permissions.allowed`), validation, the writes through `campaigns`, and the audit entry
(`advice.view`, `advice.create`, `advice.update` with what changed). A form with any error
raises `CampaignRefused` (the one error shape, with the errors per field as the editor shows
them) and writes nothing; a form opened before someone else's save raises `Conflict`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from sqlalchemy.orm import Session

from hotline.advice import campaigns, store
from hotline.advice.campaigns import Campaign
from hotline.advice.model import N_, ResourceKind
from hotline.advice.validation import (
    CampaignForm,
    Errors,
    FieldError,
    validate_campaign,
    version_of,
)
from hotline.errors import N_ as message
from hotline.errors import Conflict, Forbidden, InvalidInput, NotFound
from hotline.errors import FieldError as AppFieldError
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed

OBJECT = "advice_campaign"  # the audit object type


class CampaignRefused(InvalidInput):
    """A campaign form with errors; `errors` holds them per field, as the editor shows them."""

    def __init__(self, errors: Errors) -> None:
        super().__init__(
            N_("the campaign was not saved: correct the fields listed"),
            fields=[
                AppFieldError(name, message(e.message, **e.params)) for name, e in errors.items()
            ],
        )
        self.errors = errors


def _permit(actor: Actor) -> None:
    if not allowed(actor, Action.advice_edit):
        raise Forbidden(N_("your role does not allow editing the advice hub"))


def _load(session: Session, campaign_id: int) -> Campaign:
    try:
        return campaigns.get_campaign(session, campaign_id)
    except campaigns.CampaignNotFound:
        raise NotFound(N_("there is no such campaign")) from None


def values_of(campaign: Campaign) -> dict[str, str]:
    """A stored campaign as the editor's form fields (`videos`: the ids, comma-separated)."""
    values = {
        "slug": campaign.slug,
        "partners": "\n".join(campaign.partners),
        "starts_on": campaign.starts_on.isoformat(),
        "ends_on": campaign.ends_on.isoformat() if campaign.ends_on else "",
        "position": str(campaign.position),
        "is_example": "on" if campaign.is_example else "",
        "videos": ",".join(str(i) for i in campaign.video_ids),
    }
    for lang, text in campaign.texts.items():
        values[f"title_{lang}"] = text.title
        values[f"summary_{lang}"] = text.summary
    return values


def current_version(session: Session, campaign_id: int) -> str:
    return version_of(values_of(_load(session, campaign_id)))


def open_new(session: Session, actor: Actor) -> None:
    """An editor opens the form for a new campaign (audited as a view)."""
    _permit(actor)
    audit.record(session, actor.username, "advice.view", OBJECT, "new", {})


def open_campaign(session: Session, actor: Actor, campaign_id: int) -> Campaign:
    """An editor opens one campaign's form (audited as a view)."""
    _permit(actor)
    campaign = _load(session, campaign_id)
    audit.record(session, actor.username, "advice.view", OBJECT, campaign_id, {})
    return campaign


def _checked(
    session: Session,
    values: Mapping[str, str],
    video_ids: Sequence[str],
    languages: Collection[str],
    campaign_id: int | None,
) -> CampaignForm:
    checked = validate_campaign(values, video_ids, languages)
    if not isinstance(checked, CampaignForm):
        raise CampaignRefused(checked)
    errors: Errors = {}
    if campaigns.slug_taken(session, checked.slug, other_than=campaign_id):
        errors["slug"] = FieldError(N_("Another campaign already has this address."))
    videos = {r.id for r in store.list_resources(session, ResourceKind.video)}
    if not set(checked.video_ids) <= videos:
        errors["videos"] = FieldError(N_("Choose the campaign's videos from the list."))
    if errors:
        raise CampaignRefused(errors)
    return checked


def create_campaign(
    session: Session,
    actor: Actor,
    values: Mapping[str, str],
    video_ids: Sequence[str],
    languages: Collection[str],
) -> Campaign:
    """Add a campaign; its page is public at once (/advice/campaigns/<slug>)."""
    _permit(actor)
    checked = _checked(session, values, video_ids, languages, None)
    created = campaigns.create_campaign(session, checked, actor.username)
    audit.record(
        session,
        actor.username,
        "advice.create",
        OBJECT,
        created.id,
        {
            "slug": created.slug,
            "languages": sorted(created.texts),
            "videos": len(checked.video_ids),
        },
    )
    return created


def update_campaign(
    session: Session,
    actor: Actor,
    campaign_id: int,
    values: Mapping[str, str],
    video_ids: Sequence[str],
    languages: Collection[str],
) -> list[str]:
    """Save a campaign's form over the stored one, unless someone saved it after the form was
    opened (`values["version"]` differs: Conflict). Returns what changed."""
    _permit(actor)
    stored = _load(session, campaign_id)
    checked = _checked(session, values, video_ids, languages, campaign_id)
    if version_of(values_of(stored)) != values.get("version"):
        raise Conflict(N_("someone else saved this campaign while you were editing"))
    changed = campaigns.update_campaign(session, campaign_id, checked, languages, actor.username)
    audit.record(
        session, actor.username, "advice.update", OBJECT, campaign_id, {"changed": changed}
    )
    return changed


def add_video(session: Session, actor: Actor, campaign_id: int, resource_id: int) -> Campaign:
    """List a video (an existing video resource) on a campaign's page."""
    _permit(actor)
    campaign = _load(session, campaign_id)
    try:
        resource = store.get_resource(session, resource_id)
    except store.NotFound:
        raise NotFound(N_("there is no such advice resource")) from None
    if resource.kind is not ResourceKind.video:
        raise InvalidInput(N_("only a video can be listed on a campaign's page"))
    if resource_id not in campaign.video_ids:
        campaigns.add_video(session, campaign_id, resource_id)
        audit.record(
            session,
            actor.username,
            "advice.update",
            OBJECT,
            campaign_id,
            {"changed": ["videos"], "video_added": resource_id},
        )
    return _load(session, campaign_id)


def set_published(session: Session, actor: Actor, campaign_id: int, published: bool) -> Campaign:
    """Unpublish a campaign (its public page answers 404 and it leaves the public list; its
    texts, videos and page views are kept) or publish it again. Audited when it changes."""
    _permit(actor)
    _load(session, campaign_id)
    if campaigns.set_published(session, campaign_id, published, actor.username):
        action = "advice.publish" if published else "advice.unpublish"
        audit.record(session, actor.username, action, OBJECT, campaign_id, {})
    return _load(session, campaign_id)


def delete_campaign(session: Session, actor: Actor, campaign_id: int) -> Campaign:
    """Delete a campaign, its texts, its video links (the videos stay) and its page views;
    the audit entry keeps its address, English title and how many views it had."""
    _permit(actor)
    campaign = _load(session, campaign_id)
    views = campaigns.delete_campaign(session, campaign_id)
    english = campaign.texts.get("en")
    audit.record(
        session,
        actor.username,
        "advice.delete",
        OBJECT,
        campaign_id,
        {"slug": campaign.slug, "title": english.title if english else "", "views": views},
    )
    return campaign

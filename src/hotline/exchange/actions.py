"""Partner-exchange use cases: one function per action, called alike by the partner pages,
`hotline partner …` and the exchange API (docs/architecture.md, "Actions").

Each runs in the caller's transaction and never commits: the permission check
(`partners.manage`, through `permissions.allowed`), the write through `partners`/`keys`, and
its audit entry. Refusals and bad input are AppError subclasses (Forbidden, NotFound,
Conflict, InvalidInput).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from hotline.errors import N_, Forbidden
from hotline.exchange import keys, partners
from hotline.exchange.protocol import Refused
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed


def _permit(actor: Actor) -> None:
    if not allowed(actor, Action.partners_manage):
        raise Forbidden(N_("your role does not allow managing partner hotlines"))


def view_partners(session: Session, actor: Actor) -> list[partners.Partner]:
    """The partner hotlines, for the admin page: a view, audited like every view."""
    _permit(actor)
    audit.record(session, actor.username, "partners.view", "partner", "*", {})
    return partners.listing(session)


def add_partner(
    session: Session, actor: Actor, name: str, countries: str, url: str, public_key: str
) -> partners.Partner:
    """Add a partner hotline, enabled; every field's problem at once (InvalidInput)."""
    _permit(actor)
    added = partners.add(session, name, countries, url, public_key)
    audit.record(
        session,
        actor.username,
        "partner.added",
        "partner",
        added.id,
        {"name": added.name, "countries": list(added.countries), "key_id": added.key_id},
    )
    return added


def set_partner_key(session: Session, actor: Actor, name: str, public_key: str) -> partners.Partner:
    """Replace a partner's public key after it rotated its own."""
    _permit(actor)
    partner = partners.set_key(session, name, public_key)
    audit.record(
        session,
        actor.username,
        "partner.key_set",
        "partner",
        partner.id,
        {"key_id": partner.key_id},
    )
    return partner


def set_partner_enabled(
    session: Session, actor: Actor, name: str, enabled: bool
) -> partners.Partner:
    """Stop exchanging with a partner (its requests refused, nothing sent), or start again."""
    _permit(actor)  # before looking: no answer about which partners exist
    partner = partners.set_enabled(session, name, enabled)
    action = "partner.enabled" if enabled else "partner.disabled"
    audit.record(session, actor.username, action, "partner", partner.id, {"name": partner.name})
    return partner


def our_key(session: Session, actor: Actor, secret: bytes) -> keys.PublicIdentity:
    """This instance's exchange key, for partner admins (`hotline partner key`, the partners
    page). The first use makes it, audited as `exchange.key_created` by `actor`."""
    _permit(actor)
    return keys.find(session) or _create_key(session, actor.username, secret)


def key_history(session: Session, actor: Actor) -> list[keys.PublicIdentity]:
    """Our exchange keys, current and retired, newest first (public halves only): which key
    signed what, and when. Shown with `our_key` on the partners page, whose view is audited."""
    _permit(actor)
    return sorted(keys.history(session), key=lambda k: k.created_at, reverse=True)


def signing_identity(session: Session, secret: bytes) -> keys.Identity:
    """Our key with its private half, for the exchange jobs that sign requests. Should no
    admin have asked for it yet, it is made here, audited as made by the system."""
    found = keys.identity(session, secret)
    if found is None:
        _create_key(session, audit.SYSTEM, secret)
        found = keys.identity(session, secret)
        assert found is not None
    return found


def _create_key(session: Session, who: str, secret: bytes) -> keys.PublicIdentity:
    made = keys.create(session, secret)
    audit.record(session, who, "exchange.key_created", "exchange_key", made.key_id, {})
    return made


def rotate_key(
    session: Session, actor: Actor, secret: bytes
) -> tuple[keys.PublicIdentity | None, keys.PublicIdentity]:
    """Retire our exchange key and make a new one: (retired, new). Partners need the new one."""
    _permit(actor)
    old, new = keys.rotate(session, secret)
    audit.record(
        session,
        actor.username,
        "exchange.key_rotated",
        "exchange_key",
        new.key_id,
        {"retired": old.key_id if old else None},
    )
    return old, new


def record_refusal(session: Session, refused: Refused, endpoint: str) -> None:
    """A signed request we refused: audited by the system with the reason (never the body),
    so the partner's admin can ask ours why. No actor: nobody was authenticated."""
    audit.record(
        session,
        audit.SYSTEM,
        "exchange.refused",
        "partner",
        (refused.partner or "-")[:64],
        {"reason": refused.reason.value, "endpoint": endpoint},
    )

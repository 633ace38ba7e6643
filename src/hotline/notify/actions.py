"""Webhook use cases (docs/architecture.md, "Actions"): a member registers, lists and removes
its webhooks with its key (the API); staff do the same for any member, and see deliveries, as
`members.manage` (the CLI as the operator). Each writes its audit entry in the caller's
transaction; the secret never reaches the audit log.

A webhook belongs to the key that registered it: it hears of releases of the lists that key
may read, and falls silent when the key is revoked. Its signing secret is made here, shown
once, and kept sealed (it must be read to sign each delivery).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.assess.fetch_errors import FetchError
from hotline.assess.netguard import parse_target
from hotline.db.base import utcnow
from hotline.errors import N_, Conflict, FieldError, Forbidden, InvalidInput, NotFound
from hotline.matching import store as match_store
from hotline.matching.tables import MemberKeyRow, MemberRow
from hotline.notify.tables import MemberWebhookRow, WebhookDeliveryRow
from hotline.security import audit
from hotline.security.crypto import Sealer, sealer_for
from hotline.security.permissions import Action, Actor, allowed

MAX_PER_MEMBER = 5
MAX_URL = 2000
SECRET_PREFIX = "whsec_"  # noqa: S105 (how a secret reads, not a secret)
_PURPOSE = "member-webhook-secret"
_OBJECT = "member_webhook"


def sealer(secret_key: bytes) -> Sealer:
    return sealer_for(secret_key, _PURPOSE)


@dataclass(frozen=True, slots=True)
class Webhook:
    id: int
    member: str
    key_prefix: str
    url: str
    created_at: datetime
    lists: tuple[str, ...]  # what the registering key may read (what it hears of)
    key_revoked: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "key": self.key_prefix,
            "lists": list(self.lists),
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    webhook_id: int
    member: str
    list: str
    version: int
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


def _check_url(url: Any) -> str:
    problem = None
    if not isinstance(url, str) or not url.strip():
        problem = "an http(s) address is required"
    elif len(url) > MAX_URL:
        problem = f"at most {MAX_URL} characters"
    else:
        try:
            return parse_target(url.strip()).url
        except FetchError as exc:
            problem = exc.message
    raise InvalidInput(N_("the webhook address is not usable"), fields=[FieldError("url", problem)])


def _key_row(session: Session, key_id: int) -> MemberKeyRow:
    row = session.get(MemberKeyRow, key_id)
    if row is None:
        raise NotFound(N_("no such key"))
    return row


def _register(
    session: Session, actor_name: str, key_row: MemberKeyRow, url: Any, secret_key: bytes
) -> tuple[Webhook, str]:
    target = _check_url(url)
    if key_row.revoked_at is not None:
        raise Conflict(N_("this key is revoked; register the webhook with a live key"))
    # One registration at a time per member, so the cap cannot be raced past.
    member = session.execute(
        select(MemberRow).where(MemberRow.id == key_row.member_id).with_for_update()
    ).scalar_one()
    live = session.execute(
        select(func.count())
        .select_from(MemberWebhookRow)
        .where(MemberWebhookRow.member_id == member.id, MemberWebhookRow.removed_at.is_(None))
    ).scalar_one()
    if live >= MAX_PER_MEMBER:
        raise Conflict(
            N_(
                "a member has at most %(max_per_member)s webhooks; remove one first",
                max_per_member=MAX_PER_MEMBER,
            )
        )
    secret = SECRET_PREFIX + secrets.token_hex(32)
    row = MemberWebhookRow(
        member_id=member.id,
        key_id=key_row.id,
        url=target,
        secret_sealed=sealer(secret_key).seal(secret.encode()),
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor_name,
        "member_webhook.registered",
        _OBJECT,
        row.id,
        {"member": member.name, "key": key_row.prefix, "url": target},
    )
    return _webhook(row, member.name, key_row), secret


def _webhook(row: MemberWebhookRow, member: str, key: MemberKeyRow) -> Webhook:
    return Webhook(
        row.id,
        member,
        key.prefix,
        row.url,
        row.created_at,
        tuple(json.loads(key.scopes)),
        key.revoked_at is not None,
    )


def _live(session: Session, member_id: int | None = None) -> list[Webhook]:
    query = (
        select(MemberWebhookRow, MemberRow.name, MemberKeyRow)
        .join(MemberRow, MemberRow.id == MemberWebhookRow.member_id)
        .join(MemberKeyRow, MemberKeyRow.id == MemberWebhookRow.key_id)
        .where(MemberWebhookRow.removed_at.is_(None))
        .order_by(MemberWebhookRow.id)
    )
    if member_id is not None:
        query = query.where(MemberWebhookRow.member_id == member_id)
    return [_webhook(row, name, key) for row, name, key in session.execute(query).all()]


def _remove(session: Session, actor_name: str, webhook_id: int, member_id: int | None) -> None:
    row = session.get(MemberWebhookRow, webhook_id)
    if (
        row is None
        or row.removed_at is not None
        or (member_id is not None and row.member_id != member_id)
    ):
        raise NotFound(
            N_("there is no webhook %(webhook_id)s", webhook_id=webhook_id)
        )  # another member's: not yours to see
    row.removed_at = utcnow()
    audit.record(session, actor_name, "member_webhook.removed", _OBJECT, row.id, {"url": row.url})


# -- a member, with its key (the API admitted it) ---------------------------------------------


def register(
    session: Session, key: match_store.StoredKey, url: Any, secret_key: bytes
) -> tuple[Webhook, str]:
    """Register `url` for the key's member: (the webhook, its signing secret, shown once)."""
    return _register(session, f"member:{key.member}", _key_row(session, key.id), url, secret_key)


def member_webhooks(session: Session, key: match_store.StoredKey) -> list[Webhook]:
    """The member's live webhooks (a view of its own settings, audited like every view)."""
    member_id = _key_row(session, key.id).member_id
    found = _live(session, member_id)
    audit.record(
        session,
        f"member:{key.member}",
        "member_webhook.listed",
        _OBJECT,
        "-",
        {"shown": len(found), "key": key.prefix},
    )
    return found


def remove(session: Session, key: match_store.StoredKey, webhook_id: int) -> None:
    _remove(session, f"member:{key.member}", webhook_id, _key_row(session, key.id).member_id)


# -- staff ------------------------------------------------------------------------------------


def _permit(actor: Actor) -> None:
    if not allowed(actor, Action.members_manage):
        raise Forbidden(N_("your role does not allow managing members"))


def register_for_key(
    session: Session, actor: Actor, key_prefix: str, url: Any, secret_key: bytes
) -> tuple[Webhook, str]:
    """Register a webhook on a member's behalf, tied to its key `key_prefix`."""
    _permit(actor)
    row = session.execute(
        select(MemberKeyRow).where(MemberKeyRow.prefix == key_prefix)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(N_("there is no key '%(key_prefix)s'", key_prefix=key_prefix))
    return _register(session, actor.username, row, url, secret_key)


def list_webhooks(session: Session, actor: Actor) -> list[Webhook]:
    """Every member's live webhooks (addresses, never secrets), audited as a view."""
    _permit(actor)
    found = _live(session)
    audit.record(
        session, actor.username, "member_webhook.listed", _OBJECT, "*", {"shown": len(found)}
    )
    return found


def remove_for(session: Session, actor: Actor, webhook_id: int) -> None:
    _permit(actor)
    _remove(session, actor.username, webhook_id, None)


def list_deliveries(session: Session, actor: Actor, limit: int = 100) -> list[Delivery]:
    """The latest deliveries, newest first, audited as a view."""
    _permit(actor)
    rows = session.execute(
        select(WebhookDeliveryRow, MemberRow.name)
        .join(MemberWebhookRow, MemberWebhookRow.id == WebhookDeliveryRow.webhook_id)
        .join(MemberRow, MemberRow.id == MemberWebhookRow.member_id)
        .order_by(WebhookDeliveryRow.id.desc())
        .limit(limit)
    ).all()
    found = [
        Delivery(
            d.id,
            d.webhook_id,
            name,
            d.list_name,
            d.version,
            d.state,
            d.attempts,
            d.last_error,
            d.created_at,
            d.finished_at,
        )
        for d, name in rows
    ]
    audit.record(
        session,
        actor.username,
        "webhook_delivery.listed",
        "webhook_delivery",
        "*",
        {"shown": len(found)},
    )
    return found

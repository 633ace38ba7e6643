"""Telling members' webhooks of each release, on the durable jobs.

- "list.released" -> notify.release_fan_out: one `webhook_deliveries` row and one
  notify.deliver job per live webhook whose key (live) may read the list; a row exists once
  per webhook and release, so an event handled twice sends nothing twice.
- notify.deliver: POST the signed payload through takedown's webhook sender (the safe
  fetcher's transport: a private address is refused, never called; the whole exchange is
  bounded by `webhook_timeout_seconds`). A 2xx: "delivered". A temporary failure (timeout,
  5xx, 429, connection refused) is retried with the workers' backoff (doubling from
  `notice_retry_seconds`) up to `ATTEMPTS`, then "failed". A permanent one (4xx, a redirect,
  a bad address) is "failed" at once; an address the SSRF guard refuses is "refused".

The payload (docs/lists.md, "Release webhooks") names the list, the version, the kind and the
API paths to fetch; paths, not absolute URLs, since the hotline does not know the address its
members reach it at.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.assess.fetcher import FetchPolicy, fetch_policy_from
from hotline.db.base import utcnow
from hotline.jobs import queue
from hotline.jobs.events import on
from hotline.jobs.worker import JobContext, Retry, job_handler
from hotline.matching.tables import MemberKeyRow
from hotline.notify import actions
from hotline.notify.tables import MemberWebhookRow, WebhookDeliveryRow
from hotline.security.crypto import DecryptionError
from hotline.takedown.delivery import DeliveryError, send_webhook

log = logging.getLogger("hotline.notify")

DELIVER = "notify.deliver"
ATTEMPTS = 6
EVENT = "list.released"


def payload(list_name: str, version: int, since: int | None, kind: str) -> dict[str, Any]:
    """What a webhook receives: the release and where to fetch it (paths on our API)."""
    base = f"/api/v1/lists/{list_name}"
    body: dict[str, Any] = {
        "event": EVENT,
        "list": list_name,
        "version": version,
        "kind": kind,
        "since": since,
        "release": f"{base}/releases/{version}",
        "delta": f"{base}/delta?since={since}" if since is not None else None,
    }
    return body


def _readers(session: Session, list_name: str) -> list[int]:
    """Live webhooks whose live key may read `list_name`."""
    rows = session.execute(
        select(MemberWebhookRow.id, MemberKeyRow.scopes)
        .join(MemberKeyRow, MemberKeyRow.id == MemberWebhookRow.key_id)
        .where(MemberWebhookRow.removed_at.is_(None), MemberKeyRow.revoked_at.is_(None))
        .order_by(MemberWebhookRow.id)
    ).all()
    return [hook_id for hook_id, scopes in rows if list_name in json.loads(scopes)]


@on(EVENT, kind="notify.release_fan_out")
def release_fan_out(ctx: JobContext) -> None:
    name, version = ctx.payload.get("list"), ctx.payload.get("version")
    if not isinstance(name, str) or not isinstance(version, int):
        return  # nothing to tell (the worker completes the job)
    with ctx.db.write() as session:
        for hook_id in _readers(session, name):
            known = session.execute(
                select(WebhookDeliveryRow.id).where(
                    WebhookDeliveryRow.webhook_id == hook_id,
                    WebhookDeliveryRow.list_name == name,
                    WebhookDeliveryRow.version == version,
                )
            ).first()
            if known is not None:
                continue  # this event was fanned out before (a retried job)
            row = WebhookDeliveryRow(
                webhook_id=hook_id,
                list_name=name,
                version=version,
                state="pending",
                attempts=0,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            queue.enqueue(
                session,
                DELIVER,
                {
                    "delivery_id": row.id,
                    "since": ctx.payload.get("since"),
                    "kind": ctx.payload.get("kind", "full"),
                },
                max_attempts=ATTEMPTS,
            )
        ctx.complete(session)


def _finish(
    ctx: JobContext, delivery_id: int, state: str, attempts: int, error: str | None
) -> None:
    with ctx.db.write() as session:
        row = session.get(WebhookDeliveryRow, delivery_id)
        if row is not None:
            row.state, row.attempts, row.last_error = state, attempts, error
            if state != "pending":
                row.finished_at = utcnow()
        if state != "pending":
            ctx.complete(session)


@job_handler(DELIVER, max_attempts=ATTEMPTS)
def deliver(ctx: JobContext) -> None:
    delivery_id = ctx.payload.get("delivery_id")
    if not isinstance(delivery_id, int):
        return
    with ctx.db.read() as session:
        found = session.execute(
            select(WebhookDeliveryRow, MemberWebhookRow)
            .join(MemberWebhookRow, MemberWebhookRow.id == WebhookDeliveryRow.webhook_id)
            .where(WebhookDeliveryRow.id == delivery_id)
        ).first()
        if found is None or found[0].state != "pending":
            return  # gone, or settled by an earlier run
        row, hook = found
        list_name, version, attempts = row.list_name, row.version, row.attempts + 1
        url, sealed, removed = hook.url, hook.secret_sealed, hook.removed_at is not None
    if removed:
        _finish(ctx, delivery_id, "failed", attempts - 1, "the webhook was removed")
        return
    try:
        secret = actions.sealer(ctx.settings.secret).open(sealed)
    except DecryptionError:
        _finish(ctx, delivery_id, "failed", attempts, "the secret cannot be opened: register again")
        return
    since = ctx.payload.get("since")
    body = payload(
        list_name,
        version,
        since if isinstance(since, int) else None,
        str(ctx.payload.get("kind", "full")),
    )
    data = json.dumps(body, sort_keys=True).encode()
    policy = ctx.resource(FetchPolicy, fetch_policy_from)
    try:
        send_webhook(ctx.settings, policy, url, secret, data)
    except DeliveryError as exc:
        message = str(exc)[:500]
        if exc.refused:
            _finish(ctx, delivery_id, "refused", attempts, message)
        elif not exc.temporary or ctx.job.attempts >= ctx.job.max_attempts:
            _finish(ctx, delivery_id, "failed", attempts, message)
        else:
            _finish(ctx, delivery_id, "pending", attempts, message)
            raise Retry(message) from None
        return
    _finish(ctx, delivery_id, "delivered", attempts, None)

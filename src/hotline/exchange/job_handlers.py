"""Job handlers of this capability (registered with hotline.jobs.worker.job_handler).

"exchange.forward" delivers a case to a partner; "exchange.status" tells a partner how a
report it forwarded to us stands. Both retry an offline or failing partner with backoff for
a long time (MAX_ATTEMPTS), and give up at once on an answer that says no (a 4xx): the
forwarded case is then flagged for staff. The network call happens outside any transaction.

Event handlers (takedown's decisions, hotline.jobs.events):
- "takedown.case_opened" -> exchange.route_case: a partner hotline covering the host's
  country takes the case (a forward); otherwise the case stays with the host
  (takedown.cases.route_to_host). A partner that sent us the report hears "actioned".
- "takedown.removed" -> exchange.tell_removed: a partner that sent us the report hears
  "removed".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hotline.assess.fetcher import FetchPolicy, fetch_policy_from
from hotline.db.base import utcnow
from hotline.exchange import actions, client, forwarding, inbound, partners, protocol
from hotline.exchange.client import Answer, Outcome
from hotline.exchange.messages import RemoteStatus
from hotline.jobs.events import on
from hotline.jobs.worker import GiveUp, JobContext, Retry, job_handler
from hotline.security import audit
from hotline.takedown import cases


def _int(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise GiveUp(f"the job's payload has no {key}")
    return value


@on("takedown.case_opened", kind="exchange.route_case")
def route_case(ctx: JobContext) -> None:
    case_id, url_id = _int(ctx.payload, "case_id"), _int(ctx.payload, "url_id")
    country = ctx.payload.get("country")
    with ctx.db.write() as session:
        partner = partners.partner_for_country(
            session, country if isinstance(country, str) else None
        )
        if partner is not None:
            if cases.route_to_partner(session, case_id, partner.id, partner.name, ctx.settings):
                forwarding.start_forward(session, case_id, partner.id)
        else:
            cases.route_to_host(session, case_id, ctx.settings)
        forwarding.notify_status(session, url_id, "actioned")
        ctx.complete(session)


@on("takedown.removed", kind="exchange.tell_removed")
def tell_removed(ctx: JobContext) -> None:
    url_id = _int(ctx.payload, "url_id")
    with ctx.db.write() as session:
        forwarding.notify_status(session, url_id, "removed")
        ctx.complete(session)


def _last_attempt(ctx: JobContext) -> bool:
    return ctx.job.attempts >= ctx.job.max_attempts


def _send(ctx: JobContext, partner: partners.Partner, path: str, payload: dict[str, Any]) -> Answer:
    with ctx.db.write() as session:
        me = actions.signing_identity(session, ctx.settings.secret)  # made on first use
    return client.post(
        ctx.resource(FetchPolicy, fetch_policy_from),
        me,
        ctx.settings.organisation_name,
        partner,
        path,
        payload,
        ctx.settings.exchange_timeout_seconds,
    )


@job_handler(forwarding.FORWARD_JOB, max_attempts=forwarding.MAX_ATTEMPTS)
def forward(ctx: JobContext) -> None:
    forward_id = int(ctx.payload["forward_id"])
    with ctx.db.write() as session:
        outbound = forwarding.pending_forward(session, forward_id)
        if outbound is None:  # delivered, failed or cancelled already
            ctx.complete(session)
            return
    if not outbound.partner.enabled:
        answer = Answer(Outcome.permanent, None, {}, "the partner hotline is disabled here")
    else:
        answer = _send(ctx, outbound.partner, protocol.REPORTS_PATH, outbound.message.to_json())
    reference = answer.body.get("reference")
    if answer.outcome is Outcome.ok and isinstance(reference, str) and reference:
        with ctx.db.write() as session:
            forwarding.delivered(session, forward_id, reference, utcnow())
            ctx.complete(session)
        return
    if answer.outcome is Outcome.ok:  # 2xx without a reference: not a hotline answering
        answer = Answer(
            Outcome.permanent, answer.status, {}, "the partner's answer had no reference"
        )
    error = answer.error or "unknown error"
    final = answer.outcome is Outcome.permanent or _last_attempt(ctx)
    with ctx.db.write() as session:
        forwarding.attempt_failed(session, forward_id, error, final=final)
    if final:
        raise GiveUp(error)
    raise Retry(error)


@job_handler(forwarding.STATUS_JOB, max_attempts=forwarding.MAX_ATTEMPTS)
def status(ctx: JobContext) -> None:
    inbound_id = int(ctx.payload["inbound_id"])
    update = RemoteStatus(ctx.payload["status"])
    with ctx.db.write() as session:
        owed = inbound.owed_status(
            session, inbound_id, update, datetime.fromisoformat(ctx.payload["at"])
        )
        if owed is None:  # the partner already has this news, or later news
            ctx.complete(session)
            return
        partner = partners.get(session, owed.partner_id)
    if not partner.enabled:
        answer = Answer(Outcome.permanent, None, {}, "the partner hotline is disabled here")
    else:
        answer = _send(ctx, partner, protocol.STATUS_PATH, owed.update.to_json())
    detail = {"partner": partner.name, "status": update.value}
    if answer.outcome is Outcome.ok:
        with ctx.db.write() as session:
            inbound.status_sent(session, inbound_id, update)
            audit.record(
                session,
                audit.SYSTEM,
                "exchange.status_sent",
                "exchange_inbound",
                inbound_id,
                detail,
            )
            ctx.complete(session)
        return
    error = answer.error or "unknown error"
    if answer.outcome is Outcome.permanent or _last_attempt(ctx):
        with ctx.db.write() as session:
            audit.record(
                session,
                audit.SYSTEM,
                "exchange.status_failed",
                "exchange_inbound",
                inbound_id,
                {**detail, "error": error[:500]},
            )
        raise GiveUp(error)
    raise Retry(error)

"""The partner exchange API: POST /api/v1/exchange/reports and /api/v1/exchange/status.

Every request is signed by a partner hotline (hotline.exchange.protocol). The signature, the
partner, the clock and the nonce are checked before the body is even parsed; a refusal is a
401 in the one error shape that does not say which check failed (the partner's admin asks
ours, whose audit log has the reason), is audited without the body, and stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hotline import json_input
from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import (
    N_,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    UnsupportedMediaType,
    error_responses,
)
from hotline.exchange import actions, auth, forwarding, inbound, messages, protocol
from hotline.exchange.partners import Partner
from hotline.exchange.protocol import Refused
from hotline.security.ratelimit import RateLimiter
from hotline.web.deps import client_address, get_db, get_settings

router = APIRouter(
    prefix="/api/v1/exchange",
    tags=["exchange"],
    responses=error_responses(400, 401, 413, 415, 422, 429),
)

MAX_BODY_BYTES = 16 * 1024
REFUSED = "the exchange signature was refused; this instance's administrators can say why"

_ID = {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}
_TIME = {"type": "string", "format": "date-time", "description": "ISO 8601 with its UTC offset"}


def _declared(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """A signed JSON body, declared for the schema; parsed after the signature is checked."""
    schema = {"type": "object", "required": required, "properties": properties}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_FORWARD_BODY = _declared(
    {
        "forward_id": _ID,
        "url": {"type": "string", "maxLength": messages.MAX_URL},
        "first_reported_at": _TIME,
        "category": {"enum": [*messages.CATEGORIES, None]},
        "reference": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,32}$"},
    },
    ["forward_id", "url", "first_reported_at", "reference"],
)
_STATUS_BODY = _declared(
    {"forward_id": _ID, "status": {"enum": [s.value for s in messages.RemoteStatus]}, "at": _TIME},
    ["forward_id", "status", "at"],
)
_RECEIVED = {
    "type": "object",
    "required": ["reference", "status"],
    "properties": {"reference": {"type": "string"}, "status": {"const": "received"}},
}
_HELD = {
    "type": "object",
    "required": ["forward_id", "status"],
    "properties": {
        "forward_id": {"type": "string"},
        "status": {"enum": [s.value for s in messages.RemoteStatus]},
    },
}


def _json_answer(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


Work = Callable[[Session, Partner, Any], tuple[int, dict[str, Any]]]


async def _read_body(request: Request) -> bytes:
    """The raw body (its hash is signed), capped before and while reading."""
    too_large = PayloadTooLarge(
        N_("the body must be at most %(max_body_bytes)s bytes", max_body_bytes=MAX_BODY_BYTES)
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_large
    return bytes(body)


def _json(content_type: str, body: bytes) -> Any:
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise UnsupportedMediaType(N_("send JSON with Content-Type: application/json"))
    return json_input.loads(body)


def _handle(
    db: Database,
    settings: Settings,
    headers: dict[str, str],
    path: str,
    body: bytes,
    work: Work,
    refusal_limiter: RateLimiter,
    client: str,
) -> tuple[int, dict[str, Any]]:
    """Authenticate, then do `work` in the same transaction; a refusal rolls everything back
    (the nonce included) and is audited on its own."""
    try:
        with db.write() as session:
            partner = auth.authenticate(
                session,
                headers,
                method="POST",
                path=path,
                body=body,
                recipient=settings.organisation_name,
                now=utcnow(),
                skew_seconds=settings.exchange_clock_skew_seconds,
            )
            return work(session, partner, _json(headers.get("content-type", ""), body))
    except Refused as exc:
        # Refusals are audited, so a stranger could grow the audit log: past a few refusals
        # per client and window, refuse without auditing (keyed by HMAC, never the address).
        retry_after = refusal_limiter.hit(client)
        if retry_after is not None:
            raise RateLimited(N_("too many refused exchange requests"), retry_after) from exc
        with db.write() as session:
            actions.record_refusal(session, exc, path)
        raise Unauthorized(REFUSED) from exc


async def _serve(request: Request, path: str, work: Work) -> JSONResponse:
    body = await _read_body(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    status, answer = await run_in_threadpool(
        _handle,
        get_db(request),
        get_settings(request),
        headers,
        path,
        body,
        work,
        request.app.state.exchange_refusal_limiter,
        client_address(request),
    )
    return JSONResponse(answer, status_code=status)


@router.post(
    "/reports",
    status_code=201,
    responses={
        200: _json_answer(_RECEIVED, "This forward had already arrived: the same reference"),
        201: _json_answer(_RECEIVED, "Stored: our reference"),
    },
    openapi_extra=_FORWARD_BODY,
)
async def receive_report(request: Request) -> JSONResponse:
    """A partner hotline forwards a report of content hosted in our country:
    `{"forward_id", "url", "first_reported_at", "category", "reference"}`. Answers 201 with
    our reference; the same forward id again answers 200 with the same reference."""

    def work(session: Session, partner: Partner, data: Any) -> tuple[int, dict[str, Any]]:
        forward = messages.parse_forward(data)
        received = inbound.receive(session, partner, forward, partner.key_id, utcnow())
        answer = {"reference": received.reference, "status": "received"}
        return (201 if received.created else 200), answer

    return await _serve(request, protocol.REPORTS_PATH, work)


@router.post(
    "/status",
    responses={
        200: _json_answer(_HELD, "The status we now hold"),
        **error_responses(404),
    },
    openapi_extra=_STATUS_BODY,
)
async def receive_status(request: Request) -> JSONResponse:
    """A partner hotline tells us how a report we forwarded stands:
    `{"forward_id", "status": "received" | "actioned" | "removed", "at"}`."""
    skew = get_settings(request).exchange_clock_skew_seconds

    def work(session: Session, partner: Partner, data: Any) -> tuple[int, dict[str, Any]]:
        update = messages.parse_status(data)
        held = forwarding.record_remote_status(session, partner, update, skew)
        return 200, {"forward_id": update.forward_id, "status": held}

    return await _serve(request, protocol.STATUS_PATH, work)

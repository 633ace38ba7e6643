"""`/api/v1/webhooks`: a member registers (POST), lists (GET) and removes (DELETE) the
addresses it hears of new releases at, with its member key. The signing secret is answered
once, by the POST. Docs: docs/lists.md, "Release webhooks"."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hotline import json_input
from hotline.errors import (
    N_,
    FieldError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    error_responses,
)
from hotline.matching import store as match_store
from hotline.matching.api import admit, bearer_token
from hotline.matching.service import MatchService, service_for
from hotline.notify import actions

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

MAX_BODY = 8 * 1024
_WEBHOOK: dict[str, Any] = {
    "type": "object",
    "required": ["id", "url", "key", "lists", "created_at"],
    "properties": {
        "id": {"type": "integer"},
        "url": {"type": "string"},
        "key": {"type": "string"},
        "lists": {"type": "array", "items": {"type": "string"}},
        "created_at": {"type": "string", "format": "date-time"},
    },
}
_REGISTERED = {
    **_WEBHOOK,
    "required": [*_WEBHOOK["required"], "secret"],
    "properties": {
        **_WEBHOOK["properties"],
        "secret": {"type": "string", "description": "The signing secret, shown only now"},
    },
}
_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["url"],
                "additionalProperties": False,
                "properties": {"url": {"type": "string", "maxLength": actions.MAX_URL}},
            }
        }
    },
}


def _key(svc: MatchService, request: Request) -> match_store.StoredKey:
    key, _ = admit(svc, bearer_token(request), None)
    return key


def _url_of(data: Any) -> Any:
    if not isinstance(data, dict):
        raise InvalidInput(N_('send a JSON object: {"url": "https://…"}'))
    unknown = sorted(str(k) for k in data if k != "url")
    if unknown:
        raise InvalidInput(
            N_("the request has problems; nothing was stored"),
            fields=[FieldError(k, N_("not a field of a webhook")) for k in unknown],
        )
    return data.get("url")


def _register(svc: MatchService, key: match_store.StoredKey, data: Any) -> dict[str, Any]:
    url = _url_of(data)
    with svc.db.write() as session:
        hook, secret = actions.register(session, key, url, svc.settings.secret)
    return {**hook.to_json(), "secret": secret}


@router.post(
    "",
    status_code=201,
    responses={
        201: {
            "description": "Registered; keep the secret, it is not shown again",
            "content": {"application/json": {"schema": _REGISTERED}},
        },
        **error_responses(400, 401, 409, 413, 415, 422, 429),
    },
    openapi_extra={"requestBody": _BODY},
)
async def register_webhook(request: Request) -> Response:
    """Register an address to hear of each new release of the lists this key may read (at
    most 5 per member). Each POST to it is signed: see docs/lists.md."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            break
    svc = service_for(request.app.state)
    key = await run_in_threadpool(_key, svc, request)  # 401 and 429 before the body's
    if kind != "application/json":
        raise UnsupportedMediaType(N_("send the webhook as JSON (application/json)"))
    if len(raw) > MAX_BODY:
        raise PayloadTooLarge(
            N_("a webhook body must be at most %(max_body)s bytes", max_body=MAX_BODY)
        )
    data = json_input.loads(bytes(raw))
    body = await run_in_threadpool(_register, svc, key, data)
    return JSONResponse(body, status_code=201)


@router.get(
    "",
    responses={
        200: {
            "description": "This member's webhooks",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["webhooks"],
                        "properties": {"webhooks": {"type": "array", "items": _WEBHOOK}},
                    }
                }
            },
        },
        **error_responses(401, 429),
    },
)
def webhooks(request: Request) -> Response:
    """The member's webhooks (addresses; secrets are never shown again)."""
    svc = service_for(request.app.state)
    key = _key(svc, request)
    with svc.db.write() as session:
        found = actions.member_webhooks(session, key)
    return JSONResponse({"webhooks": [h.to_json() for h in found]})


@router.delete(
    "/{webhook}",
    status_code=204,
    responses={204: {"description": "Removed"}, **error_responses(401, 404, 429)},
)
def remove_webhook(request: Request, webhook: str) -> Response:
    """Remove one of the member's webhooks; deliveries still pending to it stop."""
    svc = service_for(request.app.state)
    key = _key(svc, request)
    webhook_id = json_input.bounded_digits(webhook)
    if webhook_id is None:
        raise NotFound(N_("there is no webhook '%(webhook)s'", webhook=webhook))
    with svc.db.write() as session:
        actions.remove(session, key, webhook_id)
    return Response(status_code=204)

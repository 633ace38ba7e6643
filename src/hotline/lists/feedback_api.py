"""`POST /api/v1/lists/{name}/entries/{entry}/feedback`: a member says an entry is a false
positive or confirms it. The key is admitted for the list like a download's (401, 429, 403),
then the body is read (JSON, at most 16 KiB); `lists.feedback.submit` does the rest."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hotline import json_input
from hotline.errors import N_, NotFound, PayloadTooLarge, UnsupportedMediaType, error_responses
from hotline.lists import feedback
from hotline.matching import store as match_store
from hotline.matching.api import admit, bearer_token
from hotline.matching.service import MatchService, service_for

router = APIRouter(prefix="/api/v1/lists", tags=["lists"])

MAX_BODY = 16 * 1024
_FEEDBACK = {
    "type": "object",
    "required": ["id", "list", "entry", "verdict", "note", "state", "created_at", "updated_at"],
    "properties": {
        "id": {"type": "integer"},
        "list": {"type": "string"},
        "entry": {"type": "integer"},
        "verdict": {"enum": list(feedback.VERDICTS)},
        "note": {"type": ["string", "null"]},
        "state": {"enum": list(feedback.STATES)},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}
_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["verdict"],
                "additionalProperties": False,
                "properties": {
                    "verdict": {"enum": list(feedback.VERDICTS)},
                    "note": {"type": ["string", "null"], "maxLength": feedback.MAX_NOTE},
                },
            }
        }
    },
}


def _store(
    svc: MatchService, key: match_store.StoredKey, name: str, entry: int, data: Any
) -> tuple[feedback.Feedback, bool]:
    verdict, note = feedback.parse_body(data)
    with svc.db.write() as session:
        return feedback.submit(session, key, name, entry, verdict, note)


@router.post(
    "/{name}/entries/{entry}/feedback",
    status_code=201,
    responses={
        200: {
            "description": "Your open feedback on this entry, replaced",
            "content": {"application/json": {"schema": _FEEDBACK}},
        },
        201: {
            "description": "Feedback stored for review",
            "content": {"application/json": {"schema": _FEEDBACK}},
        },
        **error_responses(400, 401, 403, 404, 409, 413, 415, 422, 429),
    },
    openapi_extra={"requestBody": _BODY},
)
async def entry_feedback(request: Request, name: str, entry: str) -> Response:
    """Report that an entry is a false positive, or confirm it. One feedback per member and
    entry: sent again while open it replaces the first (200); once staff decided it, 409. An
    upheld false positive is withdrawn and leaves in the next release's delta."""
    svc = service_for(request.app.state)
    key, _ = await run_in_threadpool(admit, svc, bearer_token(request), [name])
    entry_id = json_input.bounded_digits(entry)
    if entry_id is None:
        raise NotFound(N_("list '%(name)s' has no entry '%(entry)s'", name=name, entry=entry))
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise UnsupportedMediaType(N_("send the feedback as JSON (application/json)"))
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise PayloadTooLarge(
                N_("a feedback body must be at most %(max_body)s bytes", max_body=MAX_BODY)
            )
    data = json_input.loads(bytes(raw))
    stored, created = await run_in_threadpool(_store, svc, key, name, entry_id, data)
    return JSONResponse(stored.to_json(), status_code=201 if created else 200)

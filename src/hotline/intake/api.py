"""The public report API: POST /api/v1/reports and GET /api/v1/reports/{reference}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from hotline import json_input
from hotline.errors import (
    N_,
    FieldError,
    InvalidInput,
    PayloadTooLarge,
    UnsupportedMediaType,
    error_responses,
)
from hotline.intake import reports
from hotline.intake.receive import receive
from hotline.web.deps import get_db

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

MAX_BODY_BYTES = 16 * 1024
ALLOWED_FIELDS = frozenset({"url", "description", "email", "content_type", "country"})


class ReportReceipt(BaseModel):
    reference: str
    status: reports.PublicStatus


_TEXT_OR_NULL = {"type": ["string", "null"]}
# Declared, not parsed by FastAPI: the body is read under a size cap and checked field by field
# (reports.validate lists every problem at once).
_REPORT_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["url"],
                "additionalProperties": False,
                "properties": {
                    "url": {"type": "string", "description": "the web address, http or https"},
                    "description": {**_TEXT_OR_NULL, "maxLength": reports.MAX_DESCRIPTION},
                    "email": {**_TEXT_OR_NULL, "maxLength": reports.MAX_EMAIL},
                    "content_type": {"enum": [*(c.value for c in reports.ContentType), "", None]},
                    "country": {**_TEXT_OR_NULL, "description": "ISO 3166 alpha-2"},
                },
            },
            "example": {
                "url": "https://www.example.com/gallery/album-17",
                "content_type": "image",
                "country": "GB",
            },
        }
    },
}


async def _json_object(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType(
            N_("send the report as JSON with Content-Type: application/json")
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            N_("the body must be at most %(max_body_bytes)s bytes", max_body_bytes=MAX_BODY_BYTES)
        )
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(
                N_(
                    "the body must be at most %(max_body_bytes)s bytes",
                    max_body_bytes=MAX_BODY_BYTES,
                )
            )
    data = json_input.loads(body)
    if not isinstance(data, dict):
        raise InvalidInput(N_("the body must be a JSON object"))
    unknown = sorted(set(data) - ALLOWED_FIELDS)
    if unknown:
        raise InvalidInput(
            N_("the report has fields this API does not know; nothing was stored"),
            fields=[FieldError(name, N_("unknown field")) for name in unknown[:50]],
        )
    json_input.require_text(data, ALLOWED_FIELDS)  # every field is a string or null
    return data


@router.post(
    "",
    status_code=201,
    responses={201: {"model": ReportReceipt}, **error_responses(400, 413, 415, 422, 429)},
    openapi_extra={"requestBody": _REPORT_BODY},
)
async def create_report(request: Request) -> JSONResponse:
    """Report a web address. No account is needed; keep the reference to check its status."""
    data = await _json_object(request)
    report = reports.validate(data)
    # The limit check, the write and its audit entry are blocking work: off the event loop.
    submitted = await run_in_threadpool(
        receive,
        request,
        report,
        reports.Source.api,
        N_("too many reports from this connection; try again later"),
    )
    return JSONResponse(
        {"reference": submitted.reference, "status": submitted.status.value}, status_code=201
    )


@router.get("/{reference}", responses={200: {"model": ReportReceipt}, **error_responses(404, 422)})
def report_status(reference: str, request: Request) -> dict[str, str]:
    """The public status of a report, and nothing more."""
    with get_db(request).read() as session:
        status = reports.public_status(session, reference)
    return {"reference": reports.clean_reference(reference), "status": status.value}

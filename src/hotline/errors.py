"""Errors the whole application raises; the web layer turns each into the one error shape
`{"error": {"code", "message", "fields"?}}` and the CLI into an exit code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict


def N_(message: str) -> str:
    """Mark an error message for extraction: messages are English message ids, translated
    where they are shown (pages in the page's language, the API by Accept-Language)."""
    return message


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class AppError(Exception):
    code = "error"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        fields: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or []
        self.headers = headers or {}


class InvalidInput(AppError):
    code = "invalid_input"
    status = 422


class MalformedBody(AppError):
    code = "malformed_json"
    status = 400


class UnsupportedMediaType(AppError):
    code = "unsupported_media_type"
    status = 415


class PayloadTooLarge(AppError):
    code = "payload_too_large"
    status = 413


class NotFound(AppError):
    code = "not_found"
    status = 404


class Conflict(AppError):
    code = "conflict"
    status = 409


class Unauthorized(AppError):
    code = "unauthorized"
    status = 401


class Forbidden(AppError):
    code = "forbidden"
    status = 403


class RateLimited(AppError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = retry_after


# -- the shape, declared for the OpenAPI schema (and checked against it by tests/fuzz) -------


class ErrorFieldModel(BaseModel):
    model_config = ConfigDict(extra="forbid", title="ErrorField")
    field: str
    message: str


class ErrorDetailModel(BaseModel):
    model_config = ConfigDict(extra="forbid", title="ErrorDetail")
    code: str
    message: str
    fields: list[ErrorFieldModel] | None = None  # present only when a field is named
    incident: str | None = None  # only on a 500: the id to quote


class ErrorBody(BaseModel):
    """`{"error": {"code", "message", "fields"?}}`: every JSON error, whatever its status."""

    model_config = ConfigDict(
        extra="forbid",
        title="Error",
        json_schema_extra={
            "example": {
                "error": {
                    "code": "invalid_input",
                    "message": "the request has problems; nothing was stored",
                    "fields": [{"field": "pdq", "message": "must be 64 hexadecimal digits"}],
                }
            }
        },
    )
    error: ErrorDetailModel


_MEANING = {
    400: "The body is not JSON, not UTF-8, or nests too deep",
    401: "No valid key or signature",
    403: "Not within this key's scopes",
    404: "Nothing at this address",
    409: "Conflicts with what is stored",
    413: "The body or upload is too large",
    415: "Not a media type this endpoint takes",
    422: "The request has problems; fields names each",
    429: "Too many requests; see Retry-After",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or router: each status answered in the one error shape."""
    return {s: {"model": ErrorBody, "description": _MEANING.get(s, "Error")} for s in statuses}

"""Errors the whole application raises; the web layer turns each into the one error shape
`{"error": {"code", "message", "fields"?}}` and the CLI into an exit code."""

from __future__ import annotations

from dataclasses import dataclass


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

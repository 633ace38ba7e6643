"""Errors the whole application raises; the web layer turns each into the one error shape
`{"error": {"code", "message", "fields"?}}` and the CLI into an exit code."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict


class Message(str):
    """A message id with values: it reads as its English text with the values filled in (what
    the CLI, logs and any code that passes it on see), and keeps `id` and `params` so that
    where it is shown the id is translated first and the values filled in after."""

    id: str
    params: Mapping[str, object]

    def __new__(cls, message_id: str, params: Mapping[str, object]) -> Message:
        text = super().__new__(cls, message_id % params if params else message_id)
        text.id, text.params = message_id, dict(params)
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        return (Message, (self.id, self.params))


def N_(message: str, /, **params: object) -> str:
    """Mark an error message for extraction: messages are English message ids, translated
    where they are shown (pages in the page's language, the API by Accept-Language). Values
    go in as `%(name)s` placeholders, never into the id itself:
    `N_("must be at most %(max)s characters", max=limit)`."""
    return Message(message, params) if params else message


def passed_on(message: str) -> str:
    """`message` to be used as another message's value (a reason given after a colon): it is
    then translated there too, where a plain string value is shown as it is."""
    return message if isinstance(message, Message) else Message(message, {})


def translate(message: str, gettext: Callable[[str], str]) -> str:
    """`message` in the language `gettext` speaks: the id translated, then its values filled
    in (a translation that lost a placeholder falls back to the English text)."""
    if not message:
        return message
    if not isinstance(message, Message) or not message.params:
        return gettext(message.id if isinstance(message, Message) else message)
    # A value that is itself a message (a reason passed on) is translated too; names and
    # numbers are shown as they are.
    params = {
        key: translate(value, gettext) if isinstance(value, Message) else value
        for key, value in message.params.items()
    }
    try:
        return gettext(message.id) % params
    except (KeyError, ValueError, TypeError):
        return str.__str__(message)


class TranslatableError(Exception):
    """An exception raised with one message id (marked with N_): its `str()` is that message,
    values and all, so `FieldError(name, str(exc))` is still translated where it is shown
    (a plain exception's `str()` would keep only the English text)."""

    def __str__(self) -> str:
        first = self.args[0] if len(self.args) == 1 else None
        return first if isinstance(first, str) else super().__str__()


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str  # an id marked with N_ (with its values, if any)


class AppError(TranslatableError):
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

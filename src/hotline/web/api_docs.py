"""The API's own documentation: the OpenAPI document as the API really answers, and Swagger UI
served from the package's static files (vendored swagger-ui-dist, no CDN). Its start-up script
is a file (`static/api-docs.js`), so the page runs under the site's CSP unchanged.

The routes declare their bodies and answers; this module adds what holds for all of them: the
ways to authenticate, and the one error shape (`hotline.errors.ErrorBody`) as every error
answer, where FastAPI would otherwise document its own `detail`/HTTPValidationError.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse

DOCS_PATH = "/api/docs"
OPENAPI_PATH = "/api/openapi.json"
ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}

MEMBER_KEY = "memberKey"
PARTNER_SIGNATURE = "partnerSignature"
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    MEMBER_KEY: {
        "type": "http",
        "scheme": "bearer",
        "description": "A member platform's API key (`hotline member key create`), sent as "
        "`Authorization: Bearer <key>`. Its scopes decide which lists it may search and "
        "download.",
    },
    PARTNER_SIGNATURE: {
        "type": "apiKey",
        "in": "header",
        "name": "X-Hotline-Signature",
        "description": "A partner hotline's Ed25519 signature over the request, with "
        "X-Hotline-Partner, X-Hotline-Key, X-Hotline-Timestamp and X-Hotline-Nonce "
        "(docs/takedown.md). Not something to try from this page.",
    },
}
# Which scheme an operation's tag calls for; an operation that sets `security` itself (a
# public one sets it empty) keeps its own.
SECURITY_BY_TAG = {
    "match": MEMBER_KEY,
    "hma": MEMBER_KEY,
    "lists": MEMBER_KEY,
    "exchange": PARTNER_SIGNATURE,
}
_DEFAULT_ERROR = (
    "Any other error, in the same shape. A 500 says nothing internal and carries "
    "`error.incident`, an id to quote."
)
_DROPPED_SCHEMAS = ("HTTPValidationError", "ValidationError")
DESCRIPTION = (
    "Reports from the public, hash matching and signed hash lists for member platforms, and "
    "the exchange between partner hotlines.\n\n"
    "**Authentication.** Member operations take a member key as `Authorization: Bearer <key>` "
    "(use *Authorize* on this page); reports need none.\n\n"
    "**Errors.** Every error, whatever its status, has one shape: "
    '`{"error": {"code", "message", "fields"?}}`; `fields` names each field with a '
    "problem. A 429 carries `Retry-After`."
)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hotline API</title>
<link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi="{openapi}"><a href="{openapi}">openapi.json</a></div>
<script src="/static/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


def _is_error(status: str) -> bool:
    return status == "default" or status[:1] in ("4", "5")


def _error_answer(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """`document` (FastAPI's) with the security schemes and the one error shape filled in."""
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    schemas = components.setdefault("schemas", {})
    for name in _DROPPED_SCHEMAS:
        schemas.pop(name, None)
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if "security" not in operation:
                scheme = next(
                    (SECURITY_BY_TAG[t] for t in operation.get("tags", ()) if t in SECURITY_BY_TAG),
                    None,
                )
                if scheme is not None:
                    operation["security"] = [{scheme: []}]
            responses = operation.setdefault("responses", {})
            for status, answer in responses.items():
                if _is_error(str(status)):
                    # FastAPI's own 422 (HTTPValidationError) is never what we answer.
                    answer["content"] = {"application/json": {"schema": ERROR_REF}}
            responses.setdefault("default", _error_answer(_DEFAULT_ERROR))
    return document


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, built once."""
    if app.openapi_schema is None:
        app.openapi_schema = complete(
            get_openapi(
                title=app.title,
                version=app.version,
                description=DESCRIPTION,
                routes=app.routes,
            )
        )
    return app.openapi_schema


def docs_page() -> HTMLResponse:
    """Swagger UI for this API: try the match API with a member key."""
    return HTMLResponse(_PAGE.replace("{openapi}", OPENAPI_PATH))


def install(app: FastAPI) -> None:
    """Serve the completed OpenAPI document and the docs page (create the app with
    `docs_url=None`, `openapi_url=OPENAPI_PATH`)."""
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    app.add_api_route(DOCS_PATH, docs_page, methods=["GET"], include_in_schema=False)

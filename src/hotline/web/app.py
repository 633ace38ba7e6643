"""The application factory: settings in, a FastAPI app out. Settings decide what is mounted."""

from __future__ import annotations

import gc
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware, DispatchFunction
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hotline import __version__
from hotline.assess.fetcher import fetch_policy_from
from hotline.assess.hosting_setup import build_resolvers
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import N_, AppError, FieldError, InvalidInput, translate
from hotline.grading.media_store import MediaStore
from hotline.security import sessions
from hotline.security.audit_keys import audit_key, use_key
from hotline.security.crypto import derive_key, sealer_for
from hotline.security.permissions import Actor
from hotline.security.ratelimit import build_limiter, collect_states
from hotline.security.users import to_user
from hotline.web import api_docs, csrf, i18n, labels, request_meta, validation_messages
from hotline.web import warm_up as warm_up_module
from hotline.web.deps import LoginRequired, SecondFactorRequired, cookie_secure
from hotline.web.templating import render, templates
from hotline.web.warm_up import WarmUp

log = logging.getLogger("hotline.web")
labels.install(templates.env)  # `|label`, `|datetime`, `|date` on every page

_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
    "script-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
}

# What Starlette's own refusals (no route, wrong method, an unreadable form) say.
_HTTP_MESSAGES = {
    400: N_("the request could not be read"),
    404: N_("there is nothing at this address"),
    405: N_("this address does not take that method"),
}


def error_body(code: str, message: str, fields: list[FieldError] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = [{"field": f.field, "message": f.message} for f in fields]
    return {"error": error}


# JSON paths: the API, health checks, and the HMA-compatible lookup (`/m/`, `/c/`).
_JSON_PREFIXES = ("/api/", "/healthz", "/m/", "/c/")
# The HMA-compatible paths as a client with a trailing "/" on its base URL writes them.
_DOUBLED_HMA_PREFIXES = ("//m/", "//c/")
# Those answered with `Cache-Control: no-store` (member data).
_NO_STORE_PREFIXES = ("/api/", "/m/", "/c/")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(_JSON_PREFIXES)


def _translator(request: Request) -> Callable[[str], str]:
    """Error messages are English message ids (marked with `N_`, values as `%(name)s`): pages
    show them in the page's language, the JSON API in the one Accept-Language asks for (its
    `code` is stable). The id is translated first, then its values filled in."""
    if _wants_json(request):
        locale = i18n.negotiate(None, None, request.headers.get("accept-language"))
        gettext = i18n.translations(locale).gettext
    else:
        gettext = i18n.gettext_
    return lambda message: translate(message, gettext)


def _error_response(request: Request, exc: AppError) -> Response:
    translate = _translator(request)
    message = translate(exc.message)
    fields = [FieldError(f.field, translate(f.message)) for f in exc.fields]
    if _wants_json(request):
        return JSONResponse(error_body(exc.code, message, fields), exc.status, headers=exc.headers)
    if isinstance(exc, LoginRequired):
        return RedirectResponse(f"/staff/login?next={request.url.path}", status_code=303)
    if isinstance(exc, SecondFactorRequired):
        return RedirectResponse("/staff/2fa", status_code=303)
    response = render(
        request,
        "error.html",
        {"status": exc.status, "message": message, "fields": fields},
        status_code=exc.status,
    )
    response.headers.update(exc.headers)
    return response


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        return _error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        fields = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            fields.append(FieldError(".".join(loc) or "body", validation_messages.message_for(err)))
        return _error_response(
            request, InvalidInput(N_("the request has problems; nothing was stored"), fields=fields)
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = _STATUS_CODES.get(exc.status_code, "error")
        # Starlette's own details are English phrases: each status has a message id instead.
        message = _HTTP_MESSAGES.get(exc.status_code, N_("the request could not be handled"))
        error = AppError(message, headers=dict(exc.headers or {}))
        error.code, error.status = code, exc.status_code
        return _error_response(request, error)


def _load_actor(request: Request, db: Database, token: str) -> None:
    with db.read() as session:
        found = sessions.lookup(session, token)
        if found is None:
            return
        staff_session, user_row = found
        user, mfa_passed = to_user(user_row), staff_session.mfa_passed
    request.state.user = user
    request.state.session_token = token
    request.state.actor = Actor(user.id, user.username, user.roles, mfa_passed)


def _crash_response(method: str, path: str, gettext: Callable[[str], str]) -> JSONResponse:
    """The 500 for an unhandled error: an incident id to quote, nothing internal."""
    incident = secrets.token_hex(8)
    log.exception("incident %s: unhandled error on %s %s", incident, method, path)
    message = N_("something went wrong on our side; the incident id is %(id)s", id=incident)
    body = error_body("internal_error", translate(message, gettext))
    body["error"]["incident"] = incident
    return JSONResponse(body, status_code=500)


def _raw_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


_JSON_HEADERS = _raw_headers(_SECURITY_HEADERS)
_API_HEADERS = _raw_headers({**_SECURITY_HEADERS, "Cache-Control": "no-store"})


class _RequestContext:
    """`request_context` for pages. The JSON paths (`/api/`, `/healthz`) get only their share
    of it, as plain ASGI: the same security headers and `Cache-Control`, the one error shape
    for a crash, the access log; not the locale, the staff session or the CSRF token, which
    only pages use (the JSON API takes no cookies), nor BaseHTTPMiddleware's streams and task
    group. Together those cost more CPU than the rest of a one-hash match call."""

    def __init__(self, app: ASGIApp, pages: DispatchFunction) -> None:
        self.app = app
        self.pages = BaseHTTPMiddleware(app, dispatch=pages)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if path.startswith(_DOUBLED_HMA_PREFIXES):
            # An HMA client whose base URL ends in "/" (Coop's default) asks for "//m/lookup".
            path = path[1:]
            scope = {**scope, "path": path, "raw_path": path.encode()}
        if scope["type"] != "http" or not path.startswith(_JSON_PREFIXES):
            await self.pages(scope, receive, send)
            return
        started = time.perf_counter()
        scope.setdefault("state", {}).update(user=None, actor=None, session_token=None)
        extra = _API_HEADERS if path.startswith(_NO_STORE_PREFIXES) else _JSON_HEADERS
        request_id = request_meta.request_id(scope.get("headers", ()))
        limits = collect_states()  # the rate limits counted while answering, for the headers
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in extra if h[0] not in present)
                headers.append((request_meta.REQUEST_ID, request_id))
                headers.extend(request_meta.limit_headers(limits))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if status:  # the answer has begun: nothing left to replace it with
                raise
            accept = dict(scope.get("headers", ())).get(b"accept-language", b"")
            locale = i18n.negotiate(None, None, accept.decode("latin-1"))
            crash = _crash_response(scope["method"], path, i18n.translations(locale).gettext)
            await crash(scope, receive, send_with_headers)
        # Access log without client addresses: reporters stay anonymous.
        log.info(
            "%s %s %s %.1fms", scope["method"], path, status, (time.perf_counter() - started) * 1000
        )


def _install_request_context(app: FastAPI, settings: Settings, db: Database) -> None:
    csrf_key = derive_key(settings.secret, "csrf")

    async def request_context(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        request.state.user = None
        request.state.actor = None
        request.state.session_token = None
        query_lang = request.query_params.get("lang")
        locale = i18n.negotiate(
            query_lang, request.cookies.get("lang"), request.headers.get("accept-language")
        )
        i18n.set_locale(locale)
        token = request.cookies.get(sessions.COOKIE_NAME)
        if token:
            # A database read: off the event loop, like every other blocking call.
            await run_in_threadpool(_load_actor, request, db, token)
        csrf_cookie = request.cookies.get(csrf.COOKIE_NAME) or ""
        new_csrf_cookie = not csrf_cookie or len(csrf_cookie) > 64
        if new_csrf_cookie:
            csrf_cookie = csrf.new_cookie_value()
        request.state.csrf_token = csrf.token_for(
            csrf_key, csrf_cookie, request.state.session_token
        )
        try:
            response = await call_next(request)
        except Exception:
            response = _crash_response(request.method, request.url.path, i18n.gettext_)
        secure = cookie_secure(request, settings)
        if new_csrf_cookie and not _wants_json(request):  # the JSON API takes no cookies
            response.set_cookie(
                csrf.COOKIE_NAME, csrf_cookie, httponly=True, samesite="strict", secure=secure
            )
        if query_lang and query_lang in i18n.SUPPORTED_LOCALES:
            response.set_cookie(
                "lang", query_lang, max_age=365 * 86400, samesite="lax", secure=secure
            )
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith("/staff") or request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        # Access log without client addresses: reporters stay anonymous.
        log.info(
            "%s %s %s %.1fms",
            request.method,
            request.url.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response

    app.add_middleware(_RequestContext, pages=request_context)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.warm_up.start()  # on a thread: /healthz/live answers meanwhile, ready waits
    yield


def create_app(
    settings: Settings, db: Database | None = None, *, warm_up: WarmUp | None = None
) -> FastAPI:
    """Build the app. The database must already be migrated (`hotline serve` does that).
    `warm_up`: what must finish before `/healthz/ready` says ready (default: compile the
    kernels, once per process)."""
    db = db or Database(settings.database_url)
    use_key(db, audit_key(settings))  # every audit append through this app is keyed
    app = FastAPI(
        title="hotline",
        version=__version__,
        lifespan=_lifespan,
        docs_url=None,  # our own Swagger UI page (web/api_docs.py), from our static files
        redoc_url=None,
        openapi_url=api_docs.OPENAPI_PATH if "api" in settings.mounted else None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.warm_up = warm_up or warm_up_module.KERNELS
    # Shared by every process on PostgreSQL or Redis (security/ratelimit.py).
    app.state.report_limiter = build_limiter(
        settings, db, "report", settings.report_rate_limit, settings.report_rate_window_seconds
    )
    app.state.login_limiter = build_limiter(
        settings, db, "login", settings.login_rate_limit, settings.login_rate_window_seconds
    )
    # Refused partner-exchange calls are audited; this bounds how many one client can cause.
    app.state.exchange_refusal_limiter = build_limiter(settings, db, "exchange-refusal", 20, 600)
    app.state.email_sealer = sealer_for(settings.secret, "reporter-email")
    app.state.totp_sealer = sealer_for(settings.secret, "totp-secret")
    app.state.media_store = (
        None if settings.hash_only else MediaStore(settings.data_dir / "media", settings.secret)
    )
    # Settings decide the proxy; tests replace the policy to reach their local site.
    app.state.fetch_policy = fetch_policy_from(settings)
    app.state.host_resolvers = build_resolvers(settings, app.state.fetch_policy)

    _install_error_handlers(app)
    _install_request_context(app, settings, db)
    _mount(app, settings)
    if "api" in settings.mounted:
        api_docs.install(app)
    return app


def _mount(app: FastAPI, settings: Settings) -> None:
    from hotline.web import health

    html = [Depends(csrf.csrf_guard)]
    app.include_router(health.router)
    app.mount(
        "/static",
        StaticFiles(directory=str(Path(__file__).parent / "static")),
        name="static",
    )
    if "public" in settings.mounted:
        from hotline.advice import pages as advice_pages
        from hotline.intake import pages as intake_pages
        from hotline.stats import public_pages as stats_public

        app.include_router(intake_pages.router, dependencies=html)
        app.include_router(stats_public.router, dependencies=html)
        app.include_router(stats_public.data_router)
        app.include_router(advice_pages.router, dependencies=html)
    if "api" in settings.mounted:
        from hotline.exchange import api as exchange_api
        from hotline.intake import api as intake_api
        from hotline.lists import api as lists_api
        from hotline.lists import feedback_api
        from hotline.matching import api as match_api
        from hotline.matching import hma as hma_api
        from hotline.notify import api as notify_api

        app.include_router(intake_api.router)
        app.include_router(match_api.router)
        app.include_router(hma_api.router)
        app.include_router(lists_api.router)
        app.include_router(feedback_api.router)
        app.include_router(notify_api.router)
        app.include_router(exchange_api.router)
    if "staff" in settings.mounted:
        from hotline.advice import editor as advice_editor
        from hotline.assess import pages as assess_pages
        from hotline.assess import reports_pages
        from hotline.exchange import pages as exchange_pages
        from hotline.grading import pages as grading_pages
        from hotline.lists import feed_pages, feedback_pages
        from hotline.lists import pages as lists_pages
        from hotline.matching import pages as member_pages
        from hotline.proactive import pages as proactive_pages
        from hotline.security import audit_pages, audit_search_pages
        from hotline.security import pages as security_pages
        from hotline.stats import home_pages, search_pages
        from hotline.stats import pages as stats_pages
        from hotline.takedown import case_search_pages, hosts_pages
        from hotline.takedown import pages as takedown_pages
        from hotline.taskforce import grading_pages as taskforce_grading_pages
        from hotline.taskforce import pages as taskforce_pages
        from hotline.taskforce import qa_pages as taskforce_qa_pages

        app.include_router(security_pages.router, dependencies=html)
        app.include_router(audit_search_pages.router, dependencies=html)
        app.include_router(audit_pages.router, dependencies=html)
        app.include_router(assess_pages.router, dependencies=html)
        app.include_router(reports_pages.router, dependencies=html)
        app.include_router(grading_pages.router, dependencies=html)
        app.include_router(advice_editor.editor_router, dependencies=html)
        app.include_router(hosts_pages.router, dependencies=html)
        app.include_router(case_search_pages.router, dependencies=html)  # before /{case_id}
        app.include_router(takedown_pages.router, dependencies=html)
        app.include_router(stats_pages.router, dependencies=html)
        app.include_router(home_pages.router, dependencies=html)
        app.include_router(search_pages.router, dependencies=html)
        app.include_router(exchange_pages.router, dependencies=html)
        app.include_router(feedback_pages.router, dependencies=html)
        app.include_router(feed_pages.router, dependencies=html)
        app.include_router(lists_pages.router, dependencies=html)
        app.include_router(member_pages.router, dependencies=html)
        app.include_router(taskforce_pages.router, dependencies=html)
        app.include_router(taskforce_grading_pages.router, dependencies=html)
        app.include_router(taskforce_qa_pages.router, dependencies=html)
        app.include_router(proactive_pages.router, dependencies=html)


def app_from_environment() -> FastAPI:
    """The app for one of `hotline serve --workers N`'s web processes: settings from the
    HOTLINE_* environment the supervising process set, the database already migrated."""
    from hotline.config import load_settings
    from hotline.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    settle_collector()
    return app


# Young objects per cyclic collection (CPython's default is 700).
GC_YOUNG_THRESHOLD = 20_000


def settle_collector() -> None:
    """Once the app is built: keep the cyclic garbage collector off what lives for the whole
    process (modules, classes, the app: about 200,000 objects), and run it less often.

    A full collection walks every tracked object, about 150 ms here, and stops the event loop
    and every request in flight meanwhile. Match calls with large batches allocate fast enough
    to set one off every few calls: batches of 1,000 hashes had p50 66 ms and p99 235 ms, and
    with start-up frozen and a 20,000-object young generation p99 80 ms (the same as with the
    collector off). Objects frozen here are still freed by reference counting; only cycles
    among them would never be collected, and these live until the process ends anyway."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)

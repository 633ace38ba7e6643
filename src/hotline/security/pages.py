"""Staff pages: sign in, two-factor, sign out, home and accounts (the audit log: audit_pages)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hotline.errors import N_, AppError, RateLimited
from hotline.security import actions, login_guard, sessions, totp, users
from hotline.security.permissions import Action, Actor, Role
from hotline.web.deps import (
    LoginRequired,
    client_address,
    cookie_secure,
    get_db,
    get_settings,
    require,
)
from hotline.web.flash import redirect_with_flash
from hotline.web.i18n import gettext_
from hotline.web.templating import render

router = APIRouter(prefix="/staff", include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a freshly signed-in analyst off the site."""
    if not target:
        return "/staff"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/staff"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "") -> HTMLResponse:
    return render(request, "staff/login.html", {"next": _safe_next(next), "error": None})


# One answer for a wrong password, an unknown or disabled account and an account that must
# wait: which of them it was is in the audit log, not on the page.
_SIGN_IN_REFUSED = N_(
    "Wrong username or password, or this account cannot sign in just now. "
    "After several failed attempts, wait a little before trying again."
)


# Handlers that hash passwords or write to the database are plain `def`: FastAPI runs them in
# its thread pool, so an argon2 check never stalls the event loop (and other requests).
@router.post("/login")
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form(""),
) -> Response:
    username = username.strip().lower()[:64]
    password = password[:256]
    next_url = _safe_next(next)
    settings = get_settings(request)
    retry_after = request.app.state.login_limiter.hit(client_address(request))
    if retry_after is not None:
        raise RateLimited(
            N_("Too many sign-in attempts. Wait a few minutes and try again."), retry_after
        )
    outcome = login_guard.sign_in_with_password(
        get_db(request),
        username,
        password,
        policy=login_guard.LockoutPolicy.from_settings(settings),
        two_factor_required=settings.two_factor_required,
        session_hours=settings.session_hours,
    )
    user = outcome.user
    if user is None or outcome.token is None:
        return render(
            request,
            "staff/login.html",
            {"next": next_url, "error": _SIGN_IN_REFUSED},
            status_code=401,
        )
    target = (
        next_url
        if not outcome.needs_code
        else ("/staff/2fa" if user.totp_enabled else "/staff/2fa/enrol")
    )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        sessions.COOKIE_NAME,
        outcome.token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request, settings),
    )
    return response


def _pending_user(request: Request) -> users.User:
    user = getattr(request.state, "user", None)
    if user is None:
        raise LoginRequired(N_("sign in to continue"))
    return user


@router.get("/2fa", response_class=HTMLResponse)
def second_factor_form(request: Request) -> Response:
    user = _pending_user(request)
    if not user.totp_enabled:
        return RedirectResponse("/staff/2fa/enrol", status_code=303)
    return render(
        request,
        "staff/two_factor.html",
        {"error": None, "demo": user.is_demo, "username": user.username},
    )


@router.post("/2fa")
def second_factor(request: Request, code: str = Form("")) -> Response:
    user = _pending_user(request)
    if not user.totp_enabled:
        return RedirectResponse("/staff/2fa/enrol", status_code=303)
    retry_after = request.app.state.login_limiter.hit(client_address(request))
    if retry_after is not None:
        raise RateLimited(N_("Too many attempts. Wait a few minutes and try again."), retry_after)
    ok = login_guard.check_second_factor(
        get_db(request),
        user,
        request.state.session_token,
        code[:16],
        request.app.state.totp_sealer,
        login_guard.LockoutPolicy.from_settings(get_settings(request)),
    )
    if not ok:
        return render(
            request,
            "staff/two_factor.html",
            {
                "error": N_(
                    "That code is not right, or was already used. Enter the current code; "
                    "after several wrong codes, wait a little before trying again."
                ),
                "demo": user.is_demo,
                "username": user.username,
            },
            status_code=401,
        )
    return RedirectResponse("/staff", status_code=303)


@router.get("/2fa/enrol", response_class=HTMLResponse)
def enrol_form(request: Request) -> Response:
    user = _pending_user(request)
    if user.totp_enabled:
        return RedirectResponse("/staff/2fa", status_code=303)
    sealer = request.app.state.totp_sealer
    with get_db(request).write() as session:
        secret = users.pending_totp_secret(session, user.id, sealer)
        if secret is None:
            secret = users.begin_totp_enrolment(session, user.id, sealer)
    return render(
        request,
        "staff/enrol.html",
        {"secret": secret, "uri": totp.provisioning_uri(secret, user.username), "error": None},
    )


@router.post("/2fa/enrol")
def enrol(request: Request, code: str = Form("")) -> Response:
    user = _pending_user(request)
    code = code[:16]
    sealer = request.app.state.totp_sealer
    with get_db(request).write() as session:
        ok = actions.enrol_two_factor(session, user, request.state.session_token, code, sealer)
        secret = users.pending_totp_secret(session, user.id, sealer) or ""
    if not ok:
        return render(
            request,
            "staff/enrol.html",
            {
                "secret": secret,
                "uri": totp.provisioning_uri(secret, user.username),
                "error": N_("That code is not right. Check your authenticator app's clock."),
            },
            status_code=401,
        )
    return RedirectResponse("/staff", status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    token = request.state.session_token
    if token:
        with get_db(request).write() as session:
            actions.sign_out(session, token, request.state.user)
    response = RedirectResponse("/staff/login", status_code=303)
    response.delete_cookie(sessions.COOKIE_NAME)
    return response


@router.get("/users", response_class=HTMLResponse)
def user_list(request: Request, actor: Actor = Depends(require(Action.users_manage))) -> Response:
    with get_db(request).write() as session:
        context = _accounts_context(request, session, actor)
    return render(
        request, "staff/users.html", context | {"errors": {}, "change_errors": {}, "values": {}}
    )


def _accounts_context(request: Request, session: Session, actor: Actor) -> dict[str, object]:
    """The accounts, plus the lockout notice: accounts whose sign-in waits have begun."""
    policy = login_guard.LockoutPolicy.from_settings(get_settings(request))
    return {
        "accounts": actions.list_users(session, actor),
        "roles": list(Role),
        "guarded": login_guard.accounts_with_failures(session, policy),
        "me": actor.username,  # no buttons on your own row: the actions refuse it
    }


@router.post("/users", response_class=HTMLResponse)
def user_add(
    request: Request,
    actor: Actor = Depends(require(Action.users_manage)),
    username: str = Form(""),
    display_name: str = Form(""),
    password: str = Form(""),
    roles: list[str] = Form([]),
) -> Response:
    values = {"username": username, "display_name": display_name}
    try:
        with get_db(request).write() as session:
            actions.create_user(
                session, actor, username, password, roles, display_name=display_name
            )
    except AppError as exc:
        return _accounts_with_errors(request, actor, exc, "errors", values)
    return redirect_with_flash(request, "/staff/users", "user.created")


def _accounts_with_errors(
    request: Request, actor: Actor, exc: AppError, key: str, values: dict[str, str]
) -> Response:
    """The accounts page again, the action's refusal shown beside the form that caused it."""
    with get_db(request).write() as session:
        context = _accounts_context(request, session, actor)
    errors = {f.field: gettext_(f.message) for f in exc.fields} or {
        "username": gettext_(exc.message)
    }
    return render(
        request,
        "staff/users.html",
        context | {"errors": {}, "change_errors": {}, "values": values} | {key: errors},
        status_code=exc.status,
    )


@router.post("/users/roles", response_class=HTMLResponse)
def user_set_roles(
    request: Request,
    actor: Actor = Depends(require(Action.users_manage)),
    username: str = Form(""),
    roles: list[str] = Form([]),
) -> Response:
    try:
        with get_db(request).write() as session:
            actions.set_roles(session, actor, username, roles)
    except AppError as exc:
        return _accounts_with_errors(request, actor, exc, "change_errors", {})
    return redirect_with_flash(request, "/staff/users", "user.roles_set")


@router.post("/users/password", response_class=HTMLResponse)
def user_reset_password(
    request: Request,
    actor: Actor = Depends(require(Action.users_manage)),
    username: str = Form(""),
    password: str = Form(""),
) -> Response:
    try:
        with get_db(request).write() as session:
            actions.reset_password(session, actor, username, password[:256])
    except AppError as exc:
        return _accounts_with_errors(request, actor, exc, "change_errors", {})
    return redirect_with_flash(request, "/staff/users", "user.password_reset")


@router.post("/users/{username}/disable")
def user_disable(
    username: str, request: Request, actor: Actor = Depends(require(Action.users_manage))
) -> Response:
    with get_db(request).write() as session:
        actions.disable_user(session, actor, username)
    return redirect_with_flash(request, "/staff/users", "user.disabled")


@router.post("/users/{username}/enable")
def user_enable(
    username: str, request: Request, actor: Actor = Depends(require(Action.users_manage))
) -> Response:
    with get_db(request).write() as session:
        actions.enable_user(session, actor, username)
    return redirect_with_flash(request, "/staff/users", "user.enabled")


@router.post("/users/{username}/reset-2fa")
def user_reset_two_factor(
    username: str, request: Request, actor: Actor = Depends(require(Action.users_manage))
) -> Response:
    with get_db(request).write() as session:
        actions.reset_two_factor(session, actor, username)
    return redirect_with_flash(request, "/staff/users", "user.two_factor_reset")


@router.post("/users/{username}/clear-failures")
def user_clear_failures(
    username: str, request: Request, actor: Actor = Depends(require(Action.users_manage))
) -> Response:
    with get_db(request).write() as session:
        actions.clear_failures(session, actor, username)
    return redirect_with_flash(request, "/staff/users", "user.failures_cleared")

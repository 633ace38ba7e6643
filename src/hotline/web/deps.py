"""Request-scoped plumbing shared by routes: database, settings, the signed-in actor."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import N_, AppError, Forbidden
from hotline.security.permissions import Action, Actor, allowed


class LoginRequired(AppError):
    code = "login_required"
    status = 401


class SecondFactorRequired(AppError):
    code = "second_factor_required"
    status = 401


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def current_actor(request: Request) -> Actor | None:
    return getattr(request.state, "actor", None)


def require(action: Action) -> Callable[[Request], Actor]:
    """A dependency that returns the actor if `allowed(actor, action)`, else refuses."""

    def dependency(request: Request) -> Actor:
        actor = current_actor(request)
        if actor is None:
            raise LoginRequired(N_("sign in to continue"))
        if not actor.mfa_passed:
            raise SecondFactorRequired(N_("enter your two-factor code to continue"))
        if not allowed(actor, action):
            raise Forbidden(N_("your role does not allow this"))
        return actor

    return dependency


def client_address(request: Request) -> str:
    # Uvicorn rewrites request.client from X-Forwarded-For only for trusted proxies.
    return request.client.host if request.client else "unknown"


def cookie_secure(request: Request, settings: Settings) -> bool:
    """The Secure flag for cookies: on behind TLS (scheme https, as uvicorn sees it after a
    trusted proxy's X-Forwarded-Proto), or as the setting forces."""
    if settings.cookie_secure.value == "always":
        return True
    if settings.cookie_secure.value == "never":
        return False
    return request.url.scheme == "https"

"""CSRF protection for every HTML form.

Each browser gets a random `hotline_csrf` cookie; a form's token is HMAC(key, cookie + staff
session), so a token is useless without the cookie and another site can read neither. The
guard is a router-level dependency on every HTML router, so no POST route can forget it.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Depends, Request
from starlette.datastructures import FormData

from hotline.errors import N_, Forbidden
from hotline.security.crypto import hmac_hex

COOKIE_NAME = "hotline_csrf"
FIELD_NAME = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfFailed(Forbidden):
    code = "csrf_failed"


def new_cookie_value() -> str:
    return secrets.token_urlsafe(24)


def token_for(key: bytes, cookie_value: str, session_token: str | None) -> str:
    return hmac_hex(key, f"{cookie_value}|{session_token or ''}")


async def csrf_guard(request: Request) -> None:
    # Async only to await the body; the check itself is one HMAC comparison.
    if request.method in _SAFE_METHODS:
        return
    form = await request.form()
    sent = form.get(FIELD_NAME)
    expected = getattr(request.state, "csrf_token", "")
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise CsrfFailed(
            N_(
                "This form has expired or was not sent from this site. Go back, reload the page "
                "and try again."
            )
        )


async def posted_form(request: Request) -> FormData:
    """The request's form, read on the event loop (reading awaits the body; Starlette keeps
    it, so the CSRF guard and the handler share one parse). Handlers that take it through
    `PostedForm` can be plain `def`: FastAPI runs those in its thread pool, so their database
    writes and password hashing never stall the loop and every other request with it."""
    return await request.form()


PostedForm: FormData = Depends(posted_form)

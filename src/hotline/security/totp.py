"""TOTP (RFC 6238) two-factor codes, refusing a code's reuse within its time step."""

from __future__ import annotations

import time

import pyotp

ISSUER = "hotline"
_STEP_SECONDS = 30
_VALID_WINDOW = 1  # accept the previous and next step too (clock drift)


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def current_code(secret: str, at: float | None = None) -> str:
    return pyotp.TOTP(secret).at(at if at is not None else time.time())


def verify(secret: str, code: str, last_step: int, at: float | None = None) -> int | None:
    """Return the time step the code belongs to if it is valid and newer than `last_step`."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    now = at if at is not None else time.time()
    totp = pyotp.TOTP(secret)
    current = int(now // _STEP_SECONDS)
    for step in range(current - _VALID_WINDOW, current + _VALID_WINDOW + 1):
        if step > last_step and totp.at(step * _STEP_SECONDS) == code:
            return step
    return None

"""Headers every JSON answer carries besides the security ones: `X-Request-ID` (the caller's
own, when it is sane, else one made here, so a member can quote it and we can find the call)
and, where a rate limit was counted, `RateLimit-Limit`, `RateLimit-Remaining` and
`RateLimit-Reset` (seconds), the draft IETF names without the `X-` (docs/matching.md)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence

from hotline.security.ratelimit import LimitState

REQUEST_ID = b"x-request-id"
# Letters, digits and a little punctuation, 1-128 characters: echoed into a header and a log
# line, so nothing that could split either.
_SANE = re.compile(rb"^[A-Za-z0-9._:@+=/-]{1,128}$")


def request_id(raw_headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """The caller's X-Request-ID if sane, else a new random one (32 hex digits)."""
    for name, value in raw_headers:
        if name.lower() == REQUEST_ID:
            value = value.strip()
            if _SANE.match(value):
                return value
            break
    return secrets.token_hex(16).encode()


def limit_headers(states: Sequence[LimitState]) -> list[tuple[bytes, bytes]]:
    """The headers for the tightest limit counted (none if none was)."""
    if not states:
        return []
    tightest = min(states, key=lambda s: (s.remaining, -s.reset))
    return [
        (b"ratelimit-limit", str(tightest.limit).encode()),
        (b"ratelimit-remaining", str(tightest.remaining).encode()),
        (b"ratelimit-reset", str(tightest.reset).encode()),
    ]

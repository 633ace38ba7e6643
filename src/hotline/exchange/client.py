"""Signed calls to a partner's instance, through the SSRF-guarded transport, sorted into what
the jobs need to know: delivered, try again later, or retrying cannot help."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx

from hotline.assess.fetch_errors import FetchError, FetchErrorCode
from hotline.assess.fetcher import FetchPolicy, SafeTransport
from hotline.assess.netguard import reset_deadline, set_deadline
from hotline.exchange import protocol
from hotline.exchange.keys import Identity
from hotline.exchange.partners import Partner

MAX_ANSWER_BYTES = 64 * 1024
# Statuses that say "not now" rather than "no": overloaded, rate-limited, restarting.
_TEMPORARY = frozenset({408, 425, 429})
# Fetch errors that retrying cannot fix: the address is refused or malformed.
_PERMANENT_FETCH = frozenset({FetchErrorCode.BLOCKED_ADDRESS, FetchErrorCode.BAD_URL})


class Outcome(StrEnum):
    ok = "ok"
    temporary = "temporary"
    permanent = "permanent"


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    status: int | None  # HTTP status, None when no answer came
    body: dict[str, Any]
    error: str | None = None  # for people: what went wrong


def _error_text(status: int, body: dict[str, Any]) -> str:
    error = body.get("error") if isinstance(body.get("error"), dict) else None
    if error:
        return f"partner answered {status}: {error.get('code')}: {str(error.get('message'))[:300]}"
    return f"partner answered {status}"


def _read(response: httpx.Response) -> dict[str, Any]:
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) > MAX_ANSWER_BYTES:
            return {}
    try:
        parsed = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def post(
    policy: FetchPolicy,
    identity: Identity,
    sender: str,
    partner: Partner,
    path: str,
    payload: dict[str, Any],
    timeout_s: float,
) -> Answer:
    """POST `payload` to the partner at `path`, signed as `sender`."""
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    try:
        headers = protocol.sign(
            identity.private,
            identity.key_id,
            sender=sender,
            recipient=partner.name,
            method="POST",
            path=path,
            body=body,
            timestamp=int(time.time()),
        )
    except ValueError as exc:  # our own name cannot travel: configuration, not the network
        return Answer(Outcome.permanent, None, {}, str(exc))
    headers["Content-Type"] = "application/json"
    # The transport bounds each socket operation; the deadline bounds the whole call.
    token = set_deadline(time.monotonic() + timeout_s)
    try:
        with (
            httpx.Client(
                transport=SafeTransport(policy), timeout=timeout_s, trust_env=False
            ) as client,
            client.stream("POST", partner.url_for(path), content=body, headers=headers) as resp,
        ):
            status, answer = resp.status_code, _read(resp)
    except FetchError as exc:
        outcome = Outcome.permanent if exc.code in _PERMANENT_FETCH else Outcome.temporary
        return Answer(outcome, None, {}, f"could not reach the partner: {exc}")
    except httpx.HTTPError as exc:
        return Answer(Outcome.temporary, None, {}, f"could not reach the partner: {exc}")
    finally:
        reset_deadline(token)
    if 200 <= status < 300:
        return Answer(Outcome.ok, status, answer)
    outcome = Outcome.temporary if status >= 500 or status in _TEMPORARY else Outcome.permanent
    return Answer(outcome, status, answer, _error_text(status, answer))

"""Delivering a notice: email over SMTP, or a signed JSON POST to the host's webhook.

Every failure is a `DeliveryError` that says whether trying again can help (`temporary`):
the caller retries temporary ones with backoff and flags permanent ones to staff at once.

Webhooks go through the safe fetcher's transport, so a host's endpoint can never be a private
address (SSRF), and are signed like Stripe's: `X-Hotline-Signature: t=<unix>,v1=<hex>`, the
HMAC-SHA256 of `f"{t}."` + body under the provider's secret. Receivers check it with
`verify_webhook`, which also refuses stale timestamps (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import ssl
import time
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

import httpx

from hotline.assess.fetch_errors import FetchError, FetchErrorCode
from hotline.assess.fetcher import FetchPolicy, SafeTransport
from hotline.assess.netguard import parse_target, reset_deadline, set_deadline
from hotline.config import Settings
from hotline.db.base import utcnow

SIGNATURE_HEADER = "X-Hotline-Signature"
TIMESTAMP_HEADER = "X-Hotline-Timestamp"
# Statuses that say "later", not "never" (RFC 9110: request timeout, too many requests).
_TEMPORARY_4XX = frozenset({408, 425, 429})
# The safe fetcher's refusals: the address itself is wrong, so retrying cannot help.
_PERMANENT_FETCH = frozenset({FetchErrorCode.BLOCKED_ADDRESS, FetchErrorCode.BAD_URL})


class DeliveryError(Exception):
    """A notice was not delivered. `temporary`: a later attempt may succeed. `refused`: the
    safe fetcher would not call the address (a private one: SSRF), so nothing was sent."""

    def __init__(self, message: str, *, temporary: bool, refused: bool = False) -> None:
        super().__init__(message)
        self.temporary = temporary
        self.refused = refused


# -- email -----------------------------------------------------------------------------------


def _reply(code: int, text: bytes | str) -> str:
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(detail.split())[:200]}"


def send_email(settings: Settings, message: EmailMessage) -> str:
    """Send over SMTP; returns the Message-ID (set here if the message has none)."""
    if not settings.smtp_host:
        raise DeliveryError("no SMTP server is configured (set HOTLINE_SMTP_HOST)", temporary=False)
    if message["Message-ID"] is None:
        domain = settings.mail_from.rpartition("@")[2] or "localhost"
        message["Message-ID"] = make_msgid(domain=domain)
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            smtp.send_message(message, from_addr=settings.mail_from)
    except smtplib.SMTPRecipientsRefused as exc:
        replies = list(exc.recipients.values())
        permanent = all(code >= 500 for code, _ in replies)
        said = "; ".join(_reply(code, text) for code, text in replies)
        raise DeliveryError(
            f"{where} refused the recipient: {said}", temporary=not permanent
        ) from None
    except smtplib.SMTPResponseException as exc:  # sender refused, data refused, auth, greeting
        raise DeliveryError(
            f"{where} answered {_reply(exc.smtp_code, exc.smtp_error)}",
            temporary=400 <= exc.smtp_code < 500,
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        # STARTTLS or AUTH asked of a server that does not offer it: configuration, not luck.
        raise DeliveryError(f"{where}: {exc}", temporary=False) from None
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryError(
            f"{where}: TLS certificate not trusted ({exc.verify_message})", temporary=False
        ) from None
    except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timed out, DNS
        reason = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
        raise DeliveryError(f"could not talk to {where}: {reason}", temporary=True) from None
    return str(message["Message-ID"])


# -- webhooks --------------------------------------------------------------------------------


def sign_webhook(secret: bytes, timestamp: int, body: bytes) -> str:
    """The X-Hotline-Signature value for this body at this time: 't=<unix>,v1=<hex>'."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_webhook(secret: bytes, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """For receivers: True when `header` signs `body` with `secret` and its timestamp is
    within `tolerance` seconds of `now`. Several v1 values (during a secret change) are
    accepted if any one matches; comparison is constant-time."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance:
        return False
    expected = sign_webhook(secret, timestamp, body).partition(",v1=")[2]
    found = False
    for candidate in candidates:  # no early exit: time does not depend on which one matched
        found |= hmac.compare_digest(candidate.encode(), expected.encode())
    return found


def _status_error(url: str, status: int) -> DeliveryError:
    if status >= 500 or status in _TEMPORARY_4XX:
        return DeliveryError(f"{url} answered HTTP {status}", temporary=True)
    if 300 <= status < 400:
        return DeliveryError(
            f"{url} answered HTTP {status} (a redirect; webhooks are not redirected: "
            "correct the address in the directory)",
            temporary=False,
        )
    return DeliveryError(f"{url} answered HTTP {status}", temporary=False)


def send_webhook(
    settings: Settings,
    fetch_policy: FetchPolicy,
    url: str,
    secret: bytes,
    body: bytes,
    now: datetime | None = None,
) -> None:
    """POST a signed JSON notice. Returns on any 2xx; raises DeliveryError otherwise."""
    try:
        target = parse_target(url).url
    except FetchError as exc:
        raise DeliveryError(f"bad webhook address: {exc.message}", temporary=False) from None
    timestamp = int((now or utcnow()).timestamp())
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign_webhook(secret, timestamp, body),
        "User-Agent": f"hotline-notice ({settings.organisation_name})",
    }
    limit = settings.webhook_timeout_seconds
    # The transport bounds each socket step; the deadline bounds the whole exchange, so an
    # endpoint that trickles bytes cannot hold a worker past the timeout.
    token = set_deadline(time.monotonic() + limit)
    try:
        with (
            httpx.Client(
                transport=SafeTransport(fetch_policy),
                trust_env=False,
                timeout=limit,
                follow_redirects=False,
            ) as client,
            client.stream("POST", target, content=body, headers=headers) as response,
        ):
            status = response.status_code  # the body is not read: only the status matters
    except FetchError as exc:
        raise DeliveryError(
            f"webhook {target}: {exc}",
            temporary=exc.code not in _PERMANENT_FETCH,
            refused=exc.code is FetchErrorCode.BLOCKED_ADDRESS,
        ) from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook {target}: {type(exc).__name__}", temporary=True) from None
    finally:
        reset_deadline(token)
    if not 200 <= status < 300:
        raise _status_error(target, status)

"""The signed request between partner hotlines: what is signed, the headers, and the checks.

Pure: no HTTP framework, no database. A request is signed over one canonical string,

    hotline-exchange-v1 \\n METHOD \\n PATH \\n TIMESTAMP \\n NONCE \\n SENDER \\n RECIPIENT \\n
    SHA-256(body) hex

with the sender's Ed25519 key, and carries the headers below. PATH is the API path (the
endpoint's own, whatever prefix a proxy adds), so a signature for one endpoint is useless on
another. RECIPIENT (the name the receiver goes by, not sent as a header) stops a message one
partner received from being replayed to another partner that also knows the sender. The
receiver checks the partner, its key, the clock and the signature here; the nonce's
first-use check needs the database and lives in `hotline.exchange.auth`.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

VERSION = "hotline-exchange-v1"
REPORTS_PATH = "/api/v1/exchange/reports"
STATUS_PATH = "/api/v1/exchange/status"

H_PARTNER = "X-Hotline-Partner"
H_KEY = "X-Hotline-Key"
H_TIMESTAMP = "X-Hotline-Timestamp"
H_NONCE = "X-Hotline-Nonce"
H_SIGNATURE = "X-Hotline-Signature"
HEADERS = (H_PARTNER, H_KEY, H_TIMESTAMP, H_NONCE, H_SIGNATURE)

# Names travel in an HTTP header and in the signed string: printable ASCII, no newlines.
NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9 .'&()_-]{0,62}[A-Za-z0-9.)_-])?$")
_KEY_ID_RE = re.compile(r"^[0-9a-f]{16}$")
_NONCE_RE = re.compile(r"^[0-9a-f]{32}$")


class Refusal(StrEnum):
    """Why a request was refused: recorded in the audit log, never sent back in detail."""

    missing_headers = "missing_headers"
    malformed_headers = "malformed_headers"
    unknown_partner = "unknown_partner"
    disabled_partner = "disabled_partner"
    wrong_key = "wrong_key"
    stale_timestamp = "stale_timestamp"
    bad_signature = "bad_signature"
    replayed_nonce = "replayed_nonce"


class Refused(Exception):
    def __init__(self, reason: Refusal, partner: str | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.partner = partner


@dataclass(frozen=True, slots=True)
class PartnerKey:
    """What the receiver knows of a partner: enough to check its signature."""

    name: str
    key_id: str
    public_raw: bytes
    enabled: bool


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The signature headers of one request, checked for form only."""

    sender: str
    key_id: str
    timestamp: int
    nonce: str
    signature: bytes


def valid_name(name: str) -> bool:
    return bool(NAME_RE.match(name))


def new_nonce() -> str:
    """128 random bits as hex."""
    return secrets.token_hex(16)


def signing_string(
    method: str,
    path: str,
    timestamp: int,
    nonce: str,
    sender: str,
    recipient: str,
    body: bytes,
) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    parts = [VERSION, method.upper(), path, str(timestamp), nonce, sender, recipient, digest]
    return "\n".join(parts).encode()


def sign(
    private: Ed25519PrivateKey,
    key_id: str,
    *,
    sender: str,
    recipient: str,
    method: str,
    path: str,
    body: bytes,
    timestamp: int,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers that authenticate this request. ValueError for a name that cannot travel."""
    for name in (sender, recipient):
        if not valid_name(name):
            raise ValueError(f"{name!r} cannot be used as a hotline name in the exchange")
    nonce = nonce or new_nonce()
    message = signing_string(method, path, timestamp, nonce, sender, recipient, body)
    return {
        H_PARTNER: sender,
        H_KEY: key_id,
        H_TIMESTAMP: str(timestamp),
        H_NONCE: nonce,
        H_SIGNATURE: base64.b64encode(private.sign(message)).decode(),
    }


def parse(headers: Mapping[str, str]) -> SignedRequest:
    """The signature headers, or Refused (missing or malformed)."""
    lower = {k.lower(): v for k, v in headers.items()}
    values = [lower.get(h.lower(), "").strip() for h in HEADERS]
    sender, key_id, timestamp, nonce, signature = values
    if not all(values):
        raise Refused(Refusal.missing_headers, sender or None)
    if not valid_name(sender):
        raise Refused(Refusal.malformed_headers, None)
    if not (_KEY_ID_RE.match(key_id) and _NONCE_RE.match(nonce)):
        raise Refused(Refusal.malformed_headers, sender)
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise Refused(Refusal.malformed_headers, sender)
    try:
        raw = base64.b64decode(signature, validate=True)
    except ValueError as exc:
        raise Refused(Refusal.malformed_headers, sender) from exc
    if len(raw) != 64:
        raise Refused(Refusal.malformed_headers, sender)
    return SignedRequest(sender, key_id, int(timestamp), nonce, raw)


def verify(
    request: SignedRequest,
    partner: PartnerKey | None,
    *,
    method: str,
    path: str,
    recipient: str,
    body: bytes,
    now: int,
    skew_seconds: int,
) -> None:
    """Refused unless `partner` is known and enabled, the key id is theirs, the timestamp is
    within `skew_seconds` of `now` either way, and the signature covers this exact request."""
    name = request.sender
    if partner is None:
        raise Refused(Refusal.unknown_partner, name)
    if not partner.enabled:
        raise Refused(Refusal.disabled_partner, name)
    if request.key_id != partner.key_id:
        raise Refused(Refusal.wrong_key, name)
    if abs(now - request.timestamp) > skew_seconds:
        raise Refused(Refusal.stale_timestamp, name)
    message = signing_string(method, path, request.timestamp, request.nonce, name, recipient, body)
    try:
        Ed25519PublicKey.from_public_bytes(partner.public_raw).verify(request.signature, message)
    except (InvalidSignature, ValueError) as exc:
        raise Refused(Refusal.bad_signature, name) from exc
